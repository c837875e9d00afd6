/**
 * CPU profiles of the benchmark's measured windows, and where their time goes: V8's sampling
 * profiler started and stopped through `node:inspector` (so that a profile covers exactly the
 * window, not the process's start), and {@link charge}, which sorts each sample into the part of
 * a message's life it belongs to. A sample is charged to the innermost frame of warren's own
 * code on its stack (a Node function warren calls, such as `Buffer.subarray`, counts for the
 * part that called it), except the socket's system calls and what V8 and libuv do outside
 * JavaScript, which are parts of their own. Warren's modules are told apart in a compiled client
 * by the `// lib/<file>.ts` lines esbuild writes before each one, and by their file when run from
 * source.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT_URL = `${pathToFileURL(path.resolve(import.meta.dirname, '..')).href}/`;

/** How often the profiler samples, µs: finer than V8's 1 ms default, for runs of a few seconds. */
const PROFILE_INTERVAL_US = 250;

/** Starts V8's CPU profiler on this thread; the function returned stops it and gives the profile. */
export async function startProfile(): Promise<() => Promise<CpuProfile>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: PROFILE_INTERVAL_US });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    return profile as unknown as CpuProfile;
  };
}

/** The parts a sample is charged to, in the order the report lists them. */
export const PARTS = [
  'read and parse frames',
  'dispatch',
  'handler bookkeeping',
  'settle',
  'encode',
  'socket write',
  'socket read, event loop (native)',
  'promises and ticks',
  'garbage collection',
  'scenario code (bodies, checks)',
  'other',
] as const;
export type Part = (typeof PARTS)[number];

/** Which part a module of lib/ belongs to (by path), before its function names are looked at. */
const MODULE_PARTS: readonly (readonly [RegExp, Part])[] = [
  [
    /^lib\/protocol\/(parser|reader|assembler|field-table|field-types)\.ts$/,
    'read and parse frames',
  ],
  [/^lib\/engine\/(read-slab|transport)\.ts$/, 'read and parse frames'],
  [/^lib\/protocol\/(writer|frames)\.ts$/, 'encode'],
  [/^lib\/(deliveries|engine\/confirms)\.ts$/, 'settle'],
  [/^lib\/engine\//, 'dispatch'],
  [/^lib\/(exchange|message|fields|validate|schema)\.ts$/, 'encode'],
  [/^lib\//, 'handler bookkeeping'],
  [/^bench\//, 'scenario code (bodies, checks)'],
];

/** Function names that say more than their module does. */
function partOfFunction(module: string, name: string): Part | undefined {
  if (module === 'lib/protocol/spec.ts')
    return name.startsWith('decode') ? 'read and parse frames' : 'encode';
  if (module === 'lib/engine/engine.ts' && /^(flush|scheduleFlush|writeAckRuns)$/.test(name)) {
    return 'socket write';
  }
  if (
    /^(lib\/(channel|incoming-message|consumer)\.ts)$/.test(module) &&
    /^#?(ack|nack|reject|settle)/.test(name)
  ) {
    return 'settle';
  }
  return undefined;
}

/** Node's own functions that are the socket's system calls. */
const WRITE_CALLS = /^(writeBuffer|writev|writeUtf8String|writeLatin1String|writeAsciiString)$/;

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** The module each line of a compiled bundle belongs to, from esbuild's `// path` lines. */
async function modulesOfBundle(file: string): Promise<(line: number) => string> {
  const starts: { line: number; module: string }[] = [];
  const lines = (await readFile(file, 'utf8')).split('\n');
  lines.forEach((text, line) => {
    const match = /^\/\/ ((?:lib|bench)\/[\w./-]+\.ts)$/.exec(text);
    if (match !== null) starts.push({ line, module: match[1] as string });
  });
  return (line) => {
    let module = '';
    for (const start of starts) {
      if (start.line > line) break;
      module = start.module;
    }
    return module;
  };
}

/** µs of main-thread samples per part, and the busiest functions, of one profile. */
export interface Charged {
  readonly parts: Map<Part, number>;
  readonly functions: Map<string, number>;
}

/**
 * Charges every main-thread sample of `profile` to a part: by the innermost frame of warren's
 * code (lib/) or the bench's on its stack, else by what the sample itself is.
 */
export async function charge(profile: CpuProfile): Promise<Charged> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  const bundles = new Map<string, (line: number) => string>();
  for (const node of profile.nodes) {
    const { url } = node.callFrame;
    if (url.endsWith('/warren-bench/clients/warren.js') && !bundles.has(url)) {
      bundles.set(url, await modulesOfBundle(fileURLToPath(url)));
    }
  }
  const moduleOf = (node: ProfileNode): string | undefined => {
    const { url, lineNumber } = node.callFrame;
    const bundle = bundles.get(url);
    if (bundle !== undefined) return bundle(lineNumber);
    // Run from source (tsx): the file is the module.
    return url.startsWith(ROOT_URL) ? url.slice(ROOT_URL.length) : undefined;
  };

  const partOf = (leaf: ProfileNode): Part | undefined => {
    const name = leaf.callFrame.functionName;
    if (name === '(idle)' || name === '(root)') return undefined;
    if (name === '(garbage collector)') return 'garbage collection';
    if (name === '(program)') return 'socket read, event loop (native)';
    if (WRITE_CALLS.test(name)) return 'socket write';
    for (let node: ProfileNode | undefined = leaf; node !== undefined; ) {
      const module = moduleOf(node);
      if (module !== undefined && module !== '') {
        const found = partOfFunction(module, node.callFrame.functionName);
        if (found !== undefined) return found;
        return MODULE_PARTS.find(([pattern]) => pattern.test(module))?.[1] ?? 'other';
      }
      const parent = parentOf.get(node.id);
      node = parent === undefined ? undefined : byId.get(parent);
    }
    if (/^(processTicksAndRejections|runMicrotasks|nextTick)$/.test(name))
      return 'promises and ticks';
    if (/onStreamRead|^read$/.test(name)) return 'socket read, event loop (native)';
    return 'other';
  };

  const parts = new Map<Part, number>();
  const functions = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    // The first sample's interval runs from the profiler's start, in the inspector's own call.
    if (i === 0) return;
    const node = byId.get(id) as ProfileNode;
    const part = partOf(node);
    if (part === undefined) return;
    const us = profile.timeDeltas[i] ?? 0;
    parts.set(part, (parts.get(part) ?? 0) + us);
    const { functionName, url } = node.callFrame;
    const where = moduleOf(node) || url.split('/').pop() || 'native';
    const key = `${functionName || '(anonymous)'} (${where})`;
    functions.set(key, (functions.get(key) ?? 0) + us);
  });
  return { parts, functions };
}
