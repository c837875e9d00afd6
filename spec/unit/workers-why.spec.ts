/**
 * The x-warren-* headers of lib/workers/why.ts without a broker: texts bounded with a trailing
 * `…` and never a surrogate pair cut in two, zod paths written as code would, the headers of
 * an earlier failure replaced, the first failure and the original route kept, and RabbitMQ's
 * own headers: x-death kept, x-delivery-count dropped.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { IncomingMessage } from '../../lib/index.js';
import { MessageValidationError } from '../../lib/index.js';
import { bounded, failureHeaders } from '../../lib/workers/why.js';

/** What failureHeaders reads of a message. */
function received(headers: Record<string, unknown>, exchange = 'orders', routingKey = 'created') {
  return { headers, exchange, routingKey } as unknown as IncomingMessage<unknown>;
}

describe('bounded', () => {
  it('keeps a text within the limit as it is, and cuts a longer one to the limit, ending in …', () => {
    expect(bounded('short', 10)).toBe('short');
    expect(bounded('x'.repeat(20), 10)).toBe(`${'x'.repeat(9)}…`);
  });

  it('never returns more than the limit, nor a lone surrogate (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.integer({ min: 2, max: 200 }),
        (text, limit) => {
          const result = bounded(text, limit);
          expect(result.length).toBeLessThanOrEqual(limit);
          expect(result.isWellFormed()).toBe(true);
        },
      ),
    );
  });
});

describe('failureHeaders', () => {
  const now = new Date('2026-01-02T03:04:05.000Z');

  it('writes the error, the queue, the times and the original route; keeps x-death; drops x-delivery-count', () => {
    const death = [{ queue: 'orders.retry.5ms', reason: 'expired', count: 1 }];
    const error = Object.assign(new TypeError('bad'), { code: 'E_BAD' });
    const headers = failureHeaders(
      error,
      received({ tenant: 'acme', 'x-death': death, 'x-delivery-count': 3 }),
      { queue: 'orders', attempt: 2, reason: 'exhausted', now },
    );
    expect(headers).toEqual({
      tenant: 'acme',
      'x-death': death,
      'x-warren-attempt': 2,
      'x-warren-reason': 'exhausted',
      'x-warren-error-name': 'TypeError',
      'x-warren-error-code': 'E_BAD',
      'x-warren-error-message': 'bad',
      'x-warren-queue': 'orders',
      'x-warren-first-failure': '2026-01-02T03:04:05.000Z',
      'x-warren-last-failure': '2026-01-02T03:04:05.000Z',
      'x-warren-original-exchange': 'orders',
      'x-warren-original-routing-key': 'created',
    });
  });

  it("replaces an earlier failure's headers, keeps its first failure and original route", () => {
    const earlier = {
      'x-warren-error-code': 'E_OLD',
      'x-warren-issues': [{ path: 'a', code: 'x', message: 'y' }],
      'x-warren-first-failure': '2025-12-31T00:00:00.000Z',
      'x-warren-original-exchange': 'first',
      'x-warren-original-routing-key': 'first.key',
    };
    const headers = failureHeaders('a string', received(earlier, '', 'orders'), {
      queue: 'orders',
      attempt: 3,
      now,
    });
    expect(headers['x-warren-error-code']).toBeUndefined();
    expect(headers['x-warren-issues']).toBeUndefined();
    expect(headers['x-warren-reason']).toBeUndefined();
    expect(headers['x-warren-error-name']).toBe('string');
    expect(headers['x-warren-error-message']).toBe('a string');
    expect(headers['x-warren-first-failure']).toBe('2025-12-31T00:00:00.000Z');
    expect(headers['x-warren-original-exchange']).toBe('first');
    expect(headers['x-warren-original-routing-key']).toBe('first.key');
  });

  it('writes zod issues with code-like paths, at most 10', () => {
    const schema = z.object({ items: z.array(z.object({ id: z.number() })) });
    const result = schema.safeParse({ items: Array.from({ length: 12 }, () => ({ id: 'x' })) });
    const error = new MessageValidationError('invalid', result.error?.issues ?? []);
    const headers = failureHeaders(error, received({}), { queue: 'q', attempt: 1, now });
    const issues = headers['x-warren-issues'] as { path: string }[];
    expect(issues).toHaveLength(10);
    expect(issues[0]).toMatchObject({ path: 'items[0].id', code: 'invalid_type' });
  });

  it('describes hostile values without running their code', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
        getPrototypeOf() {
          throw new Error('trap');
        },
      },
    );
    const headers = failureHeaders(hostile, received({}), { queue: 'q', attempt: 1, now });
    expect(headers['x-warren-error-name']).toBe('object');
    expect(typeof headers['x-warren-error-message']).toBe('string');
  });
});
