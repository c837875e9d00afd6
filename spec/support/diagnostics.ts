/**
 * Recording what warren publishes on `node:diagnostics_channel`, for tests:
 * a plain channel's messages, or a tracing channel's phases in order. Each
 * recorder unsubscribes when the current test ends, so that later tests run
 * with nobody listening.
 */
import { subscribe, tracingChannel, unsubscribe } from 'node:diagnostics_channel';
import { onTestFinished } from 'vitest';

/** The five phases of a TracingChannel. */
export type Phase = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error';

/** One phase of a traced operation, and the message it carried (the same object in every phase). */
export interface TraceEvent<M> {
  readonly phase: Phase;
  readonly message: M;
}

/** Records every message of the plain channel `name` that `accept` keeps, until the test ends. */
export function recordChannel<M>(name: string, accept: (message: M) => boolean = () => true): M[] {
  const seen: M[] = [];
  const listener = (message: unknown): void => {
    if (accept(message as M)) seen.push(message as M);
  };
  subscribe(name, listener);
  onTestFinished(() => {
    unsubscribe(name, listener);
  });
  return seen;
}

/**
 * Records the phases of the tracing channel `name` whose message `accept`
 * keeps, until the test ends. `onStart` runs in the `start` phase, as a
 * tracer that adds headers would.
 */
export function recordTrace<M>(
  name: string,
  accept: (message: M) => boolean = () => true,
  onStart?: (message: M) => void,
): TraceEvent<M>[] {
  const events: TraceEvent<M>[] = [];
  const on =
    (phase: Phase) =>
    (message: unknown): void => {
      if (!accept(message as M)) return;
      if (phase === 'start') onStart?.(message as M);
      events.push({ phase, message: message as M });
    };
  const handlers = {
    start: on('start'),
    end: on('end'),
    asyncStart: on('asyncStart'),
    asyncEnd: on('asyncEnd'),
    error: on('error'),
  };
  const channel = tracingChannel(name);
  channel.subscribe(handlers);
  onTestFinished(() => {
    channel.unsubscribe(handlers);
  });
  return events;
}

/** The phases recorded, in order. */
export function phases(events: readonly TraceEvent<unknown>[]): Phase[] {
  return events.map((event) => event.phase);
}
