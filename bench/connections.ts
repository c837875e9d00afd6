/**
 * Many connections from one process (issue 15): 100 connections × 10 channels, each channel
 * publishing to a queue of its own with confirms and consuming it (one ack per message), against
 * the same number of messages through one connection and one channel, in the same process.
 * Reports client CPU per message (process user + system over the run), throughput and the heap,
 * and writes docs/benchmarks-connections.md.
 *
 *     npm run bench:connections
 *     npm run bench:connections -- --connections 10 --messages 20 --out /tmp/connections
 *     npm run bench:connections -- --url amqp://guest:guest@127.0.0.1:5672/
 *     npm run bench:connections -- --cpu-prof   # also: where the CPU goes, in both shapes
 *
 * Every message is checked: each queue's consumer gets exactly what its channel published.
 *
 * @module
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { type Connection, connect, type Queue } from '../lib/index.js';
import { findOrStartBroker } from '../spec/support/broker.js';
import { generatedBy, writeReport } from './markdown.js';
import { charge, PARTS, type Part, startProfile } from './profile.js';
import { median } from './worker.js';

interface Shape {
  readonly connections: number;
  readonly channels: number;
  /** Messages each channel publishes and consumes. */
  readonly messages: number;
}

interface Figures extends Shape {
  readonly total: number;
  readonly seconds: number;
  readonly cpuMicros: number;
  readonly heapMiB: number;
  /** With --cpu-prof: µs of main-thread samples per message, by part (bench/profile.ts). */
  readonly parts?: ReadonlyMap<Part, number>;
}

const BODY = Buffer.alloc(256, 0x61);
/** Unconfirmed publishes a channel keeps at most, in both shapes. */
const WINDOW = 200;

/**
 * One channel's share: a queue of its own, consumed; resolves with what publishes `messages`
 * confirmed messages to it and waits until all came back, so that the setup stays out of the
 * measured time.
 */
async function lane(
  connection: Connection,
  name: string,
  messages: number,
): Promise<() => Promise<void>> {
  const channel = await connection.openChannel({ confirm: true });
  const queue: Queue = await channel.declareQueue(name, { exclusive: true });
  let received = 0;
  let resolve = (): void => {};
  const done = new Promise<void>((settle) => {
    resolve = settle;
  });
  await queue.consume(
    (message) => {
      message.ack();
      if (++received === messages) resolve();
    },
    { prefetch: 100 },
  );
  const exchange = channel.exchange('');
  return async () => {
    const sent: Promise<void>[] = [];
    for (let i = 0; i < messages; i++) {
      sent.push(exchange.publish(BODY, name));
      if (sent.length >= WINDOW) await sent.shift();
    }
    await Promise.all(sent);
    await done;
    if (received !== messages) throw new Error(`${name}: ${received} of ${messages} received`);
  };
}

/** The heap in use after a full collection (npm run bench:connections exposes gc). */
function heapAfterGc(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

async function run(url: string, shape: Shape, tag: string, profile: boolean): Promise<Figures> {
  const connections = await Promise.all(
    Array.from({ length: shape.connections }, () => connect(url, { recovery: false })),
  );
  try {
    const lanes = await Promise.all(
      connections.flatMap((connection, c) =>
        Array.from({ length: shape.channels }, (_, h) =>
          lane(connection, `connections-bench-${process.pid}-${tag}-${c}-${h}`, shape.messages),
        ),
      ),
    );
    const stopProfile = profile ? await startProfile() : undefined;
    const cpu = process.cpuUsage();
    const began = performance.now();
    await Promise.all(lanes.map((go) => go()));
    const seconds = (performance.now() - began) / 1000;
    const used = process.cpuUsage(cpu);
    const total = shape.connections * shape.channels * shape.messages;
    const charged = stopProfile === undefined ? undefined : await charge(await stopProfile());
    return {
      ...shape,
      total,
      seconds,
      cpuMicros: (used.user + used.system) / total,
      heapMiB: heapAfterGc() / 1024 / 1024,
      ...(charged === undefined
        ? {}
        : {
            parts: new Map(PARTS.map((part) => [part, (charged.parts.get(part) ?? 0) / total])),
          }),
    };
  } finally {
    await Promise.all(connections.map((connection) => connection.close()));
  }
}

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '100' },
    channels: { type: 'string', default: '10' },
    messages: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '3' },
    url: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    out: { type: 'string', default: path.resolve(import.meta.dirname, '..', 'docs') },
  },
});
const many: Shape = {
  connections: Number(values.connections),
  channels: Number(values.channels),
  messages: Number(values.messages),
};
const one: Shape = {
  connections: 1,
  channels: 1,
  messages: many.connections * many.channels * many.messages,
};
const rounds = Number(values.rounds);
const profiled = values['cpu-prof'] === true;
const lease = values.url === undefined ? await findOrStartBroker() : undefined;
const url = values.url ?? (lease?.url as string);
const brokerLine = lease?.description.replace(/ in [\d.]+ s$/, '') ?? 'the broker given by --url';
console.error(`[connections] broker: ${brokerLine}`);
const results: { one: Figures[]; many: Figures[] } = { one: [], many: [] };
try {
  // Interleaved, so that a busier moment of the machine falls on both.
  for (let round = 0; round < rounds; round++) {
    results.one.push(await run(url, one, `one${round}`, profiled));
    results.many.push(await run(url, many, `many${round}`, profiled));
    console.error(`[connections] round ${round + 1}/${rounds} done`);
  }
} finally {
  await lease?.release();
}

