/**
 * The pure parts of recovery: option checks and defaults, the backoff bounds, which losses are
 * worth reconnecting for, and the gate where operations wait.
 */
import { describe, expect, it } from 'vitest';
import { AbortError, ConnectionError } from '../../lib/engine/errors.js';
import type { ConnectionErrorCode } from '../../lib/protocol/errors.js';
import {
  backoffDelay,
  DisconnectedError,
  isRecoverable,
  ReadyGate,
  RepeatedFailures,
  resolveRecovery,
} from '../../lib/recovery.js';

const defaults = resolveRecovery(undefined);
if (defaults === null) throw new Error('recovery is on by default');

describe('resolveRecovery', () => {
  it('is on by default, off with false, and fills the defaults', () => {
    expect(resolveRecovery(false)).toBeNull();
    expect(defaults).toEqual({
      initialDelay: 100,
      maxDelay: 30_000,
      maxAttempts: Number.POSITIVE_INFINITY,
      maxRepeatedFailures: 5,
      whileDisconnected: 'wait',
      waitTimeout: 30_000,
      maxWaitingPublishes: 10_000,
      maxWaitingBytes: 64 * 1024 * 1024,
    });
    expect(resolveRecovery({ maxAttempts: 3, whileDisconnected: 'fail' })).toMatchObject({
      maxAttempts: 3,
      whileDisconnected: 'fail',
    });
  });

  it.each([
    [{ initialDelay: -1 }, RangeError],
    [{ maxDelay: 2 ** 31 }, RangeError],
    [{ maxAttempts: 0 }, RangeError],
    [{ maxAttempts: 1.5 }, RangeError],
    [{ maxRepeatedFailures: 0 }, RangeError],
    [{ maxRepeatedFailures: 2.5 }, RangeError],
    [{ maxWaitingPublishes: -1 }, RangeError],
    [{ whileDisconnected: 'drop' }, RangeError],
    ['yes', TypeError],
  ])('refuses %j', (options, error) => {
    expect(() => resolveRecovery(options as never)).toThrow(error);
  });
});

describe('RepeatedFailures', () => {
  const lost = (code: ConnectionErrorCode) => new ConnectionError(code, `lost: ${code}`);

  it('reaches its limit at the limit-th failure of one code in a row, and says so', () => {
    const repeated = new RepeatedFailures(3);
    expect(repeated.add(lost('FRAME_ERROR'))).toBe(false);
    expect(repeated.add(lost('FRAME_ERROR'))).toBe(false);
    const last = lost('FRAME_ERROR');
    expect(repeated.add(last)).toBe(true);
    const error = repeated.giveUp(last);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.code).toBe('RECOVERY_FAILED');
    expect(error.cause).toBe(last);
    expect(error.message).toContain('(FRAME_ERROR) came back 3 times in a row: lost: FRAME_ERROR');
  });

  it('starts over on another code, and after a reset', () => {
    const repeated = new RepeatedFailures(2);
    expect(repeated.add(lost('CONNECTION_LOST'))).toBe(false);
    expect(repeated.add(lost('INTERNAL_ERROR'))).toBe(false);
    expect(repeated.add(new TypeError('boom'))).toBe(false);
    repeated.reset();
    expect(repeated.add(new TypeError('boom'))).toBe(false);
    expect(repeated.add(new TypeError('again'))).toBe(true);
  });

  it('never reaches Infinity', () => {
    const repeated = new RepeatedFailures(Number.POSITIVE_INFINITY);
    for (let i = 0; i < 100; i++) expect(repeated.add(lost('CONNECTION_LOST'))).toBe(false);
  });
});

describe('backoffDelay', () => {
  it('stays below initialDelay × 2^attempt, capped by maxDelay, and is never negative', () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      const bound = Math.min(defaults.maxDelay, defaults.initialDelay * 2 ** attempt);
      for (let i = 0; i < 50; i++) {
        const delay = backoffDelay(attempt, defaults);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(Math.max(bound, 1));
      }
    }
  });

  it('spreads the delays (jitter): 200 draws of one attempt are not all alike', () => {
    const draws = new Set(Array.from({ length: 200 }, () => backoffDelay(8, defaults)));
    expect(draws.size).toBeGreaterThan(50);
  });
});

