/**
 * The contract's routing model (lib/contract/routing.ts): the topic matcher,
 * by properties and against a plain recursive reference; the headers matcher
 * on the rules of RabbitMQ 3.10; the value equality both use; and `reach`,
 * through exchange-to-exchange bindings, cycles and alternate exchanges.
 * spec/integration/contract-routing.spec.ts checks the matchers against the
 * broker itself.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  defineBinding,
  defineExchange,
  defineExchangeBinding,
  defineQueue,
} from '../../lib/contract/model.js';
import {
  headersMatch,
  reach,
  routingTopology,
  topicMatches,
  topicWords,
} from '../../lib/contract/routing.js';
import { sameValue } from '../../lib/contract/same-value.js';
import { Decimal, Field } from '../../lib/index.js';

/**
 * The reference: the definition read literally, one word at a time, trying
 * every number of words for a `#`. Exponential, fine for short keys.
 */
function reference(pattern: readonly string[], words: readonly string[]): boolean {
  const [first, ...rest] = pattern;
  if (first === undefined) return words.length === 0;
  if (first === '#') {
    for (let taken = 0; taken <= words.length; taken++) {
      if (reference(rest, words.slice(taken))) return true;
    }
    return false;
  }
  if (words.length === 0) return false;
  return (first === '*' || first === words[0]) && reference(rest, words.slice(1));
}

const word = fc.constantFrom<string>('a', 'b', 'c', '', 'a*');
const pattern = fc.array(fc.constantFrom('a', 'b', '', '*', '#', '#'), { maxLength: 6 });
const key = fc.array(word, { maxLength: 6 }).map((words) => words.join('.'));
// One empty word would join to the empty key, which has no words.
const keyWithWords = fc
  .array(word, { minLength: 1, maxLength: 6 })
  .filter((words) => words.join('.') !== '');

describe('topicWords', () => {
  it('splits at each dot, keeping empty words; the empty key has none', () => {
    expect(topicWords('')).toEqual([]);
    expect(topicWords('a')).toEqual(['a']);
    expect(topicWords('a..b')).toEqual(['a', '', 'b']);
    expect(topicWords('.')).toEqual(['', '']);
    expect(topicWords('a.')).toEqual(['a', '']);
  });
});

describe('topicMatches', () => {
  it('agrees with the literal reading of the rules', () => {
    fc.assert(
      fc.property(pattern, key, (patternWords, routingKey) => {
        const bindingKey = patternWords.join('.');
        expect(topicMatches(bindingKey, routingKey)).toBe(
          reference(topicWords(bindingKey), topicWords(routingKey)),
        );
      }),
      { numRuns: 2_000 },
    );
  });

  it('matches a key with itself, and with # for every key', () => {
    fc.assert(
      fc.property(key, (routingKey) => {
        expect(topicMatches(routingKey, routingKey)).toBe(true);
        expect(topicMatches('#', routingKey)).toBe(true);
      }),
    );
  });

  it('still matches when a word becomes *, or a run of words becomes #', () => {
    fc.assert(
      fc.property(keyWithWords, fc.nat(), fc.nat(), (words, at, length) => {
        const index = at % words.length;
        const starred = words.with(index, '*').join('.');
        expect(topicMatches(starred, words.join('.'))).toBe(true);
        const end = index + (length % (words.length - index + 1));
        const hashed = [...words.slice(0, index), '#', ...words.slice(end)].join('.');
        expect(topicMatches(hashed, words.join('.'))).toBe(true);
      }),
    );
  });

  it('matches a binding key without wildcards only to that very key', () => {
    fc.assert(
      fc.property(key, key, (bindingKey, routingKey) => {
        expect(topicMatches(bindingKey, routingKey)).toBe(bindingKey === routingKey);
      }),
    );
  });

  it('takes * as exactly one word, empty words included, and # as any number', () => {
    expect(topicMatches('*', '')).toBe(false);
    expect(topicMatches('*', 'a')).toBe(true);
    expect(topicMatches('*', '.')).toBe(false);
    expect(topicMatches('*.*', '.')).toBe(true);
    expect(topicMatches('a.*.b', 'a..b')).toBe(true);
    expect(topicMatches('', '')).toBe(true);
    expect(topicMatches('', 'a')).toBe(false);
    expect(topicMatches('#', '')).toBe(true);
    expect(topicMatches('#.#', '')).toBe(true);
    expect(topicMatches('a.#.b', 'a.b')).toBe(true);
    expect(topicMatches('a.#.b', 'a.x.y.b')).toBe(true);
    expect(topicMatches('a.#.b', 'a.x.y.c')).toBe(false);
    expect(topicMatches('#.a.#', 'x.a.y')).toBe(true);
    expect(topicMatches('a*', 'ab')).toBe(false);
    expect(topicMatches('a*', 'a*')).toBe(true);
  });
});

