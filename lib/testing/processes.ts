/**
 * Child processes for the throwaway nodes: running a command, finding one on
 * `PATH`, and the process tree of a node (its start script, the Erlang VM and
 * its helpers), so that nothing of it outlives a stop.
 */
import { execFile, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';

/** The loopback address every node listens on. */
export const HOST = '127.0.0.1';
/** Where system tools live, searched before `PATH` (sudo and su strip it). */
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A user to run processes as. */
export interface RunAs {
  /** Its user id. */
  uid: number;
  /** Its group id. */
  gid: number;
}

/** Keeps the last `limit` bytes of a stream for error messages. */
export class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit && this.chunks.length > 1) {
      this.size -= this.chunks.shift()?.length ?? 0;
    }
  }

  lines(count: number): string {
    return lastLines(Buffer.concat(this.chunks).toString('utf8'), count);
  }
}

export function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves `true` if `promise` settles within `ms`, `false` otherwise (without keeping a timer). */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

/** Sends a signal, ignoring processes that are already gone. */
export function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if (!isErrno(error, 'ESRCH')) throw error;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrno(error, 'EPERM');
  }
}

export function searchPath(): string[] {
  const dirs = [...SYSTEM_PATH.split(':'), ...(process.env.PATH ?? '').split(':')];
  return [...new Set(dirs.filter((dir) => dir !== ''))];
}

export async function isExecutable(file: string): Promise<boolean> {
  try {
    await fs.access(file, fs.constants.X_OK);
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

export async function which(name: string): Promise<string | undefined> {
  for (const dir of searchPath()) {
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** execFile as a promise; rejects with the ExecFileException (with stdout/stderr attached). */
export function run(
  file: string,
  args: readonly string[],
  options: {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    runAs?: RunAs | undefined;
    timeoutMs?: number;
  } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        env: options.env ?? { PATH: SYSTEM_PATH },
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
        ...(options.runAs ?? {}),
        timeout: options.timeoutMs ?? 30_000,
        maxBuffer: 16 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (error) reject(Object.assign(error, { stdout, stderr }));
        else resolve({ stdout, stderr });
      },
    );
  });
}

/** Distinct free TCP ports on 127.0.0.1 (held open together so they differ). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      server.listen(0, HOST);
      await once(server, 'listening');
    }
    return servers.map((server) => (server.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(
      servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
  }
}

/** pid -> parent pid for every process, from `ps` or, without procps, from /proc. */
function processTable(): Map<number, number> {
  const table = new Map<number, number>();
  try {
    const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], {
      encoding: 'utf8',
      env: { PATH: SYSTEM_PATH },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    for (const line of out.split('\n')) {
      const [pid, ppid] = line.trim().split(/\s+/).map(Number);
      if (pid !== undefined && ppid !== undefined && pid > 0) table.set(pid, ppid);
    }
    return table;
  } catch {
    // no ps: read /proc below
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may contain spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      table.set(Number(entry), ppid);
    } catch {
      // exited meanwhile
    }
  }
  return table;
}

/** All descendants of `root` (not including it), parents before children. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of processTable()) {
    const siblings = children.get(ppid);
    if (siblings) siblings.push(pid);
    else children.set(ppid, [pid]);
  }
  const found: number[] = [];
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** SIGKILLs `root` and everything below it (the tree is collected before anything dies). */
export function killTree(root: number): void {
  const tree = [root, ...descendants(root)];
  for (const pid of tree) signalPid(pid, 'SIGKILL');
}
