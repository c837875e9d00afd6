/**
 * Peak memory where an application can make warren buffer (issue 11): each consumer kind over a
 * backlog with a slow handler, and a loop of unawaited publishes. Each scenario runs in a fresh
 * child process; its peak RSS (`process.resourceUsage().maxRSS`) is reported beside the RSS it
 * had once connected, before the scenario began.
 *
 *     npm run bench:memory:peaks
 *     npm run bench:memory:peaks -- --backlog 20000 --handled 200 --publishes 100000   # quick
 *     npm run bench:memory:peaks -- --url amqp://guest:guest@127.0.0.1:5672/
 *
 * Consumers: the queue holds `--backlog` messages of 1 KiB; the handler takes `--delay` ms
 * (10) per message; the scenario ends once `--handled` messages (1,000) were handled, by which
 * time the broker has sent all it is allowed to. Kinds: `noAck`; `manual` and `auto` without
 * prefetch; `queue.messages()` with its default prefetch; `serve()` without prefetch. Publish:
 * `--publishes` (1,000,000) publishes of 1 KiB in one loop without awaiting any (a refused one
 * is counted), then one awaited publish; `publishYielding` lets the event loop turn after every
 * 1,000 of them, as publishes made from events would. Connection options are the defaults.
 *
 * The script uses only the public API, so it runs against any checkout of warren: copy it into
 * one to measure that version (the "before" figures of docs/reliability.md were measured so).
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { parseArgs, promisify } from 'node:util';
import { connect, type IncomingMessage } from '../lib/index.js';
import { findOrStartBroker } from '../spec/support/broker.js';
import { client as warren } from './clients/warren.js';

const SIZE = 1024;
const MiB = 1024 * 1024;
const KINDS = ['noAck', 'manual', 'auto', 'messages', 'serve'] as const;
type Scenario = (typeof KINDS)[number] | 'publish' | 'publishYielding';

interface ChildResult {
  readonly scenario: Scenario;
  readonly startRss: number;
  readonly peakRss: number;
  readonly handled: number;
  readonly refused: number;
  readonly seconds: number;
  /** The most deliveries warren counted waiting, where the version has the counter. */
  readonly maxWaiting: number | undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One scenario, in this (child) process. */
async function child(
  scenario: Scenario,
  url: string,
  queue: string,
  handled: number,
  delay: number,
  publishes: number,
): Promise<ChildResult> {
  const connection = await connect(url, { recovery: false });
  const channel = await connection.openChannel();
  const buffered = (): { deliveries: number } | undefined =>
    (connection as { buffered?: { deliveries: number } }).buffered;
  (globalThis as { gc?: () => void }).gc?.();
  const startRss = process.memoryUsage().rss;
  const began = performance.now();
  let count = 0;
  let refused = 0;
  let maxWaiting: number | undefined;
  let resolve = (): void => {};
  const done = new Promise<void>((settle) => {
    resolve = settle;
  });
  const handle = async (): Promise<void> => {
    const waiting = buffered()?.deliveries;
    if (waiting !== undefined) maxWaiting = Math.max(maxWaiting ?? 0, waiting);
    await sleep(delay);
    if (++count === handled) resolve();
  };
  const target = channel.queue(queue);
  switch (scenario) {
    case 'noAck':
      await target.consume(handle, { noAck: true });
      break;
    case 'manual':
      await target.consume(async (message: IncomingMessage) => {
        await handle();
        message.ack();
      });
      break;
    case 'auto':
      await target.consume(handle, { settle: 'auto' });
      break;
    case 'messages':
      void (async () => {
        for await (const message of target.messages()) {
          await handle();
          message.ack();
          if (count === handled) break;
        }
      })();
      break;
    case 'serve':
      await target.serve(async () => {
        await handle();
        return null;
      });
      break;
    case 'publish':
    case 'publishYielding': {
      const exchange = channel.exchange('');
      const body = Buffer.alloc(SIZE);
      const onRefused = (): void => {
        refused++;
      };
      const yielding = scenario === 'publishYielding';
      for (let i = 0; i < publishes; i++) {
        exchange.publish(body, queue).catch(onRefused);
        // As publishes made from events would: the event loop turns between batches.
        if (yielding && i % 1_000 === 999) await new Promise((next) => setImmediate(next));
      }
      await exchange.publish(body, queue).catch(onRefused);
      count = publishes + 1 - refused;
      resolve();
      break;
    }
  }
  await done;
  const seconds = (performance.now() - began) / 1000;
  const peakRss = process.resourceUsage().maxRSS * 1024;
  return { scenario, startRss, peakRss, handled: count, refused, seconds, maxWaiting };
}

