/**
 * What every benchmarked client implements: one function per scenario, each run in a fresh
 * process by bench/worker.ts. A function does the work and verifies it (counts, sizes, content),
 * throwing on any mismatch; timing and CPU are measured around it by the worker.
 */

import { z } from 'zod';

/** Where and what: the broker URL, a queue made for this run (declared, empty), and sizes. */
export interface ScenarioInput {
  readonly url: string;
  /** A durable-less, exclusive-less queue created by the orchestrator for this run, empty. */
  readonly queue: string;
  /** How many messages. */
  readonly count: number;
  /** Body size in bytes. */
  readonly size: number;
  /** Confirm window (publishConfirm) or prefetch (consume). */
  readonly window: number;
}

/** What a scenario reports besides the worker's own measurements. */
export interface ScenarioOutput {
  /** Messages handled (published and queued, or consumed and acked). */
  readonly messages: number;
  /** Per-operation latencies in µs, for request/reply. */
  readonly latenciesUs?: readonly number[];
}

export interface BenchClient {
  /** Publishes `count` bodies of `size` bytes to `queue` without confirms, respecting the client's backpressure; resolves when the broker holds them all. */
  publish(input: ScenarioInput): Promise<ScenarioOutput>;
  /** Publishes with confirms, at most `window` unconfirmed; resolves when all are confirmed. */
  publishConfirm(input: ScenarioInput): Promise<ScenarioOutput>;
  /** Consumes `count` messages already in `queue` with prefetch `window`, one ack per message. */
  consume(input: ScenarioInput): Promise<ScenarioOutput>;
  /** `count` sequential request/reply round trips through `queue` (server and client in this process). */
  rpc(input: ScenarioInput): Promise<ScenarioOutput>;
  /** Publishes `count` bodies of `size` bytes to `queue` and consumes them concurrently, verifying each. */
  large(input: ScenarioInput): Promise<ScenarioOutput>;
  /**
   * Consumes `count` messages already in `queue` with prefetch `window`; each fails its first
   * attempt and is retried after {@link RETRY_DELAY_MS} through the broker, then succeeds.
   * Reports the messages that succeeded. Only a client with delayed retries of its own has it;
   * the others are n/a.
   */
  retry?(input: ScenarioInput): Promise<ScenarioOutput>;
  /**
   * As publishConfirm, but each body is an {@link order} of `size` bytes published through a
   * handle whose zod schema ({@link BenchOrder}) checks it. Only a client with schemas of its
   * own has it.
   */
  typedPublish?(input: ScenarioInput): Promise<ScenarioOutput>;
  /**
   * As consume, but the queue holds {@link order}s and each is checked by {@link BenchOrder}
   * before the handler sees it. Only a client with schemas of its own has it.
   */
  typedConsume?(input: ScenarioInput): Promise<ScenarioOutput>;
  /**
   * As typedPublish, but through a contract's publisher handle (the queue and the
   * {@link BenchOrder} message defined once, applied on the connection). Only a client with
   * contracts of its own has it.
   */
  contractPublish?(input: ScenarioInput): Promise<ScenarioOutput>;
  /**
   * As typedConsume, but through a contract's consumer handle. Only a client with contracts of
   * its own has it.
   */
  contractConsume?(input: ScenarioInput): Promise<ScenarioOutput>;
  /**
   * As publishConfirm, with OpenTelemetry tracing every publish (the SDK set up as an
   * application would, exporting nowhere). Only a client with tracing of its own has it.
   */
  tracedPublish?(input: ScenarioInput): Promise<ScenarioOutput>;
  /** As consume, with OpenTelemetry tracing every delivery's processing and ack. */
  tracedConsume?(input: ScenarioInput): Promise<ScenarioOutput>;
}

/** The typed scenarios' message: an order, as the examples have one, padded to the scenario's size. */
export const BenchOrder = z.object({
  id: z.number().int().nonnegative(),
  item: z.string().min(1),
  quantity: z.number().int().positive(),
  note: z.string(),
});
export type BenchOrder = z.infer<typeof BenchOrder>;

/** The JSON of an order without its note, for an id of `digits` digits: what the note pads out. */
const ORDER_OVERHEAD = JSON.stringify({ id: 0, item: 'lamp', quantity: 2, note: '' }).length - 1;
const notes = new Map<number, string>();

/** Order `index`, whose JSON is `size` bytes (at least its fields' own length). */
export function order(index: number, size: number): BenchOrder {
  const padding = Math.max(0, size - ORDER_OVERHEAD - String(index).length);
  let note = notes.get(padding);
  if (note === undefined) {
    note = 'a'.repeat(padding);
    notes.set(padding, note);
  }
  return { id: index, item: 'lamp', quantity: 2, note };
}

