/**
 * warren/otel's own counters, read by the OpenTelemetry SDK as an
 * application's reader reads them. The tally: one series per key, counted,
 * and a bound on how many, past which counts go to the overflow series
 * rather than growing memory. The waiting publishes: summed per broker over
 * its connections, as `warren:connection:waiting` reports them (the
 * integration tests check that warren reports them, under a memory alarm).
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Connection, ConnectionWaitingDiagnostic } from '../../lib/index.js';
import { MAX_SERIES, Tally } from '../../lib/otel/tally.js';
import { WaitingPublishes } from '../../lib/otel/waiting.js';
import { inMemorySdk, type MetricPoint, metricPoints } from '../support/otel.js';

/** A meter whose metrics `read` collects, by name. */
function sdk() {
  const { meterProvider, metrics, shutdown } = inMemorySdk();
  onTestFinished(shutdown);
  const read = async (name: string) => metricPoints(await metrics(), name);
  return { meter: meterProvider.getMeter('test'), read };
}

async function collected(count: (tally: Tally) => void): Promise<MetricPoint[]> {
  const { meter, read } = sdk();
  count(new Tally(meter, 'test.count', { unit: '{message}' }));
  return read('test.count');
}

describe('Tally', () => {
  it('counts each key under the attributes made the first time it is seen', async () => {
    let made = 0;
    const points = await collected((tally) => {
      for (const queue of ['a', 'b', 'a', 'a']) {
        tally.add(queue, () => {
          made++;
          return { queue };
        });
      }
    });
    expect(made).toBe(2);
    expect(points.map((p) => [p.attributes.queue, p.value])).toEqual([
      ['a', 3],
      ['b', 1],
    ]);
  });

  it(`keeps at most ${MAX_SERIES} series, the last one for the overflow`, async () => {
    const extra = 25;
    const points = await collected((tally) => {
      for (let i = 0; i < MAX_SERIES + extra; i++) tally.add(`q${i}`, () => ({ queue: `q${i}` }));
      tally.add('q0', () => ({ queue: 'q0' }));
    });
    expect(points).toHaveLength(MAX_SERIES);
    const overflow = points.filter((p) => p.attributes['otel.metric.overflow'] === true);
    expect(overflow.map((p) => p.value)).toEqual([extra + 1]);
    expect(points.find((p) => p.attributes.queue === 'q0')?.value).toBe(2);
  });
});

describe('WaitingPublishes', () => {
  /** What warren:connection:waiting says of `connection`, on a broker at 127.0.0.1:`port`. */
  const waiting = (connection: object, port: number, publishes: number, bytes: number) =>
    ({
      connection: connection as Connection,
      serverAddress: '127.0.0.1',
      serverPort: port,
      peerAddress: '127.0.0.1',
      peerPort: port,
      publishes,
      bytes,
    }) satisfies ConnectionWaitingDiagnostic;

  it('sums each broker’s connections, and reports 0 once nothing waits', async () => {
    const { meter, read } = sdk();
    const gauge = new WaitingPublishes(meter, { publishes: 'test.waiting', bytes: 'test.bytes' });
    const [a, b, c] = [{}, {}, {}];
    gauge.update(waiting(a, 5672, 2, 20));
    gauge.update(waiting(b, 5672, 3, 30));
    gauge.update(waiting(c, 5673, 1, 10));
    const byPort = (points: MetricPoint[]) =>
      points.map((point) => [point.attributes['server.port'], point.value]);
    expect(byPort(await read('test.waiting'))).toEqual([
      [5672, 5],
      [5673, 1],
    ]);
    expect(byPort(await read('test.bytes'))).toEqual([
      [5672, 50],
      [5673, 10],
    ]);

    gauge.update(waiting(a, 5672, 0, 0));
    gauge.update(waiting(b, 5672, 1, 10));
    gauge.update(waiting(c, 5673, 0, 0));
    expect(byPort(await read('test.waiting'))).toEqual([
      [5672, 1],
      [5673, 0],
    ]);
    gauge.close();
  });
});
