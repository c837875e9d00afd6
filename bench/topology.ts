/**
 * Topology at scale (issue 15): one connection declares N queues, binds each to one exchange and
 * consumes each, then the broker closes the connection and warren recovers all of it. Reports how
 * long the first declaration took, how long recovery took (from the loss to `recovered`), and
 * the heap per queue + binding + consumer and per idle channel, after a full GC. Writes
 * docs/benchmarks-topology.md.
 *
 *     npm run bench:topology
 *     npm run bench:topology -- --queues 1000 --out /tmp/topology   # a quick run
 *     npm run bench:topology -- --lanes 1   # the first declaration on one channel, one at a time
 *
 * It runs twice: with exclusive queues, gone with the connection, so that recovery creates each
 * again (the broker's slowest case), and with queues that outlive the connection, as most
 * deployments' do, so that recovery declares what exists. After each recovery the broker is
 * asked: N queues with one consumer each. It starts a RabbitMQ node of its own.
 *
 * @module
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { type Channel, connect } from '../lib/index.js';
import { RECOVERY_LANES } from '../lib/topology.js';
import { startBroker } from '../spec/support/broker.js';
import { connectionPid, type Rabbitmqctl } from '../spec/support/fault-helpers.js';
import { generatedBy, writeReport } from './markdown.js';

const gc = (globalThis as { gc?: () => void }).gc;

/** The heap in use after a full collection. */
function heapAfterGc(): number {
  (gc as () => void)();
  return process.memoryUsage().heapUsed;
}

interface Figures {
  readonly kind: string;
  readonly declareSeconds: number;
  readonly recoverSeconds: number;
  readonly queuesBack: number;
  readonly consumedBack: number;
  readonly heapPerEntity: number;
  readonly heapPerChannel: number;
}

/** Declares, measures, cuts and recovers one topology of `queues` queues. */
async function run(
  url: string,
  rabbitmqctl: Rabbitmqctl,
  queues: number,
  idleChannels: number,
  shared: boolean,
  lanes: number,
): Promise<Figures> {
  const name = `topology-bench-${process.pid}-${shared ? 'shared' : 'exclusive'}`;
  const connection = await connect(url, {
    connectionName: name,
    recovery: { initialDelay: 1, maxDelay: 1 },
  });
  try {
    const heapBefore = heapAfterGc();
    const channels = await Promise.all(
      Array.from({ length: lanes }, () => connection.openChannel()),
    );
    const exchange = await (channels[0] as Channel).declareExchange(`${name}-x`, 'direct', {
      autoDelete: true,
    });
    let began = performance.now();
    // As docs/queue.md advises for many queues: each channel declares its share in turn.
    await Promise.all(
      channels.map(async (channel, lane) => {
        for (let i = lane; i < queues; i += lanes) {
          const queue = await channel.declareQueue(`${name}-q${i}`, {
            exclusive: !shared,
            durable: false,
          });
          await queue.bind(exchange.name, `k${i}`);
          await queue.consume((message) => message.ack());
        }
      }),
    );
    const declareSeconds = (performance.now() - began) / 1000;
    const heapTopology = heapAfterGc();
    const idle: Channel[] = [];
    for (let i = 0; i < idleChannels; i++) idle.push(await connection.openChannel());
    const heapChannels = heapAfterGc();

    const lost = new Promise<void>((resolve) => connection.once('reconnecting', () => resolve()));
    const recovered = new Promise<void>((resolve) => connection.once('recovered', () => resolve()));
    await rabbitmqctl('close_connection', await connectionPid(rabbitmqctl, name), 'bench');
    await lost;
    began = performance.now();
    await recovered;
    const recoverSeconds = (performance.now() - began) / 1000;

    const listing = await rabbitmqctl(
      '-q',
      '--no-table-headers',
      'list_queues',
      'name',
      'consumers',
    );
    const mine = listing.split('\n').filter((line) => line.startsWith(`${name}-q`));
    if (shared) {
      const cleanup = await connection.openChannel();
      for (let i = 0; i < queues; i++) {
        await cleanup.queue(`${name}-q${i}`).delete({ ifUnused: false, ifEmpty: false });
      }
    }
    return {
      kind: shared ? 'outlive the connection' : 'exclusive',
      declareSeconds,
      recoverSeconds,
      queuesBack: mine.length,
      consumedBack: mine.filter((line) => line.endsWith('\t1')).length,
      heapPerEntity: (heapTopology - heapBefore) / queues,
      heapPerChannel: (heapChannels - heapTopology) / idleChannels,
    };
  } finally {
    await connection.close();
  }
}

