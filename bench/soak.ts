/**
 * The soak (`npm run soak`): warren publishing with confirms and consuming (manual settle,
 * `settle: 'auto'`, the `queue.messages()` iterator) on a classic and a quorum queue of a
 * three-node RabbitMQ cluster started here, while a chaos loop cuts connections through TCP
 * proxies, has the broker close them, restarts a node's application, raises memory alarms and
 * kills nodes, one fault at a time at random intervals. Every message carries a unique id.
 *
 *     npm run soak -- --minutes 30
 *     npm run soak -- --minutes 1 --out /tmp/soak.json
 *     npm run soak -- --seconds 90 --rate 100 --interval 5 --seed 42
 *
 * Options: `--minutes` or `--seconds` (how long the chaos goes on; default 30 minutes; it goes
 * on until every kind of fault came once, if that takes longer), `--rate` (messages per second
 * to each queue, default 200), `--interval` (mean pause between faults in seconds, default 20;
 * each pause is drawn from half to one and a half times it), `--seed` (the chaos loop's choices;
 * default random, printed), `--out <file>` (the result as JSON), `--quiet` (no progress lines).
 *
 * At the end it prints confirmed against received ids (0 lost is the promise), duplicates, peak
 * RSS and heap with first- and last-minute averages (flat is the promise), each connection's
 * losses and recoveries, and the faults injected. The exit code is 1 when a confirmed message
 * was lost, something unexpected surfaced (an error warren should have handled, an unhandled
 * rejection, a consumer that stopped, a connection that did not come back), or a connection did
 * not recover from every loss; 2 when the soak itself could not run.
 *
 * What it does and why is in bench/soak-run.ts (the run), bench/soak-chaos.ts (the faults),
 * bench/soak-publisher.ts and bench/soak-consumers.ts (the clients).
 *
 * @module
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { formatSoak } from './soak-report.js';
import { runSoak } from './soak-run.js';

function positive(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) {
    throw new RangeError(`--${name} must be a positive number, got ${value}`);
  }
  return number;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string' },
      seconds: { type: 'string' },
      rate: { type: 'string' },
      interval: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      quiet: { type: 'boolean', default: false },
    },
  });
  if (values.minutes !== undefined && values.seconds !== undefined) {
    throw new RangeError('give --minutes or --seconds, not both');
  }
  const durationMs =
    values.seconds === undefined
      ? positive(values.minutes, 'minutes', 30) * 60_000
      : positive(values.seconds, 'seconds', 60) * 1000;
  const seed =
    values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed) >>> 0;
  const began = new Date();
  const log = values.quiet
    ? () => {}
    : (line: string) => process.stderr.write(`[${new Date().toISOString()}] ${line}\n`);
  log(`soak: ${durationMs / 1000} s of chaos, seed ${seed}`);

  const result = await runSoak({
    durationMs,
    rate: positive(values.rate, 'rate', 200),
    chaosIntervalMs: positive(values.interval, 'interval', 20) * 1000,
    seed,
    log,
  });
  console.log(formatSoak(result));
  if (values.out !== undefined) {
    const report = { began: began.toISOString(), node: process.version, ...result };
    await writeFile(values.out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`written to ${values.out}`);
  }
  return result.ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 2;
  },
);