describe('headersMatch', () => {
  it('needs every header with all (the default), one with any', () => {
    const args = { a: 1, b: 'x' };
    expect(headersMatch(args, { a: 1, b: 'x', c: true })).toBe(true);
    expect(headersMatch(args, { a: 1 })).toBe(false);
    expect(headersMatch({ ...args, 'x-match': 'all' }, { a: 1 })).toBe(false);
    expect(headersMatch({ ...args, 'x-match': 'any' }, { a: 1 })).toBe(true);
    expect(headersMatch({ ...args, 'x-match': 'any' }, { a: 2, b: 'y' })).toBe(false);
    expect(headersMatch({ ...args, 'x-match': 'any' }, undefined)).toBe(false);
  });

  it('ignores x- arguments unless the mode ends in -with-x', () => {
    expect(headersMatch({ 'x-match': 'all', 'x-tag': 'blue' }, {})).toBe(true);
    expect(headersMatch({ 'x-match': 'all-with-x', 'x-tag': 'blue' }, {})).toBe(false);
    expect(headersMatch({ 'x-match': 'all-with-x', 'x-tag': 'blue' }, { 'x-tag': 'blue' })).toBe(
      true,
    );
    expect(headersMatch({ 'x-match': 'any', 'x-tag': 'blue' }, { 'x-tag': 'blue' })).toBe(false);
    expect(headersMatch({ 'x-match': 'any-with-x', 'x-tag': 'blue' }, { 'x-tag': 'blue' })).toBe(
      true,
    );
  });

  it('with nothing to match: all matches every message, any none', () => {
    expect(headersMatch({}, undefined)).toBe(true);
    expect(headersMatch({ 'x-match': 'any' }, { a: 1 })).toBe(false);
  });

  it('takes null (void) as "present, any value"; compares numbers by value', () => {
    expect(headersMatch({ a: null }, { a: 'anything' })).toBe(true);
    expect(headersMatch({ a: null }, { b: 1 })).toBe(false);
    expect(headersMatch({ a: 1 }, { a: Field.float64(1) })).toBe(true);
    expect(headersMatch({ a: Field.int16(1) }, { a: 1n })).toBe(true);
    expect(headersMatch({ a: 1 }, { a: '1' })).toBe(false);
  });

  it('a message holding the binding’s own matches always matches it', () => {
    const table = fc.dictionary(
      fc.constantFrom('a', 'b', 'c', 'x-d'),
      fc.oneof(fc.integer(), fc.string(), fc.boolean()),
    );
    fc.assert(
      fc.property(
        table,
        table,
        fc.constantFrom('all', 'any', 'all-with-x', 'any-with-x'),
        (args, extra, mode) => {
          const binding = { ...args, 'x-match': mode };
          const headers = { ...extra, ...args };
          const matchable = Object.keys(args).filter(
            (name) => mode.endsWith('-with-x') || !name.startsWith('x-'),
          );
          expect(headersMatch(binding, headers)).toBe(
            mode.startsWith('all') || matchable.length > 0,
          );
        },
      ),
    );
  });
});

