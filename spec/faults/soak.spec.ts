/**
 * One minute of the soak (bench/soak-run.ts, `npm run soak` for the long run): a publisher with
 * confirms and manual, auto and iterator consumers on a classic and a quorum queue of a
 * three-node cluster, while connections are cut, closed by the broker, a node's application
 * restarts, memory alarms go off and a node is killed. Nothing confirmed may be lost, every
 * connection must come back from every loss, nothing unexpected may surface, and memory must
 * not grow beyond a generous bound.
 *
 * The cluster is started once, here (about 15-20 s on two cores); the run itself takes a little
 * over a minute. The seed is printed: `npm run soak -- --seconds 60 --rate 100 --interval 4
 * --seed <seed>` makes the same chaos choices (the timing differs from run to run).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULT_KINDS } from '../../bench/soak-chaos.js';
import { formatSoak } from '../../bench/soak-report.js';
import { runSoak } from '../../bench/soak-run.js';
import { type Cluster, startCluster } from '../support/cluster.js';
import { useFaultSuite } from '../support/fault-suite.js';

const MiB = 2 ** 20;
/** How much the heap and RSS may grow from the first window of the run to the last. */
const HEAP_GROWTH_BOUND = 64 * MiB;
const RSS_GROWTH_BOUND = 128 * MiB;

let cluster: Cluster;
// The soak reports warren's warnings in its result; they are not failures here either.
useFaultSuite({ failOnWarrenWarnings: false });

beforeAll(async () => {
  cluster = await startCluster(3);
  console.log(`three-node cluster formed in ${(cluster.startMs / 1000).toFixed(1)} s`);
}, 300_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('the soak, for one minute', () => {
  it('loses nothing confirmed, recovers every connection, and keeps memory flat', async () => {
    const seed = Math.floor(Math.random() * 2 ** 31);
    const result = await runSoak({
      durationMs: 60_000,
      rate: 100,
      chaosIntervalMs: 4_000,
      seed,
      cluster,
    });
    console.log(formatSoak(result));

    expect(result.unexpected).toEqual([]);
    expect(result.queues.classic.lostIds).toEqual([]);
    expect(result.queues.quorum.lostIds).toEqual([]);
    expect(result.totals.lost).toBe(0);
    // Enough went through for the figure to mean something (100 msg/s to each queue).
    expect(result.totals.confirmed).toBeGreaterThan(5_000);
    expect(result.totals.received).toBe(result.totals.confirmed);
    for (const kind of FAULT_KINDS) {
      expect(result.chaos.counts[kind], kind).toBeGreaterThanOrEqual(1);
    }
    for (const connection of result.connections) {
      expect(connection.openAtEnd, connection.name).toBe(true);
      expect(connection.recoveryFailures, connection.name).toEqual([]);
      expect(connection.recoveries, connection.name).toBe(connection.lossCount);
    }
    // Every fault that takes connections away took some: at least one recovery happened.
    expect(result.connections.some((connection) => connection.recoveries > 0)).toBe(true);
    for (const consumer of result.consumers) {
      expect(consumer.handled, `${consumer.kind} on ${consumer.queue}`).toBeGreaterThan(0);
    }
    const { first, last } = result.memory;
    expect(last.heapUsed).toBeLessThan(first.heapUsed + HEAP_GROWTH_BOUND);
    expect(last.rss).toBeLessThan(first.rss + RSS_GROWTH_BOUND);
    expect(result.ok).toBe(true);
  }, 240_000);
});
