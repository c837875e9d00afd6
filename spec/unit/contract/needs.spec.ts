/**
 * What applying a contract declares, without a broker: the pieces each
 * route needs (lib/contract/needs.ts), in the order `apply` declares them.
 */
import { describe, expect, it } from 'vitest';
import {
  defineBinding,
  defineExchange,
  defineExchangeBinding,
  defineQueue,
} from '../../../lib/contract/index.js';
import { type ContractPieces, type Declarations, Needs } from '../../../lib/contract/needs.js';

/** The names in each list of declarations. */
function names(declarations: Declarations) {
  return {
    exchanges: declarations.exchanges.map((exchange) => exchange.name),
    exchangeBindings: declarations.exchangeBindings.map(
      (binding) => `${binding.source.name}->${binding.destination.name}`,
    ),
    queues: declarations.queues.map((queue) => queue.name),
    queueBindings: declarations.queueBindings.map(
      (binding) => `${binding.exchange.name}->${binding.queue.name}`,
    ),
  };
}

// ingress -> orders (exchange to exchange); orders feeds work and audit; work dead-letters to
// dead, which feeds parked, and forwards to alerts (exchange to exchange), which feeds pager.
const ingress = defineExchange('ingress', 'fanout');
const orders = defineExchange('orders', 'topic');
const dead = defineExchange('dead', 'fanout');
const alerts = defineExchange('alerts', 'fanout');
const unrelated = defineExchange('unrelated', 'direct');
const work = defineQueue('work', { deadLetter: { exchange: dead } });
const audit = defineQueue('audit');
const parked = defineQueue('parked');
const pager = defineQueue('pager');
const bindings = [
  defineExchangeBinding(orders, ingress),
  defineBinding(work, orders, 'order.*'),
  defineBinding(audit, orders, '#'),
  defineBinding(parked, dead),
  defineExchangeBinding(alerts, dead),
  defineBinding(pager, alerts),
];
// Pieces as a contract gathers them (defineContract would refuse the partial lists): the
// dead-letter exchanges and their queues are left out, to be reached by reference.
const contract: ContractPieces = {
  exchanges: [ingress, orders, unrelated],
  queues: [work, audit],
  bindings,
};

describe('what a contract needs', () => {
  it('all of it, each piece once, what it refers to included, in declaration order', () => {
    expect(names(Needs.all(contract))).toEqual({
      exchanges: ['ingress', 'orders', 'unrelated', 'dead', 'alerts'],
      exchangeBindings: ['ingress->orders', 'dead->alerts'],
      queues: ['work', 'parked', 'pager', 'audit'],
      queueBindings: ['orders->work', 'dead->parked', 'alerts->pager', 'orders->audit'],
    });
  });

  it('a consumed queue: its bindings and what feeds them, its dead letters and where they land', () => {
    const needs = new Needs(contract);
    needs.queue(work);
    expect(names(needs.declarations())).toEqual({
      exchanges: ['orders', 'ingress', 'dead', 'alerts'],
      exchangeBindings: ['ingress->orders', 'dead->alerts'],
      queues: ['work', 'parked', 'pager'],
      queueBindings: ['orders->work', 'dead->parked', 'alerts->pager'],
    });
  });

  it('an exchange published to: the exchange alone', () => {
    const needs = new Needs(contract);
    needs.exchange(orders);
    expect(names(needs.declarations())).toEqual({
      exchanges: ['orders'],
      exchangeBindings: [],
      queues: [],
      queueBindings: [],
    });
  });

  it('ends on references that loop', () => {
    const a = defineExchange('a', 'fanout');
    const b = defineExchange('b', 'fanout');
    const looping = defineQueue('looping', { deadLetter: { exchange: a } });
    const needs = new Needs({
      exchanges: [],
      queues: [],
      bindings: [
        defineExchangeBinding(a, b),
        defineExchangeBinding(b, a),
        defineBinding(looping, b),
      ],
    });
    needs.queue(looping);
    expect(names(needs.declarations())).toEqual({
      exchanges: ['b', 'a'],
      exchangeBindings: ['a->b', 'b->a'],
      queues: ['looping'],
      queueBindings: ['b->looping'],
    });
  });
});
