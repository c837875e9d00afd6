/**
 * The diagnostics module apart from the broker: `traceAsync` publishes the
 * phases `TracingChannel.tracePromise` would, in order, for a promise that
 * resolves, one that rejects and a function that throws at once; and on a
 * runtime without `tracingChannel` (older Bun and Deno) the module loads,
 * nothing is ever traced, and a traced function still runs.
 */
import { tracingChannel } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  isTraced,
  type TracedDiagnostic,
  type Tracing,
  traceAsync,
} from '../../lib/diagnostics.js';

const NAME = 'warren:unit-test';

/** Subscribes to every phase of the test channel; returns the phases seen. */
function listen(): { seen: string[]; stop(): void } {
  const seen: string[] = [];
  const handlers = {
    start: () => seen.push('start'),
    end: () => seen.push('end'),
    asyncStart: () => seen.push('asyncStart'),
    asyncEnd: () => seen.push('asyncEnd'),
    error: (message: unknown) => seen.push(`error:${(message as TracedDiagnostic).error}`),
  };
  const channel = tracingChannel(NAME);
  channel.subscribe(handlers);
  return { seen, stop: () => channel.unsubscribe(handlers) };
}

const traced = tracingChannel(NAME) as unknown as Tracing;

describe('traceAsync', () => {
  it('start, end, asyncStart, asyncEnd for a promise that resolves, with its result', async () => {
    const { seen, stop } = listen();
    try {
      expect(isTraced(traced)).toBe(true);
      const message: TracedDiagnostic & { result?: number } = {};
      const result = await traceAsync(
        traced,
        message,
        async () => 7,
        (into, value) => {
          into.result = value;
        },
      );
      expect(result).toBe(7);
      expect(message.result).toBe(7);
      expect(seen).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    } finally {
      stop();
    }
    expect(isTraced(traced)).toBe(false);
  });

  it('the error phase for a rejection and for a throw, which the caller still gets', async () => {
    const { seen, stop } = listen();
    try {
      const rejected = traceAsync(traced, {}, () => Promise.reject(new Error('late')));
      await expect(rejected).rejects.toThrow('late');
      expect(seen).toEqual(['start', 'end', 'error:Error: late', 'asyncStart', 'asyncEnd']);
      seen.length = 0;
      const thrown = traceAsync(traced, {}, () => {
        throw new Error('at once');
      });
      await expect(thrown).rejects.toThrow('at once');
      expect(seen).toEqual(['start', 'error:Error: at once', 'end']);
    } finally {
      stop();
    }
  });
});

describe('a runtime without tracingChannel', () => {
  afterEach(() => {
    vi.doUnmock('node:diagnostics_channel');
    vi.resetModules();
  });

  it('loads, never traces, and runs what it would have traced', async () => {
    vi.resetModules();
    vi.doMock('node:diagnostics_channel', () => ({
      channel: undefined,
      tracingChannel: undefined,
    }));
    const diagnostics = await import('../../lib/diagnostics.js');

    expect(diagnostics.isTraced(diagnostics.publishChannel)).toBe(false);
    expect(diagnostics.receiveChannel.hasSubscribers).toBe(false);
    await expect(
      diagnostics.traceAsync(diagnostics.publishChannel, {}, async () => 'ran'),
    ).resolves.toBe('ran');
  });
});
