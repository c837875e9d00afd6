/** Waiting within a timeout or a signal (lib/engine/abort.ts). */
import { describe, expect, it } from 'vitest';
import { waitWithin } from '../../lib/engine/abort.js';
import { AbortError, TimeoutError } from '../../lib/engine/errors.js';
import { callSite, siteBelow } from '../support/stack.js';

const never = (): Promise<never> => new Promise<never>(() => {});
const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe('waitWithin', () => {
  it('returns the promise itself when there is neither a timeout nor a signal', () => {
    const promise = never();
    expect(waitWithin(promise, {}, 'the wait')).toBe(promise);
  });

  it('rejects with a TimeoutError whose stack leads to the caller, not to the timer', async () => {
    const site = siteBelow(callSite());
    const waiting = waitWithin(never(), { timeout: 10 }, 'the wait');
    const error = await rejection(waiting);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: 'TIMEOUT', message: 'the wait timed out after 10 ms' });
    const stack = (error as Error).stack ?? '';
    expect(stack).toContain(`${site}:`);
    // The first frame is the caller's: the wait's own frames are left out.
    expect(stack.split('\n')[1]).toContain(`${site}:`);
    expect(stack).not.toMatch(/listOnTimeout|processTimers/);
  });

  it('rejects with an AbortError when the signal aborts first, and clears the timer', async () => {
    const controller = new AbortController();
    const waiting = waitWithin(never(), { timeout: 60_000, signal: controller.signal }, 'the wait');
    controller.abort(new Error('stop'));
    const error = await rejection(waiting);
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).cause).toEqual(new Error('stop'));
  });

  it('settles with the promise when it settles in time', async () => {
    await expect(waitWithin(Promise.resolve(7), { timeout: 1_000 }, 'the wait')).resolves.toBe(7);
    const failure = new Error('failed');
    await expect(waitWithin(Promise.reject(failure), { timeout: 1_000 }, 'the wait')).rejects.toBe(
      failure,
    );
  });
});
