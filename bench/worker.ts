/**
 * One benchmark run in a fresh process:
 *
 *     tsx bench/worker.ts <client> <scenario> '<json ScenarioInput>'
 *
 * Imports bench/clients/<client>.ts (compiled: clients/<client>.js beside the compiled worker,
 * where a `--baseline` build is `warren@<commit>.js`), runs one scenario of its
 * {@link BenchClient} and prints one JSON line on stdout: a {@link WorkerResult} with the process
 * CPU (user + system), wall time and peak RSS measured around the scenario, or a
 * {@link WorkerFailure} (exit code 1). A client that cannot do a scenario (or lacks it) throws an
 * error whose message says "not measured": the failure then carries `notMeasured: true`, and
 * bench/run.ts reports it as n/a instead of failing.
 *
 * With `BENCH_SYNC=1` (set by bench/run.ts) the worker prints `{"ready":true}` once the client is
 * loaded and waits for a line on stdin before it starts, so that the orchestrator can sample the
 * broker's CPU at the start of the measured window.
 *
 * @module
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import type { BenchClient, ScenarioInput, ScenarioOutput } from './client.js';
import { startProfile } from './profile.js';

export const SCENARIOS = [
  'publish',
  'publishConfirm',
  'consume',
  'typedPublish',
  'typedConsume',
  'contractPublish',
  'contractConsume',
  'tracedPublish',
  'tracedConsume',
  'retry',
  'rpc',
  'large',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** What a successful run prints. */
export interface WorkerResult {
  readonly ok: true;
  readonly client: string;
  readonly scenario: Scenario;
  /** Messages the scenario reported as handled. */
  readonly messages: number;
  /** Wall time of the scenario, µs. */
  readonly wallUs: number;
  /** Process CPU (user + system, all threads) spent in the scenario, µs. */
  readonly cpuUs: number;
  readonly cpuUserUs: number;
  readonly cpuSystemUs: number;
  /** Peak resident set size of the process, KiB (`process.resourceUsage().maxRSS`). */
  readonly maxRssKiB: number;
  /** Latency summary when the scenario reported latencies (rpc). */
  readonly latency?: { readonly count: number; readonly p50Us: number; readonly p99Us: number };
}

/** What a failed run prints (exit code 1). */
export interface WorkerFailure {
  readonly ok: false;
  readonly client: string;
  readonly scenario: string;
  /** The client said it does not do this scenario ("not measured"): reported as n/a. */
  readonly notMeasured: boolean;
  readonly error: string;
  readonly stack?: string;
}

/** The median of `values` (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** The `q`-quantile (0..1) of `values` by nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

function isScenario(name: string): name is Scenario {
  return (SCENARIOS as readonly string[]).includes(name);
}

async function waitForGo(): Promise<void> {
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  const lines = createInterface({ input: process.stdin });
  for await (const _line of lines) break;
  lines.close();
  process.stdin.pause();
}

/** With `file`, starts profiling; the function returned stops and writes the profile there. */
async function profileTo(file: string | undefined): Promise<(() => Promise<void>) | undefined> {
  if (file === undefined || file === '') return undefined;
  const stop = await startProfile();
  return async () => writeFile(file, JSON.stringify(await stop()));
}

async function main(argv: readonly string[]): Promise<WorkerResult> {
  const [clientName, scenario, json] = argv;
  if (clientName === undefined || scenario === undefined || json === undefined) {
    throw new Error('usage: tsx bench/worker.ts <client> <scenario> <json input>');
  }
  // A file of bench/clients/, or a --baseline build of warren: `warren@<short commit>`.
  if (!/^[a-z0-9-]+(@[0-9a-f]+)?$/.test(clientName)) {
    throw new Error(`not a client name: '${clientName}'`);
  }
  if (!isScenario(scenario)) {
    throw new Error(`unknown scenario '${scenario}' (one of ${SCENARIOS.join(', ')})`);
  }
  const input = JSON.parse(json) as ScenarioInput;
  const module = (await import(
    // Next to this file: bench/clients/*.ts, or the compiled *.js next to the compiled worker.
    pathToFileURL(
      `${import.meta.dirname}/clients/${clientName}${path.extname(import.meta.filename)}`,
    ).href
  )) as {
    client?: BenchClient;
  };
  const client = module.client;
  if (client === undefined) throw new Error(`bench/clients/${clientName}.ts exports no client`);
  const run = client[scenario];
  if (typeof run !== 'function') {
    // Today's adapters implement every required scenario (tsc checks them against
    // BenchClient); a --baseline adapter from before a scenario existed does not, nor does a
    // peer without a capability (retry, schemas): n/a there.
    throw new Error(`${clientName} has no client.${scenario}(): not measured`);
  }
  if (process.env.BENCH_SYNC === '1') await waitForGo();
  const profile = await profileTo(process.env.BENCH_CPU_PROF);

  const cpuBefore = process.cpuUsage();
  const began = process.hrtime.bigint();
  const output: ScenarioOutput = await run.call(client, input);
  const wallUs = Number(process.hrtime.bigint() - began) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await profile?.();
  const maxRssKiB = process.resourceUsage().maxRSS;

  const latencies = output.latenciesUs;
  return {
    ok: true,
    client: clientName,
    scenario,
    messages: output.messages,
    wallUs,
    cpuUs: cpu.user + cpu.system,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    maxRssKiB,
    ...(latencies !== undefined && latencies.length > 0
      ? {
          latency: {
            count: latencies.length,
            p50Us: quantile(latencies, 0.5),
            p99Us: quantile(latencies, 0.99),
          },
        }
      : {}),
  };
}

function finish(report: WorkerResult | WorkerFailure, code: number): void {
  // Exit once the line is written: a client may leave sockets or timers behind.
  process.stdout.write(`${JSON.stringify(report)}\n`, () => process.exit(code));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const argv = process.argv.slice(2);
  main(argv).then(
    (result) => finish(result, 0),
    (error: unknown) => {
      const failure = error instanceof Error ? error : new Error(String(error));
      finish(
        {
          ok: false,
          client: argv[0] ?? '',
          scenario: argv[1] ?? '',
          notMeasured: /not measured/i.test(failure.message),
          error: failure.message,
          ...(failure.stack === undefined ? {} : { stack: failure.stack }),
        },
        1,
      );
    },
  );
}
