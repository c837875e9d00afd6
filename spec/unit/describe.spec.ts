/**
 * The one way warren turns a caller's value into text (lib/protocol/describe.ts):
 * it never throws and never runs long, whatever the value; and the `instanceof`
 * checks of warren's errors never throw either.
 */
import fc from 'fast-check';
import { expect, describe as group, it } from 'vitest';
import {
  AmqpError,
  ChannelError,
  ConnectionError,
  MessageValidationError,
} from '../../lib/index.js';
import { DESCRIBE_LIMIT, describe, describeMessage } from '../../lib/protocol/describe.js';
import { hostile, hostileNames, thrownValue } from '../support/hostile.js';

/** What a bounded description may add to the limit: the note of what was left out. */
const NOTE = 40;

group('describe and describeMessage', () => {
  it.each(hostileNames)('describe %s without throwing, within the limit', (name) => {
    for (const format of [describe, describeMessage]) {
      const text = format(hostile(name));
      expect(typeof text).toBe('string');
      expect(text.length).toBeLessThanOrEqual(DESCRIBE_LIMIT + NOTE);
    }
  });

  it('describe any value at all without throwing, within the limit (property)', () => {
    fc.assert(
      fc.property(thrownValue, fc.integer({ min: 1, max: 500 }), (thrown, limit) => {
        for (const format of [describe, describeMessage]) {
          const text = format(thrown.make(), limit);
          expect(typeof text).toBe('string');
          expect(text.length).toBeLessThanOrEqual(limit + NOTE);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('say what a value is: an error by its message or stack, others as inspected', () => {
    const error = Object.assign(new Error('it broke'), { code: 'E_BROKE' });
    expect(describeMessage(error)).toBe('it broke');
    expect(describe(error)).toContain('Error: it broke');
    expect(describe(error)).toContain("code: 'E_BROKE'");
    expect(describe('as is')).toBe('as is');
    expect(describe(Object.create(null))).toBe('[Object: null prototype] {}');
    expect(describe(Symbol('s'))).toBe('Symbol(s)');
    expect(describe(hostile('a revoked Proxy'))).toBe('<Revoked Proxy>');
  });

  it('cut a long text short, saying how much was left out, and never inside a surrogate pair', () => {
    expect(describe('abcdef', 3)).toBe('abc… (3 more characters)');
    expect(describe('ab😀cd', 3)).toBe('ab… (4 more characters)');
  });
});

group('instanceof on warren errors', () => {
  it.each(hostileNames)('is false, and does not throw, for %s', (name) => {
    const value = hostile(name);
    for (const errorClass of [AmqpError, ChannelError, ConnectionError, MessageValidationError]) {
      expect(value instanceof errorClass).toBe(false);
    }
  });
});