async function runChild(
  scenario: Scenario,
  url: string,
  queue: string,
  values: { handled: string; delay: string; publishes: string },
): Promise<ChildResult> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      'tsx',
      import.meta.filename,
      '--child',
      scenario,
      '--url',
      url,
      '--queue',
      queue,
      '--handled',
      values.handled,
      '--delay',
      values.delay,
      '--publishes',
      values.publishes,
    ],
    { maxBuffer: 16 * MiB },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as ChildResult;
}

async function main(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      child: { type: 'string' },
      url: { type: 'string' },
      queue: { type: 'string' },
      backlog: { type: 'string', default: '200000' },
      handled: { type: 'string', default: '1000' },
      delay: { type: 'string', default: '10' },
      publishes: { type: 'string', default: '1000000' },
      only: { type: 'string' },
    },
  });
  if (values.child !== undefined) {
    const result = await child(
      values.child as Scenario,
      values.url as string,
      values.queue as string,
      Number(values.handled),
      Number(values.delay),
      Number(values.publishes),
    );
    console.log(JSON.stringify(result));
    return;
  }
  const backlog = Number(values.backlog);
  const lease =
    values.url === undefined
      ? await findOrStartBroker()
      : { url: values.url, description: 'using --url', release: async () => {} };
  console.error(`[memory-peaks] ${lease.description}`);
  const queue = `bench-memory-peaks-${process.pid}`;
  const scenarios: Scenario[] =
    values.only === undefined
      ? [...KINDS, 'publish', 'publishYielding']
      : (values.only.split(',') as Scenario[]);
  const results: ChildResult[] = [];
  try {
    await using admin = await connect(lease.url, { recovery: false });
    const channel = await admin.openChannel();
    const target = await channel.declareQueue(queue, { durable: false });
    for (const scenario of scenarios) {
      await target.purge();
      if (!scenario.startsWith('publish')) {
        console.error(`[memory-peaks] ${scenario}: filling ${queue} with ${backlog} messages`);
        await warren.publishConfirm({
          url: lease.url,
          queue,
          count: backlog,
          size: SIZE,
          window: 1_000,
        });
      }
      console.error(`[memory-peaks] ${scenario}: running`);
      const result = await runChild(scenario, lease.url, queue, values);
      console.error(`[memory-peaks] ${JSON.stringify(result)}`);
      results.push(result);
    }
    await target.delete({ ifUnused: false, ifEmpty: false });
  } finally {
    await lease.release();
  }
  const mib = (bytes: number): string => (bytes / MiB).toFixed(0);
  console.log(
    [
      `Backlog ${backlog.toLocaleString('en-US')} × 1 KiB, handler ${values.delay} ms, until ${Number(values.handled).toLocaleString('en-US')} handled; publish loop ${Number(values.publishes).toLocaleString('en-US')} × 1 KiB unawaited. Node ${process.version}.`,
      '',
      '| scenario | RSS at start MiB | peak RSS MiB | growth MiB | handled / published | refused | most waiting (warren’s count) MiB |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...results.map(
        (r) =>
          `| ${r.scenario} | ${mib(r.startRss)} | ${mib(r.peakRss)} | ${mib(r.peakRss - r.startRss)} | ${r.handled.toLocaleString('en-US')} | ${r.refused.toLocaleString('en-US')} | ${r.maxWaiting === undefined ? '–' : mib(r.maxWaiting)} |`,
      ),
    ].join('\n'),
  );
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