/** The median over the rounds of what `pick` reads from each. */
const medianOf = (figures: Figures[], pick: (f: Figures) => number): number =>
  median(figures.map(pick));
const row = (label: string, figures: Figures[]): string => {
  const cpu = medianOf(figures, (f) => f.cpuMicros);
  const rate = medianOf(figures, (f) => f.total / f.seconds);
  const heap = medianOf(figures, (f) => f.heapMiB);
  return `| ${label} | ${cpu.toFixed(2)} µs | ${Math.round(rate).toLocaleString('en-US')} | ${heap.toFixed(0)} MiB |`;
};
const cpuRatio =
  medianOf(results.many, (f) => f.cpuMicros) / medianOf(results.one, (f) => f.cpuMicros);
const total = one.messages.toLocaleString('en-US');
const lines = [
  '# Many connections',
  '',
  generatedBy('bench/connections.ts', brokerLine, 'bench:connections'),
  '',
  `${total} messages of 256 B, each published with a confirm, consumed (prefetch 100) and acked, in one process: through ${many.connections} connections × ${many.channels} channels (each channel ${many.messages} messages to a queue of its own), and through one connection and one channel. Every channel keeps at most ${WINDOW} publishes unconfirmed: up to ${(many.connections * many.channels * WINDOW).toLocaleString('en-US')} messages in flight at once through many connections, ${WINDOW} through one. ${rounds} rounds, interleaved; medians. Connections, channels, queues and consumers are set up first; client CPU is the process's user + system time from the first publish until every message is back, per message.`,
  '',
  '| through | client CPU per message | msg/s | heap after a full GC, all open |',
  '| --- | ---: | ---: | ---: |',
  row('1 connection × 1 channel', results.one),
  row(`${many.connections} connections × ${many.channels} channels`, results.many),
  '',
  `Many connections cost ${cpuRatio.toFixed(2)}× the CPU per message of one.`,
  '',
  ...(profiled ? partsSection() : []),
];
/** With --cpu-prof: the main thread's samples per message by part, both shapes side by side. */
function partsSection(): string[] {
  const part = (figures: Figures[], name: Part) =>
    medianOf(figures, (f) => f.parts?.get(name) ?? 0);
  return [
    `Where the CPU goes (\`--cpu-prof\`: each run profiled, which adds CPU to the figures above; main-thread samples charged to parts as in [benchmarks-breakdown.md](benchmarks-breakdown.md), µs per message, medians):`,
    '',
    `| part | 1 × 1 | ${many.connections} × ${many.channels} |`,
    '| --- | ---: | ---: |',
    ...PARTS.map(
      (name) =>
        `| ${name} | ${part(results.one, name).toFixed(2)} | ${part(results.many, name).toFixed(2)} |`,
    ),
    '',
  ];
}

const { file } = await writeReport(values.out as string, 'connections', lines.join('\n'));
console.error(`[connections] report: ${file}`);