const { values } = parseArgs({
  options: {
    queues: { type: 'string', default: '10000' },
    channels: { type: 'string', default: '1000' },
    lanes: { type: 'string', default: String(RECOVERY_LANES) },
    out: { type: 'string', default: path.resolve(import.meta.dirname, '..', 'docs') },
  },
});
if (gc === undefined) throw new Error('run with node --expose-gc (npm run bench:topology does)');
const queues = Number(values.queues);
const idleChannels = Number(values.channels);
const lanes = Number(values.lanes);
// A node of its own, always: the run closes connections with rabbitmqctl, and fills the broker.
const broker = await startBroker({ installWithApt: true });
console.error(`[topology] broker: ${broker.description}`);
let results: Figures[];
try {
  const rabbitmqctl: Rabbitmqctl = (...args) => broker.rabbitmqctl(...args);
  results = [];
  for (const shared of [false, true]) {
    results.push(await run(broker.url, rabbitmqctl, queues, idleChannels, shared, lanes));
    console.error(`[topology] ${JSON.stringify(results.at(-1))}`);
  }
} finally {
  await broker.stop();
}

/** What the exclusive run's recovery took per queue, the broker's cost of creating one. */
function perQueueMs(figures: readonly Figures[]): string {
  const exclusive = figures.find((f) => f.kind === 'exclusive');
  if (exclusive === undefined) return 'its cost per queue';
  return `here about ${((exclusive.recoverSeconds * 1000) / queues).toFixed(1)} ms per queue`;
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(2)} KiB`;
const count = queues.toLocaleString('en-US');
const lines = [
  '# Topology at scale',
  '',
  generatedBy('bench/topology.ts', broker.description, 'bench:topology'),
  '',
  `One connection declares ${count} queues, binds each to one exchange and consumes each (over ${lanes} ${lanes === 1 ? 'channel' : 'channels'}, each declaring its share one request at a time, as [queues](queue.md#declaring-many-queues) advises), then \`rabbitmqctl close_connection\` cuts it and warren recovers everything: the exchange, queues, bindings over up to ${RECOVERY_LANES} channels at once, then the consumers. Recovery is timed from the \`reconnecting\` event to \`recovered\`; afterwards the broker is asked how many queues have a consumer. The heap is measured after a full GC.`,
  '',
  '| queues | first declaration | recovery | back on the broker | heap per queue + binding + consumer | heap per idle channel |',
  '| --- | ---: | ---: | --- | ---: | ---: |',
  ...results.map(
    (r) =>
      `| ${r.kind} | ${r.declareSeconds.toFixed(2)} s | ${r.recoverSeconds.toFixed(2)} s | ${r.queuesBack.toLocaleString('en-US')} queues, ${r.consumedBack.toLocaleString('en-US')} consumed | ${kib(r.heapPerEntity)} | ${kib(r.heapPerChannel)} |`,
  ),
  '',
  `Exclusive queues die with the connection, so the broker creates each again: that is its work, not the client’s (${perQueueMs(results)} however many channels ask at once). Queues that outlive the connection are only declared, bound and consumed again. A channel’s consumers resume all at once (\`nowait\`), one request at the end telling that the broker took them.`,
  '',
];
const { file } = await writeReport(values.out as string, 'topology', lines.join('\n'));
console.error(`[topology] report: ${file}`);
