/**
 * The checks defineContract runs (lib/contract/check.ts): what it refuses,
 * with a message naming the pieces; what it warns about, in
 * `contract.warnings`; and what it lets through, such as an
 * exchange-binding cycle (RabbitMQ routes through one: see
 * spec/integration/contract-routing.spec.ts) or a route whose reach cannot
 * be told.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type ContractParts, defineContract } from '../../lib/contract/contract.js';
import {
  defineBinding,
  defineConsumer,
  defineExchange,
  defineExchangeBinding,
  defineMessage,
  definePublisher,
  defineQueue,
  defineRpc,
} from '../../lib/contract/model.js';

const orderCreated = defineMessage('order.created', z.object({ id: z.number() }));
const orders = defineExchange('orders', 'topic');
const work = defineQueue('orders.work');

/** The warnings of a contract made of `parts`, as code and part. */
function warningsOf(parts: ContractParts): [string, string][] {
  return defineContract(parts).warnings.map(({ code, part }) => [code, part]);
}

/** The message of the RangeError defineContract throws for `parts`. */
function problemsOf(parts: ContractParts): string {
  try {
    defineContract(parts);
  } catch (error) {
    expect(error).toBeInstanceOf(RangeError);
    return (error as RangeError).message;
  }
  throw new Error('defineContract accepted the parts');
}

describe('a contract that holds together', () => {
  it('is accepted, without warnings, and frozen', () => {
    const contract = defineContract({
      exchanges: { orders },
      queues: { work },
      bindings: [defineBinding(work, orders, 'order.*')],
      publishers: { created: definePublisher(orders, 'order.created', orderCreated) },
      consumers: { process: defineConsumer(work, orderCreated) },
    });
    expect(contract.warnings).toEqual([]);
    expect(Object.isFrozen(contract.warnings)).toBe(true);
  });

  it('takes two equal definitions of one name as one', () => {
    const again = defineExchange('orders', 'topic', { description: 'said again' });
    const queueAgain = defineQueue('orders.work');
    const messageAgain = defineMessage('order.created', z.object({ id: z.number() }));
    const contract = defineContract({
      exchanges: { orders, again },
      queues: { work },
      bindings: [defineBinding(queueAgain, again, '#')],
      publishers: { created: definePublisher(orders, 'order.created', messageAgain) },
      consumers: { process: defineConsumer(work, orderCreated) },
    });
    expect(contract.exchanges).toEqual([orders]);
    expect(contract.queues).toEqual([work]);
    expect(contract.messages).toHaveLength(1);
    expect(contract.messages[0]).toBe(messageAgain);
  });
});