/** The id of a queued order's body; throws when it is not an order of `size` bytes. */
export function orderIndex(message: Uint8Array, size: number): number {
  if (message.length !== size) {
    throw new Error(`expected a ${size}-byte order, got ${message.length} bytes`);
  }
  return BenchOrder.parse(JSON.parse(Buffer.from(message).toString())).id;
}

/**
 * The retry scenario's one delay: short, so that the run measures the client's work on the
 * retry path (a second delivery, a confirmed copy to the wait queue, two acks) rather than
 * the wait; the wait queue is `<queue>.retry.<delay>ms`.
 */
export const RETRY_DELAY_MS = 20;

/**
 * The `large` scenario's confirm window, the same for every client (the ceiling included): at
 * most this many 8 MiB publishes unconfirmed. Two keep the broker busy while one is confirmed,
 * and each one in flight is a body the client holds in memory, which the scenario measures.
 */
export const LARGE_PUBLISH_WINDOW = 2;

/** Bodies up to this size are copied from a template, each a fresh buffer. */
const TEMPLATE_LIMIT = 64 * 1024;
const templates = new Map<number, Buffer>();
/** Larger bodies (the large scenario's) come from a ring of LARGE_PUBLISH_WINDOW buffers per size. */
const rings = new Map<number, { readonly slots: Buffer[]; next: number }>();

/**
 * A body of `size` bytes whose first 8 bytes carry `index` (so content can be checked).
 *
 * Cheap on purpose: the harness's own cost per message is paid by every client alike and would
 * blur the differences between them. A small body is a fresh pooled allocation filled by one
 * copy. A body over 64 KiB is one of {@link LARGE_PUBLISH_WINDOW} buffers used in turn, rewritten
 * in place (filling 8 MiB costs about a millisecond): it stays valid until that many more bodies
 * of its size are made, which holds in the large scenario, where a body is made only once the
 * publish that many places back has been confirmed, and the client is done with its buffer.
 */
export function body(size: number, index: number): Buffer {
  const buffer = size > TEMPLATE_LIMIT ? fromRing(size) : fromTemplate(size);
  if (size >= 8) {
    buffer.writeUInt32BE(Math.floor(index / 0x1_0000_0000), 0);
    buffer.writeUInt32BE(index >>> 0, 4);
  }
  return buffer;
}

function fromTemplate(size: number): Buffer {
  let template = templates.get(size);
  if (template === undefined) {
    template = Buffer.alloc(size, 0x61);
    templates.set(size, template);
  }
  const buffer = Buffer.allocUnsafe(size);
  template.copy(buffer);
  return buffer;
}

function fromRing(size: number): Buffer {
  let ring = rings.get(size);
  if (ring === undefined) {
    ring = { slots: [], next: 0 };
    rings.set(size, ring);
  }
  const slot = ring.next;
  ring.next = (slot + 1) % LARGE_PUBLISH_WINDOW;
  ring.slots[slot] ??= Buffer.alloc(size, 0x61);
  return ring.slots[slot];
}

/** The index a {@link body} carries; throws when the size is wrong. */
export function indexOf(message: Uint8Array, size: number): number {
  if (message.length !== size)
    throw new Error(`expected a ${size}-byte body, got ${message.length}`);
  if (size < 8) return -1;
  const view = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  return view.readUInt32BE(0) * 0x1_0000_0000 + view.readUInt32BE(4);
}

/** Polls the queue's message count (`messageCount()`) until the broker holds `count` messages. */
export async function waitUntilQueued(
  count: number,
  messageCount: () => Promise<number>,
): Promise<void> {
  while ((await messageCount()) < count) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Publishes messages 0 … `count - 1` with at most `window` unconfirmed: `publishOne(index)`
 * publishes one and resolves on its confirm. The first rejection is thrown once all settled.
 */
export async function publishWindowed(
  count: number,
  window: number,
  publishOne: (index: number) => Promise<unknown>,
): Promise<void> {
  // A counter, not a race over the set of pending promises: that would cost O(window) per wait.
  let outstanding = 0;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const settled = (): void => {
    outstanding--;
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  const failed = (error: unknown): void => {
    failure ??= { error };
    settled();
  };
  const room = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
    });
  for (let index = 0; index < count; index++) {
    while (outstanding >= Math.max(1, window)) await room();
    if (failure !== undefined) break;
    outstanding++;
    publishOne(index).then(settled, failed);
  }
  while (outstanding > 0) await room();
  if (failure !== undefined) throw failure.error;
}
