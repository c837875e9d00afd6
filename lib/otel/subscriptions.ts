/**
 * Subscribing to warren's diagnostics channels and undoing it: each
 * subscription returns the function that removes it, so `disable()` removes
 * exactly what was added.
 */
// A namespace import, as warren's own: a named import of what a runtime lacks would not link.

import type { TracingChannelSubscribers } from 'node:diagnostics_channel';
import * as dc from 'node:diagnostics_channel';
import { type Context, context, diag } from '@opentelemetry/api';

/** Removes one subscription. */
export type Undo = () => void;

/**
 * `fn`, made unable to throw: what a diagnostics subscriber throws becomes
 * an uncaught exception of the application (Node rethrows it on the next
 * tick), so a bug or a failing exporter here is reported to OpenTelemetry's
 * diagnostic logger instead; `fallback` is returned in its place.
 */
function guard<A extends unknown[], R>(fn: (...args: A) => R, fallback: (...args: A) => R) {
  return (...args: A): R => {
    try {
      return fn(...args);
    } catch (error) {
      diag.error('warren/otel: a diagnostics subscriber failed', error);
      return fallback(...args);
    }
  };
}

/** Subscribes `handlers` to the tracing channel `name`. */
export function onTrace<M extends object>(
  name: string,
  handlers: Partial<TracingChannelSubscribers<M>>,
): Undo {
  // A runtime without tracing channels (older Bun, Deno): warren publishes nothing on them.
  if (typeof dc.tracingChannel !== 'function') return () => {};
  const channel = dc.tracingChannel<unknown, M>(name);
  const guarded = Object.fromEntries(
    Object.entries(handlers).map(([phase, handler]) => [
      phase,
      guard(handler as (message: M) => void, () => {}),
    ]),
  ) as unknown as TracingChannelSubscribers<M>;
  channel.subscribe(guarded);
  return () => {
    channel.unsubscribe(guarded);
  };
}

/** Subscribes `listener` to the plain channel `name`. */
export function onMessage<M>(name: string, listener: (message: M) => void): Undo {
  const wrapped = guard(
    (message: unknown): void => listener(message as M),
    () => {},
  );
  if (typeof dc.subscribe !== 'function') return () => {};
  dc.subscribe(name, wrapped);
  return () => {
    dc.unsubscribe(name, wrapped);
  };
}

/**
 * Runs what the tracing channel `name` traces (a consumer's handler, an RPC
 * call) inside the OpenTelemetry context `enter` returns for its message.
 *
 * `start.runStores` calls `store.run(value, fn)` for each bound store; this
 * store's `run` is `context.with`, so the context reaches the handler through
 * whichever context manager the application registered (AsyncLocalStorage
 * or another), without reaching into that manager's private storage.
 */
export function runInContext<M extends object>(name: string, enter: (message: M) => Context): Undo {
  const store = {
    run<T>(value: Context, fn: () => T): T {
      return context.with(value, fn);
    },
  };
  if (typeof dc.tracingChannel !== 'function') return () => {};
  const { start } = dc.tracingChannel<unknown, M>(name);
  // bindStore is typed for an AsyncLocalStorage, of which it uses `run` only.
  const bound = start as unknown as {
    bindStore?(store: unknown, transform: (message: M) => Context): void;
    unbindStore?(store: unknown): boolean;
    runStores?: unknown;
  };
  if (typeof bound.bindStore !== 'function' || typeof bound.runStores !== 'function') {
    // A runtime without stores (older Bun, Deno): the span is still made, at `start`.
    return onTrace<M>(name, { start: enter });
  }
  // A transform that throws would also be rethrown: the handler then runs in the caller's context.
  bound.bindStore(
    store,
    guard(enter, () => context.active()),
  );
  return () => {
    bound.unbindStore?.(store);
  };
}
