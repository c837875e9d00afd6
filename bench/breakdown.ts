/**
 * Where warren's CPU goes, per message (issue 15): runs the benchmark for warren alone with
 * `--cpu-prof` (bench/run.ts), so that each measured run records a CPU profile of its window,
 * and sorts every sample of the main thread into the parts of a message's life: reading and
 * parsing frames, dispatching them, the entities' bookkeeping around the handler, settling,
 * encoding a publish, the socket write, the event loop, garbage collection and the scenario's
 * own code. Writes docs/benchmarks-breakdown.md.
 *
 *     npm run bench:breakdown
 *     npm run bench:breakdown -- --rounds 1 --scenarios consume --out /tmp/breakdown
 *     npm run bench:breakdown -- --smoke --out /tmp/breakdown   # tiny counts: checks it runs
 *
 * How each sample is charged to a part: bench/profile.ts.
 *
 * @module
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { generatedBy, writeReport } from './markdown.js';
import { type CpuProfile, charge, PARTS, type Part } from './profile.js';
import { median } from './worker.js';

const ROOT = path.resolve(import.meta.dirname, '..');

interface RunRecord {
  readonly kind: string;
  readonly round?: number;
  readonly result?: { readonly messages: number; readonly cpuUs: number };
}
interface RunsJson {
  readonly scenarios: readonly {
    readonly name: string;
    readonly title: string;
    readonly cells: readonly { readonly client: string; readonly runs: readonly RunRecord[] }[];
  }[];
}

/** One scenario's section: a table of µs per message by part, and its busiest functions. */
async function section(dir: string, scenario: RunsJson['scenarios'][number]): Promise<string> {
  const runs = scenario.cells.find((cell) => cell.client === 'warren')?.runs ?? [];
  const perPart = new Map<Part, number[]>();
  const functions = new Map<string, number[]>();
  const processCpu: number[] = [];
  const files = (await readdir(dir)).filter((file) => file.startsWith(`warren.${scenario.name}.r`));
  for (const file of files) {
    const round = Number(/\.r(\d+)\.cpuprofile$/.exec(file)?.[1]);
    const run = runs.find((each) => each.kind === 'measured' && each.round === round)?.result;
    if (run === undefined) continue;
    const { parts, functions: fns } = await charge(
      JSON.parse(await readFile(path.join(dir, file), 'utf8')) as CpuProfile,
    );
    for (const part of PARTS) {
      const list = perPart.get(part) ?? [];
      list.push((parts.get(part) ?? 0) / run.messages);
      perPart.set(part, list);
    }
    for (const [name, us] of fns)
      functions.set(name, [...(functions.get(name) ?? []), us / run.messages]);
    processCpu.push(run.cpuUs / run.messages);
  }
  if (processCpu.length === 0) return `### ${scenario.title}\n\nNo profile was recorded.\n`;
  const medians = PARTS.map((part) => [part, median(perPart.get(part) ?? [0])] as const);
  const sampled = medians.reduce((sum, [, us]) => sum + us, 0);
  const rows = medians.map(
    ([part, us]) =>
      `| ${part} | ${us.toFixed(2)} | ${(sampled > 0 ? (100 * us) / sampled : 0).toFixed(0)}% |`,
  );
  const top = [...functions]
    .map(([name, list]) => [name, list.reduce((a, b) => a + b, 0) / processCpu.length] as const)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([name, us]) => `\`${name}\` ${us.toFixed(2)}`);
  return [
    `### ${scenario.title}`,
    '',
    `Process CPU ${median(processCpu).toFixed(2)} µs per message (all threads, user + system, profiler on); the main thread's samples below add up to ${sampled.toFixed(2)} µs.`,
    '',
    '| part | µs per message | share |',
    '| --- | ---: | ---: |',
    ...rows,
    '',
    `Busiest functions (self time, µs per message): ${top.join(', ')}.`,
    '',
  ].join('\n');
}

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    scenarios: { type: 'string', default: 'publish,publishConfirm,consume,rpc' },
    url: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(ROOT, 'docs') },
  },
});
const work = await mkdtemp(path.join(os.tmpdir(), 'warren-breakdown-'));
const profiles = path.join(work, 'profiles');
const runsFile = path.join(work, 'runs.json');
const bench = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    path.join(ROOT, 'bench', 'run.ts'),
    '--clients',
    'warren',
    '--scenarios',
    values.scenarios,
    '--rounds',
    values.rounds,
    '--cpu-prof',
    profiles,
    '--out',
    work,
    '--json',
    runsFile,
    ...(values.url === undefined ? [] : ['--url', values.url]),
    ...(values.smoke ? ['--smoke'] : []),
  ],
  { cwd: ROOT, stdio: 'inherit' },
);
if (bench.status !== 0) {
  process.stderr.write(`[breakdown] the benchmark failed (exit ${bench.status})\n`);
  process.exit(1);
}
const runs = JSON.parse(await readFile(runsFile, 'utf8')) as RunsJson;
const sections: string[] = [];
for (const scenario of runs.scenarios) sections.push(await section(profiles, scenario));
const text = [
  '# Where the CPU goes',
  '',
  generatedBy('bench/breakdown.ts', 'RabbitMQ as `npm run bench` finds it', 'bench:breakdown'),
  '',
  `warren alone, ${values.rounds} rounds per scenario, each run profiled over its measured window (V8's sampling profiler, every 250 µs, main thread). Each sample is charged to the innermost frame of warren's code on its stack, so a Node function warren calls counts for the part that called it; the socket's write calls, V8's garbage collector and what runs outside JavaScript (libuv's polling and socket reads, "(program)") are parts of their own. Figures are medians over the rounds. System time spent in a write call is in "socket write"; the kernel's side of reads and the wake-ups of the event loop are outside the samples, which is why they add up to less than the process CPU. The profiler itself adds CPU: compare parts with each other, and take absolute figures from [benchmarks.md](benchmarks.md).`,
  '',
  ...sections,
].join('\n');
const { file } = await writeReport(values.out, 'breakdown', text);
process.stdout.write(`[breakdown] ${file}\n`);