describe('sameValue', () => {
  it('compares field values as the broker does, and objects key by key', () => {
    expect(sameValue(1, 1n)).toBe(true);
    expect(sameValue(1.5, 1n)).toBe(false);
    expect(sameValue(Field.int8(3), 3)).toBe(true);
    expect(sameValue(new Decimal(2, 150), new Decimal(2, 150))).toBe(true);
    expect(sameValue(new Decimal(2, 150), new Decimal(1, 15))).toBe(false);
    expect(sameValue(new Date(1_000), new Date(1_999))).toBe(true);
    expect(sameValue(Buffer.from('ab'), new Uint8Array([97, 98]))).toBe(true);
    expect(sameValue([1, 'a'], [1, 'a'])).toBe(true);
    expect(sameValue([1, 'a'], ['a', 1])).toBe(false);
    expect(sameValue({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(sameValue({ a: { b: [1] } }, { a: { b: [2] } })).toBe(false);
    expect(sameValue('a', 'b')).toBe(false);
    const predicate = () => true;
    expect(sameValue({ retryIf: predicate }, { retryIf: predicate })).toBe(true);
    expect(sameValue({ retryIf: predicate }, { retryIf: () => true })).toBe(false);
  });
});

describe('reach', () => {
  const orders = defineExchange('orders', 'topic');
  const audit = defineExchange('audit', 'fanout');
  const fallback = defineExchange('fallback', 'fanout');
  const tagged = defineExchange('tagged', 'headers');
  const withAlternate = defineExchange('routed', 'direct', {
    arguments: { 'alternate-exchange': 'fallback' },
  });
  const work = defineQueue('work');
  const log = defineQueue('log');
  const lost = defineQueue('lost');

  it('follows bindings, exchange bindings and cycles, each exchange once', () => {
    const topology = routingTopology(
      [orders, audit],
      [work, log],
      [
        defineBinding(work, orders, 'order.*'),
        defineExchangeBinding(audit, orders, '#'),
        defineExchangeBinding(orders, audit),
        defineBinding(log, audit),
      ],
    );
    const created = reach(topology, 'orders', 'order.created');
    expect([...created.queues].sort()).toEqual(['log', 'work']);
    expect(created.uncertain).toBe(false);
    expect([...reach(topology, 'orders', 'invoice.paid').queues]).toEqual(['log']);
    expect([...reach(topology, 'audit', 'x').queues].sort()).toEqual(['log']);
  });

  it('goes on to the alternate exchange only when no binding matches', () => {
    const topology = routingTopology(
      [withAlternate, fallback],
      [work, lost],
      [defineBinding(work, withAlternate, 'known'), defineBinding(lost, fallback)],
    );
    expect([...reach(topology, 'routed', 'known').queues]).toEqual(['work']);
    expect([...reach(topology, 'routed', 'other').queues]).toEqual(['lost']);
  });

  it('cannot tell for header matches or an unknown key, but can for no bindings', () => {
    const topology = routingTopology(
      [tagged, orders],
      [work],
      [defineBinding(work, tagged, '', { arguments: { kind: 'a' } })],
    );
    expect(reach(topology, 'tagged', 'x')).toEqual({ queues: new Set(), uncertain: true });
    expect(reach(topology, 'orders', 'x')).toEqual({ queues: new Set(), uncertain: false });
    const byKey = routingTopology([orders], [work], [defineBinding(work, orders, 'a')]);
    expect(reach(byKey, 'orders', undefined)).toEqual({ queues: new Set(), uncertain: true });
  });

  it('counts a queue as reached when a certain path finds it after an uncertain one', () => {
    const start = defineExchange('start', 'fanout');
    const middle = defineExchange('middle', 'fanout');
    const topology = routingTopology(
      [start, tagged, middle],
      [work],
      [
        defineExchangeBinding(tagged, start),
        defineExchangeBinding(middle, tagged, '', { arguments: { kind: 'a' } }),
        defineExchangeBinding(middle, start),
        defineBinding(work, middle),
      ],
    );
    expect(reach(topology, 'start', 'x')).toEqual({ queues: new Set(['work']), uncertain: true });
  });

  it('routes the default exchange to the queue the key names', () => {
    const topology = routingTopology([], [work], []);
    expect([...reach(topology, '', 'work').queues]).toEqual(['work']);
    expect(reach(topology, '', 'other').queues.size).toBe(0);
    expect(reach(topology, '', undefined).uncertain).toBe(true);
  });
});