describe('errors', () => {
  it('refuses a part that is not a definition of its kind (TypeError)', () => {
    expect(() => defineContract({ exchanges: { work } } as never)).toThrow(
      new TypeError('defineContract: exchanges.work must be made by defineExchange'),
    );
    expect(() => defineContract({ queues: [] } as never)).toThrow(TypeError);
    expect(() => defineContract({ bindings: [orders] } as never)).toThrow(
      /bindings\[0\] must be made by defineBinding or defineExchangeBinding/,
    );
    expect(() => defineContract({ bindings: {} } as never)).toThrow(/bindings must be an array/);
    expect(() =>
      defineContract({ publishers: { created: defineConsumer(work, orderCreated) } } as never),
    ).toThrow(/publishers\.created must be made by definePublisher/);
  });

  it('refuses a binding to an exchange or queue the contract does not hold', () => {
    const message = problemsOf({
      exchanges: { orders },
      bindings: [
        defineBinding(work, orders, '#'),
        defineBinding(work, defineExchange('x', 'fanout')),
      ],
    });
    expect(message).toContain(
      "bindings[0] uses queue 'orders.work', which is not among the contract's queues",
    );
    expect(message).toContain(
      "bindings[1] uses exchange 'x', which is not among the contract's exchanges",
    );
  });

  it('refuses routes to pieces it does not hold, exchange bindings included', () => {
    const audit = defineExchange('audit', 'fanout');
    const message = problemsOf({
      exchanges: { audit },
      bindings: [defineExchangeBinding(audit, orders)],
      publishers: {
        created: definePublisher(orders, 'order.created', orderCreated),
        direct: definePublisher(work, orderCreated),
      },
      consumers: { process: defineConsumer(work, orderCreated) },
      rpc: { price: defineRpc(defineQueue('price'), orderCreated, orderCreated) },
    });
    for (const part of [
      "bindings[0] uses exchange 'orders'",
      "publishers.created uses exchange 'orders'",
      "publishers.direct uses queue 'orders.work'",
      "consumers.process uses queue 'orders.work'",
      "rpc.price uses queue 'price'",
    ]) {
      expect(message).toContain(part);
    }
  });

  it('refuses a dead-letter or alternate exchange it does not hold', () => {
    const dead = defineExchange('dead', 'fanout');
    const message = problemsOf({
      exchanges: {
        front: defineExchange('front', 'direct', { arguments: { 'alternate-exchange': 'other' } }),
      },
      queues: {
        work: defineQueue('work', { deadLetter: { exchange: dead } }),
        raw: defineQueue('raw', { arguments: { 'x-dead-letter-exchange': 'elsewhere' } }),
      },
    });
    expect(message).toContain(
      "queue 'work' dead-letters to 'dead', which is not among the contract's exchanges",
    );
    expect(message).toContain("queue 'raw' dead-letters to 'elsewhere'");
    expect(message).toContain("exchange 'front' has the alternate exchange 'other'");
  });

  it('refuses two definitions of one name that disagree, naming what differs and where', () => {
    const direct = defineExchange('orders', 'direct', { durable: false });
    const quorum = defineQueue('orders.work', { type: 'quorum' });
    const message = problemsOf({
      exchanges: { orders, direct },
      queues: { work },
      bindings: [defineBinding(quorum, orders)],
    });
    expect(message).toContain(
      "exchange 'orders' has two definitions that disagree on type, durable (at exchanges.orders and exchanges.direct)",
    );
    expect(message).toContain(
      "queue 'orders.work' has two definitions that disagree on arguments (at queues.work and bindings[0])",
    );
  });

  it('refuses a dead-letter exchange that disagrees with the contract’s of its name', () => {
    const dead = defineExchange('dead', 'fanout');
    const work = defineQueue('work', { deadLetter: { exchange: defineExchange('dead', 'topic') } });
    expect(problemsOf({ exchanges: { dead }, queues: { work } })).toContain(
      "exchange 'dead' has two definitions that disagree on type (at exchanges.dead and queues.work.deadLetter)",
    );
  });

  it('refuses two messages of one name with different schemas', () => {
    const other = defineMessage('order.created', z.object({ id: z.string() }));
    expect(
      problemsOf({
        messages: { orderCreated },
        publishers: { created: definePublisher(work, other) },
        queues: { work },
      }),
    ).toContain(
      "message 'order.created' has two definitions that disagree on schema (at messages.orderCreated and publishers.created)",
    );
  });

  it('refuses two messages of one name whose schemas cannot be told equal (transforms)', () => {
    const schema = () => z.object({ at: z.string().transform((text) => new Date(text)) });
    const first = defineMessage('stamped', schema());
    const second = defineMessage('stamped', schema());
    expect(problemsOf({ messages: { first, second } })).toMatch(
      /'stamped'.*agreeing cannot be told/,
    );
    // The same definition, shared, is fine.
    expect(defineContract({ messages: { first, again: first } }).messages).toEqual([first]);
  });

  it('refuses a publisher to an internal exchange, and a headers binding RabbitMQ refuses', () => {
    const inner = defineExchange('inner', 'headers', { internal: true });
    const message = problemsOf({
      exchanges: { inner },
      queues: { work },
      bindings: [defineBinding(work, inner, '', { arguments: { 'x-match': 'some' } })],
      publishers: { created: definePublisher(inner, '', orderCreated) },
    });
    expect(message).toContain(
      "publishers.created publishes to exchange 'inner', which is internal",
    );
    expect(message).toContain(`bindings[0] has x-match "some"`);
  });

  it('lists every problem in one error', () => {
    const message = problemsOf({
      bindings: [defineBinding(work, orders)],
      consumers: { process: defineConsumer(defineQueue('other'), orderCreated) },
    });
    expect(message.split('\n  - ')).toHaveLength(4);
    expect(message).toMatch(/^defineContract: the contract does not hold together:/);
  });
});

