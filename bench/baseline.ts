/**
 * `npm run bench -- --baseline <ref>`: warren as it was at a git ref, measured beside today's in
 * the same run. The ref's lib/ and bench/clients/warren.ts are taken out of git (`git archive`)
 * into a folder under node_modules/.cache, so that the packages they import resolve from the
 * project's node_modules, and compiled with the same options as every other client
 * (bench/build.ts). The worker, the scenarios and the checks are today's.
 *
 * The adapter imports `../client.js`. It is given today's bench/client.ts, so that it makes the
 * same bodies with the same helpers as the other clients, unless it does not compile against it
 * (it imports a name today's no longer exports): then it gets the ref's own, and the report says
 * so. A scenario the ref's adapter lacks is reported as n/a by the worker.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { compile } from './build.js';

const ROOT = path.resolve(import.meta.dirname, '..');
/** Extracted trees, one folder per commit, kept between runs. */
const CACHE_DIR = path.join(ROOT, 'node_modules', '.cache', 'warren-bench-baseline');
/** What is taken from the ref. */
const ADAPTER = 'bench/clients/warren.ts';
const HARNESS = 'bench/client.ts';

/** A `--baseline` ref, resolved. */
export interface Baseline {
  /** The ref as given. */
  readonly ref: string;
  readonly commit: string;
  readonly short: string;
  /** package.json's version at the ref. */
  readonly version: string;
}

/** A ref that cannot serve as a baseline. */
export class BaselineError extends Error {}

function git(args: readonly string[]): Buffer {
  return execFileSync('git', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

function gitText(args: readonly string[]): string {
  return git(args).toString('utf8');
}

/** Resolves `ref` to a commit that has warren's bench adapter; throws {@link BaselineError}. */
export function resolveBaseline(ref: string): Baseline {
  let commit: string;
  try {
    commit = gitText(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]).trim();
  } catch {
    throw new BaselineError(`--baseline ${ref}: not a commit in this repository`);
  }
  try {
    git(['cat-file', '-e', `${commit}:${ADAPTER}`]);
  } catch {
    throw new BaselineError(`--baseline ${ref}: that commit has no ${ADAPTER}`);
  }
  const short = gitText(['rev-parse', '--short', commit]).trim();
  let version = '?';
  try {
    const json = JSON.parse(gitText(['show', `${commit}:package.json`])) as { version?: unknown };
    version = String(json.version ?? '?');
  } catch {
    // no package.json at the ref: the commit names it well enough
  }
  return { ref, commit, short, version };
}

/**
 * The ref's lib/, adapter and bench/client.ts under {@link CACHE_DIR}/<commit>, extracted once.
 * Returns the folder.
 */
async function extract(baseline: Baseline): Promise<string> {
  const dir = path.join(CACHE_DIR, baseline.commit);
  const done = path.join(dir, '.extracted');
  if (existsSync(done)) return dir;
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
  // All of bench/, for what the adapter imports beside the harness (bench/tracing.ts); through
  // a file, since lib/ alone is more than a pipe's default buffer holds.
  const tar = path.join(dir, '.baseline.tar');
  git(['archive', '--format=tar', `--output=${tar}`, baseline.commit, '--', 'lib', 'bench']);
  execFileSync('tar', ['-x', '-f', tar, '-C', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  await fs.rm(tar);
  await fs.writeFile(done, `${baseline.ref}\n`);
  return dir;
}

/**
 * Extracts and compiles the baseline adapter as `clients/<name>.js` beside the compiled worker
 * (after the other clients: the build folder is not emptied). Returns, for the report, how the
 * ref's adapter and bench/client.ts compare with today's, and which bench/client.ts it was
 * compiled against.
 */
export async function buildBaseline(baseline: Baseline, name: string): Promise<string> {
  const dir = await extract(baseline);
  const adapter =
    readFileSync(path.join(dir, ADAPTER), 'utf8') === readFileSync(path.join(ROOT, ADAPTER), 'utf8')
      ? `its ${ADAPTER} is today's`
      : `its ${ADAPTER} differs from today's (a scenario may be driven differently)`;
  const harness = path.join(dir, HARNESS);
  const today = readFileSync(path.join(ROOT, HARNESS), 'utf8');
  const theirs = gitText(['show', `${baseline.commit}:${HARNESS}`]);
  const entry = { [`clients/${name}`]: path.join(dir, ADAPTER) };
  await fs.writeFile(harness, today);
  if (theirs === today) {
    await compile(entry, false, path.join(dir, 'lib'));
    return `${adapter}; its ${HARNESS} is today's`;
  }
  try {
    await compile(entry, false, path.join(dir, 'lib'));
    return `${adapter}; its ${HARNESS} differs from today's, and the adapter was compiled against today's (the same bodies and helpers as the other clients)`;
  } catch (error) {
    // esbuild's message: "Build failed with 1 error:\n<file>:<line>:<column>: ERROR: <what>".
    const message = error instanceof Error ? error.message : String(error);
    const why = (/ERROR: (.*)/.exec(message)?.[1] ?? message.split('\n')[0] ?? '').replace(
      /\S*warren-bench-baseline\/[0-9a-f]+\//g,
      '',
    );
    await fs.writeFile(harness, theirs);
    await compile(entry, false, path.join(dir, 'lib'));
    return `${adapter}; its ${HARNESS} differs from today's, and the adapter does not compile against today's (${why}): it was compiled against its own, whose bodies and helpers may cost differently`;
  }
}
