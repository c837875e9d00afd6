/**
 * A lone UTF-16 surrogate has no UTF-8 form: written as is it becomes U+FFFD,
 * and the broker would hold another name, key or header than the caller's.
 * warren refuses it with a RangeError before anything is sent (the codec in
 * lib/protocol/writer.ts, and the entities' argument checks), as
 * docs/field-tables.md promises for what it cannot encode faithfully.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import { Message } from '../../lib/index.js';
import { ByteWriter, type FieldTable, writeTable } from '../../lib/protocol/index.js';
import {
  declareQueue,
  expectNothingMore,
  openChannel,
  scriptedConnection,
  teardown,
} from './entities/harness.js';
import { thrown } from './helpers.js';

afterEach(teardown);

/** Strings with one lone surrogate somewhere: a high one without its low half, or a low one alone. */
const withLoneSurrogate: fc.Arbitrary<{ text: string; at: number }> = fc
  .tuple(
    fc.string({ maxLength: 20 }),
    fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff'),
    fc.string({ maxLength: 20 }),
  )
  // The halves around it must not pair with it.
  .filter(([before, lone, after]) => {
    const high = lone <= '\udbff';
    const pairs = high ? /^[\udc00-\udfff]/.test(after) : /[\ud800-\udbff]$/.test(before);
    return !pairs;
  })
  .map(([before, lone, after]) => ({ text: `${before}${lone}${after}`, at: before.length }))
  .filter(({ text }) => !text.isWellFormed());

function encodeTable(table: FieldTable): void {
  writeTable(new ByteWriter(), table, 'headers');
}

describe('the codec', () => {
  test('refuses a lone surrogate in a short string, a long string, a header key and value (property)', () => {
    fc.assert(
      fc.property(withLoneSurrogate, ({ text }) => {
        for (const write of [
          () => new ByteWriter().shortstr(text, 'queue name'),
          () => new ByteWriter().longstr(text, 'response'),
          () => encodeTable({ [text]: 1 }),
          () => encodeTable({ a: { b: [text] } }),
        ]) {
          expect(thrown(write)).toBeInstanceOf(RangeError);
        }
      }),
    );
  });

  test('says what and where', () => {
    const error = thrown(() => encodeTable({ trace: { id: 'ab\udc00c' } }));
    expect((error as Error).message).toBe(
      'headers.trace.id has a lone UTF-16 surrogate at index 2, which UTF-8 cannot encode',
    );
  });

  test('takes paired surrogates (an emoji), ASCII and Latin-1 as before', () => {
    const w = new ByteWriter();
    w.shortstr('🐇 warren', 'name');
    w.shortstr('plain', 'name');
    w.longstr('café 🐇', 'value');
    expect(w.take().toString('latin1')).toContain('plain');
    encodeTable({ '🐇': 'é🐇' });
  });
});

describe('the entities refuse it before sending', () => {
  test('in a queue, exchange or routing key name, a consumer tag, a header, a property', async () => {
    const s = await scriptedConnection();
    const channel = await openChannel(s, 1);
    const queue = await declareQueue(s, channel, 'q');
    const exchange = channel.exchange('');
    const lone = 'half \ud800';
    const attempts: [string, () => Promise<unknown>][] = [
      ['a queue name', () => channel.declareQueue(lone)],
      ['an exchange name', () => channel.declareExchange(lone, 'direct')],
      ['an exchange type', () => channel.declareExchange('x', lone)],
      ['a routing key', () => exchange.publish('body', lone)],
      ['a binding key', () => queue.bind('amq.direct', lone)],
      ['a consumer tag', () => queue.consume(() => {}, { consumerTag: lone })],
      [
        'a header key',
        () => exchange.publish(new Message('body', { headers: { [lone]: 1 } }), 'q'),
      ],
      [
        'a header value',
        () => exchange.publish(new Message('body', { headers: { h: lone } }), 'q'),
      ],
      ['a property', () => exchange.publish(new Message('body', { messageId: lone }), 'q')],
    ];
    for (const [what, attempt] of attempts) {
      const error = await attempt().then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error, what).toBeInstanceOf(RangeError);
      expect((error as Error).message, what).toMatch(/lone UTF-16 surrogate/);
    }
    await expectNothingMore(s);
    expect(channel.isOpen).toBe(true);
  });
});