describe('warnings', () => {
  it('warns of a publisher whose key reaches no queue of the contract', () => {
    expect(
      warningsOf({
        exchanges: { orders },
        queues: { work },
        bindings: [defineBinding(work, orders, 'order.*')],
        publishers: {
          created: definePublisher(orders, 'order.created', orderCreated),
          paid: definePublisher(orders, 'invoice.paid', orderCreated),
        },
      }),
    ).toEqual([['PUBLISHER_UNROUTED', 'publishers.paid']]);
    const [warning] = defineContract({
      exchanges: { orders },
      publishers: { paid: definePublisher(orders, 'invoice.paid', orderCreated) },
    }).warnings;
    expect(warning?.message).toBe(
      "publishers.paid: routing key 'invoice.paid' on topic exchange 'orders' reaches no queue of the contract; RabbitMQ drops its messages unless another service binds a queue",
    );
  });

  it('follows exchange bindings, cycles and alternate exchanges before warning', () => {
    const audit = defineExchange('audit', 'fanout');
    const front = defineExchange('front', 'direct', {
      arguments: { 'alternate-exchange': 'audit' },
    });
    expect(
      warningsOf({
        exchanges: { orders, audit, front },
        queues: { work },
        bindings: [
          defineExchangeBinding(audit, orders, 'order.#'),
          defineExchangeBinding(orders, audit),
          defineBinding(work, audit),
        ],
        publishers: {
          created: definePublisher(orders, 'order.created', orderCreated),
          unmatched: definePublisher(front, 'anything', orderCreated),
          missed: definePublisher(orders, 'invoice.paid', orderCreated),
        },
      }),
    ).toEqual([['PUBLISHER_UNROUTED', 'publishers.missed']]);
  });

  it('does not warn when routing cannot be told: header matches, a plugin type', () => {
    const tagged = defineExchange('tagged', 'headers');
    const hashed = defineExchange('hashed', 'x-consistent-hash');
    expect(
      warningsOf({
        exchanges: { tagged, hashed },
        queues: { work },
        bindings: [
          defineBinding(work, tagged, '', { arguments: { kind: 'order' } }),
          defineBinding(work, hashed, '1'),
        ],
        publishers: {
          tagged: definePublisher(tagged, '', orderCreated),
          hashed: definePublisher(hashed, 'key', orderCreated),
        },
      }),
    ).toEqual([]);
    // A headers exchange whose only binding can never match reaches nothing, for certain.
    expect(
      warningsOf({
        exchanges: { tagged },
        queues: { work },
        bindings: [defineBinding(work, tagged, '', { arguments: { 'x-match': 'any' } })],
        publishers: { tagged: definePublisher(tagged, '', orderCreated) },
      }),
    ).toEqual([['PUBLISHER_UNROUTED', 'publishers.tagged']]);
  });

  it('warns of a dead-letter exchange that reaches no queue, with its fixed key or any', () => {
    const dead = defineExchange('dead', 'direct');
    const parked = defineQueue('parked');
    const unbound = defineQueue('a', { deadLetter: { exchange: dead } });
    const wrongKey = defineQueue('b', { deadLetter: { exchange: dead, routingKey: 'wrong' } });
    const rightKey = defineQueue('c', { deadLetter: { exchange: dead, routingKey: 'parked' } });
    expect(warningsOf({ exchanges: { dead }, queues: { unbound } })).toEqual([
      ['DEAD_LETTER_UNROUTED', 'queues.unbound'],
    ]);
    expect(
      warningsOf({
        exchanges: { dead },
        queues: { wrongKey, rightKey, unbound, parked },
        bindings: [defineBinding(parked, dead, 'parked')],
      }),
    ).toEqual([['DEAD_LETTER_UNROUTED', 'queues.wrongKey']]);
    expect(defineContract({ exchanges: { dead }, queues: { wrongKey } }).warnings[0]?.message).toBe(
      "queues.wrongKey: queue 'b' dead-letters to 'dead', which reaches no queue of the contract with routing key 'wrong'; its dead letters are dropped",
    );
  });

  it('checks where retries send what runs out of them, as a dead-letter setting', () => {
    const parking = defineExchange('parking', 'direct');
    const retried = defineQueue('retried', {
      retry: { delays: [1_000], deadLetter: { exchange: 'parking', routingKey: 'late' } },
    });
    expect(problemsOf({ queues: { retried } })).toContain(
      "queue 'retried' sends messages out of retries to 'parking', which is not among the contract's exchanges",
    );
    expect(warningsOf({ exchanges: { parking }, queues: { retried } })).toEqual([
      ['DEAD_LETTER_UNROUTED', 'queues.retried'],
    ]);
    const parked = defineQueue('parked');
    expect(
      warningsOf({
        exchanges: { parking },
        queues: { retried, parked },
        bindings: [defineBinding(parked, parking, 'late')],
      }),
    ).toEqual([]);
  });

  it('warns of a publisher whose messages reach a consumer that does not take their kind', () => {
    const orderCancelled = defineMessage('order.cancelled', z.object({ id: z.number() }));
    const refunds = defineQueue('refunds');
    expect(
      warningsOf({
        exchanges: { orders },
        queues: { work, refunds },
        bindings: [defineBinding(work, orders, 'order.#'), defineBinding(refunds, orders, '#')],
        publishers: {
          created: definePublisher(orders, 'order.created', orderCreated),
          cancelled: definePublisher(orders, 'order.cancelled', orderCancelled),
          direct: definePublisher(refunds, orderCreated),
        },
        consumers: {
          process: defineConsumer(work, [orderCreated]),
          refund: defineConsumer(refunds, orderCancelled),
        },
      }),
    ).toEqual([
      ['MESSAGE_UNHANDLED', 'publishers.created'],
      ['MESSAGE_UNHANDLED', 'publishers.cancelled'],
      ['MESSAGE_UNHANDLED', 'publishers.direct'],
    ]);
    const [warning] = defineContract({
      queues: { work },
      publishers: { cancelled: definePublisher(work, orderCancelled) },
      consumers: { process: defineConsumer(work, orderCreated) },
    }).warnings;
    expect(warning?.message).toBe(
      "publishers.cancelled: its 'order.cancelled' messages reach queue 'orders.work', whose consumer consumers.process takes only 'order.created'",
    );
  });

  it('warns of a consumer whose queue nothing routes to, once per queue', () => {
    const fed = defineQueue('fed');
    const requests = defineQueue('requests');
    const dead = defineQueue('dead');
    const source = defineQueue('source', {
      arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dead' },
    });
    expect(
      warningsOf({
        queues: { work, fed, requests, dead, source },
        publishers: { feed: definePublisher(fed, orderCreated) },
        consumers: {
          first: defineConsumer(work, orderCreated),
          second: defineConsumer(work, orderCreated),
          fed: defineConsumer(fed, orderCreated),
          server: defineConsumer(requests, orderCreated),
          dead: defineConsumer(dead, orderCreated),
        },
        rpc: { ask: defineRpc(requests, orderCreated, orderCreated) },
      }),
    ).toEqual([['QUEUE_UNREACHED', 'consumers.first']]);
  });
});
