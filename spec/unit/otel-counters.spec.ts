/**
 * warren/otel's tally, read by the OpenTelemetry SDK as an application's
 * reader reads it: one series per key, counted; and a bound on how many,
 * past which counts go to the overflow series rather than growing memory.
 */
import {
  AggregationTemporality,
  type DataPoint,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { describe, expect, it, onTestFinished } from 'vitest';
import { MAX_SERIES, Tally } from '../../lib/otel/tally.js';

async function collected(count: (tally: Tally) => void): Promise<DataPoint<number>[]> {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  onTestFinished(() => provider.shutdown());
  const tally = new Tally(provider.getMeter('test'), 'test.count', { unit: '{message}' });
  count(tally);
  await reader.forceFlush();
  const [metric] = exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
  return (metric?.dataPoints ?? []) as DataPoint<number>[];
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