describe('isRecoverable', () => {
  it.each<[ConnectionErrorCode, boolean]>([
    ['CONNECTION_LOST', true],
    ['HEARTBEAT_TIMEOUT', true],
    ['CONNECTION_FORCED', true],
    ['INTERNAL_ERROR', true],
    ['FRAME_ERROR', true],
    ['ACCESS_REFUSED', false],
    ['NOT_ALLOWED', false],
    ['NO_MECHANISM', false],
    ['CONNECTION_CLOSED', false],
  ])('%s → %s', (code, expected) => {
    expect(isRecoverable(new ConnectionError(code, code))).toBe(expected);
  });

  const closedBy = (replyCode: number, classId: number, methodId: number): ConnectionError =>
    ConnectionError.fromBroker({ replyCode, replyText: 'refused', classId, methodId });

  it('tells a refused login or vhost (permanent) from a refusal of a channel method (not)', () => {
    // connection.open refused (vhost access), and a close that names no method.
    expect(isRecoverable(closedBy(530, 10, 40))).toBe(false);
    expect(isRecoverable(closedBy(403, 10, 11))).toBe(false);
    expect(isRecoverable(closedBy(530, 0, 0))).toBe(false);
    expect(isRecoverable(closedBy(403, 0, 0))).toBe(false);
    // basic.consume with a duplicate tag, queue.declare, channel.open.
    expect(isRecoverable(closedBy(530, 60, 20))).toBe(true);
    expect(isRecoverable(closedBy(403, 50, 10))).toBe(true);
    expect(isRecoverable(closedBy(530, 20, 10))).toBe(true);
  });
});

describe('ReadyGate', () => {
  const gate = (options = {}) => {
    const recovery = resolveRecovery(options);
    if (recovery === null) throw new Error('unreachable');
    return new ReadyGate(recovery);
  };

  it('lets operations through while open, holds them while shut, releases them in order', async () => {
    const g = gate();
    await expect(g.wait(10, true, undefined)).resolves.toBeUndefined();
    g.shut(new Error('lost'));
    const order: number[] = [];
    const waits = [1, 2, 3].map((n) => g.wait(1, true, undefined).then(() => order.push(n)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([]);
    g.reopen();
    await Promise.all(waits);
    expect(order).toEqual([1, 2, 3]);
  });

  it('refuses a publish at once in fail mode, and past the count or byte limits', async () => {
    const failing = gate({ whileDisconnected: 'fail' });
    failing.shut(new Error('lost'));
    await expect(failing.wait(1, true, undefined)).rejects.toBeInstanceOf(DisconnectedError);
    // Other operations still wait in fail mode: only publishes fail fast.
    const declare = failing.wait(0, false, undefined);
    failing.reopen();
    await expect(declare).resolves.toBeUndefined();

    const bounded = gate({ maxWaitingPublishes: 2, maxWaitingBytes: 100 });
    bounded.shut(new Error('lost'));
    const first = bounded.wait(10, true, undefined);
    const second = bounded.wait(10, true, undefined);
    await expect(bounded.wait(10, true, undefined)).rejects.toMatchObject({ code: 'DISCONNECTED' });
    bounded.reopen();
    await Promise.all([first, second]);
    bounded.shut(new Error('lost again'));
    const big = bounded.wait(90, true, undefined);
    await expect(bounded.wait(11, true, undefined)).rejects.toMatchObject({ code: 'DISCONNECTED' });
    bounded.reopen();
    await big;
  });

  it('gives up after waitTimeout with DISCONNECTED (the cause attached), and on abort', async () => {
    const g = gate({ waitTimeout: 20 });
    const lost = new Error('lost');
    g.shut(lost);
    const error = await g.wait(1, true, undefined).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(DisconnectedError);
    expect((error as DisconnectedError).cause).toBe(lost);
    const controller = new AbortController();
    const aborted = g.wait(1, true, controller.signal);
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortError);
    // Given-up waiters no longer count against the limits.
    const g2 = gate({ maxWaitingPublishes: 1, waitTimeout: 20 });
    g2.shut(lost);
    await g2.wait(1, true, undefined).catch(() => {});
    const next = g2.wait(1, true, undefined);
    g2.reopen();
    await expect(next).resolves.toBeUndefined();
  });

  it('fails every waiter, and every later operation, when closed for good', async () => {
    const g = gate();
    g.shut(new Error('lost'));
    const waiting = g.wait(1, true, undefined);
    const closed = new Error('closed');
    g.close(closed);
    await expect(waiting).rejects.toBe(closed);
    await expect(g.wait(0, false, undefined)).rejects.toBe(closed);
  });
});
