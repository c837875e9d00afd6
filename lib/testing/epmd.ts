/**
 * The Erlang port mapper (epmd): the first node started here starts it, and
 * it outlives the node. When this process started it, it stops it again once
 * none of its nodes runs and no other node is registered.
 */
import { execFileSync } from 'node:child_process';
import { run, SYSTEM_PATH, sleep } from './processes.js';

/** Nodes started (or starting) by this process and not yet cleaned up. */
let activeNodes = 0;
/** Whether the epmd now running was started on behalf of one of our nodes. */
let epmdOwned = false;
/** Serialises epmd checks so a stop never kills epmd under a starting node. */
let epmdQueue: Promise<unknown> = Promise.resolve();

function withEpmdLock<T>(task: () => Promise<T>): Promise<T> {
  const result = epmdQueue.then(task);
  epmdQueue = result.catch(() => undefined);
  return result;
}

/** Node names registered with epmd, or `undefined` when epmd is not running. */
async function epmdNames(): Promise<string[] | undefined> {
  try {
    return parseEpmdNames((await run('epmd', ['-names'], { timeoutMs: 10_000 })).stdout);
  } catch {
    return undefined;
  }
}

function parseEpmdNames(output: string): string[] {
  return output
    .split('\n')
    .map((line) => /^name (\S+) at port/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
}

/** Before a node starts: if none of ours is running, note whether epmd is already there. */
export function noteEpmdBeforeStart(): Promise<void> {
  const first = activeNodes === 0;
  activeNodes++;
  if (!first) return Promise.resolve();
  return withEpmdLock(async () => {
    if ((await epmdNames()) === undefined) epmdOwned = true;
  });
}

/** After a node is gone: stop epmd if we started it and no node at all is registered. */
export function releaseEpmdAfterStop(): Promise<void> {
  activeNodes--;
  if (activeNodes > 0) return Promise.resolve();
  return withEpmdLock(async () => {
    if (!epmdOwned) return;
    // A node deregisters when its connection to epmd closes, which can trail its exit a little.
    for (let attempt = 0; attempt < 10; attempt++) {
      const names = await epmdNames();
      if (names === undefined) {
        epmdOwned = false;
        return;
      }
      if (names.length === 0) break;
      if (attempt === 9) return; // someone else's node uses it: leave it running
      await sleep(200);
    }
    if (activeNodes > 0) return; // a new node started meanwhile
    await run('epmd', ['-kill'], { timeoutMs: 10_000 }).catch(() => undefined);
    epmdOwned = false;
  });
}

export function releaseEpmdSync(): void {
  if (!epmdOwned) return;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let attempt = 0; attempt < 10; attempt++) {
    let names: string[];
    try {
      const out = execFileSync('epmd', ['-names'], {
        encoding: 'utf8',
        env: { PATH: SYSTEM_PATH },
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 5_000,
      });
      names = parseEpmdNames(out);
    } catch {
      epmdOwned = false;
      return;
    }
    if (names.length === 0) {
      try {
        execFileSync('epmd', ['-kill'], {
          env: { PATH: SYSTEM_PATH },
          stdio: 'ignore',
          timeout: 5_000,
        });
      } catch {
        // nothing more we can do while exiting
      }
      epmdOwned = false;
      return;
    }
    Atomics.wait(pause, 0, 0, 50);
  }
}
