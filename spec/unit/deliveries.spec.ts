/**
 * The channel's delivery bookkeeping (lib/deliveries.ts) against a model:
 * for any sequence of deliveries, settlements, transactions, recovers and
 * closes, the deliveries the broker would consider unacknowledged are exactly
 * those the application has not settled, and no frame ever names a tag the
 * broker does not hold (RabbitMQ closes the channel with 406 for that).
 *
 * The broker side is simulated as RabbitMQ behaves: an ack, nack or reject
 * takes its tags out of the unacknowledged set at once, also in a transaction
 * (a rollback puts them back, a commit makes it final); `multiple` covers
 * every unacknowledged tag up to its own; `basic.recover` requeues them all;
 * a closed channel requeues them all, and the next channel numbers its
 * deliveries from 1 again.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Delivery, DeliveryLedger, type Settlement } from '../../lib/deliveries.js';

/** A received message as the application sees it: settled at most once, as IncomingMessage does. */
class TestMessage implements Delivery {
  settledAs: string | null = null;
  constructor(
    readonly deliveryTag: number,
    readonly epoch: number,
  ) {}
  markSettled(): void {
    this.settledAs ??= 'multiple';
  }
  unsettle(): void {
    this.settledAs = null;
  }
}

/** The broker's view of one channel, fed the frames the client sends. */
class SimulatedBroker {
  unacked = new Set<number>();
  /** Tags settled inside the open transaction: back to unacked on rollback. */
  txSettled: number[] = [];
  inTx = false;
  /** The channel's run of acks not yet written: its highest tag, or 0. */
  runTag = 0;

  deliver(tag: number): void {
    this.unacked.add(tag);
  }

  run(tag: number): void {
    expect(this.unacked.has(tag), `ack run with unknown tag ${tag}`).toBe(true);
    this.runTag = tag;
  }

  /** The engine writes the run (one multiple-ack) before anything else, and at the end of a turn. */
  flush(): void {
    if (this.runTag === 0) return;
    const tag = this.runTag;
    this.runTag = 0;
    this.frame(tag, true);
  }

  /** basic.ack / nack / reject of `tag`; `multiple` covers every unacknowledged tag up to it. */
  frame(tag: number, multiple: boolean): void {
    expect(this.unacked.has(tag), `settlement of unknown delivery tag ${tag}`).toBe(true);
    const covered = multiple ? [...this.unacked].filter((t) => t <= tag) : [tag];
    for (const t of covered) {
      this.unacked.delete(t);
      if (this.inTx) this.txSettled.push(t);
    }
  }

  /** What the broker holds once the pending run is written. */
  effectiveUnacked(): number[] {
    return [...this.unacked].filter((t) => t > this.runTag).sort((a, b) => a - b);
  }

  commit(): void {
    this.txSettled = [];
  }

  rollback(): void {
    for (const t of this.txSettled) this.unacked.add(t);
    this.txSettled = [];
  }

  /** basic.recover or a closed channel: everything unacknowledged goes back to its queue. */
  requeueAll(): void {
    this.unacked.clear();
    this.txSettled = [];
  }
}

type Op =
  | { op: 'deliver'; noAck: boolean }
  | {
      op: 'settle';
      pick: number;
      kind: Settlement['kind'];
      multiple: boolean;
      requeue: boolean;
    }
  | { op: 'turn' }
  | { op: 'recover' }
  | { op: 'txSelect' }
  | { op: 'txCommit' }
  | { op: 'txRollback' }
  | { op: 'close' };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('deliver'), noAck: fc.boolean() }) },
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant('settle'),
      pick: fc.nat(),
      kind: fc.constantFrom('ack', 'ack', 'nack', 'reject'),
      multiple: fc.boolean(),
      requeue: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ op: 'turn' }) },
  { weight: 1, arbitrary: fc.constant({ op: 'recover' }) },
  { weight: 1, arbitrary: fc.constant({ op: 'txSelect' }) },
  { weight: 1, arbitrary: fc.constant({ op: 'txCommit' }) },
  { weight: 1, arbitrary: fc.constant({ op: 'txRollback' }) },
  { weight: 1, arbitrary: fc.constant({ op: 'close' }) },
) as fc.Arbitrary<Op>;

function settlementOf(op: Extract<Op, { op: 'settle' }>): Settlement {
  if (op.kind === 'ack') return { kind: 'ack', multiple: op.multiple };
  if (op.kind === 'nack') return { kind: 'nack', multiple: op.multiple, requeue: op.requeue };
  return { kind: 'reject', requeue: op.requeue };
}

/** Runs `ops` through the ledger and the simulated broker, checking the model after each. */
function run(ops: readonly Op[], compactAfter?: number): void {
  const ledger = new DeliveryLedger<TestMessage>(compactAfter);
  const broker = new SimulatedBroker();
  /** Every message the application received (with ack), in order, across channel epochs. */
  const received: TestMessage[] = [];
  let epoch = 0;
  let nextTag = 1;
  let inTx = false;

  for (const step of ops) {
    switch (step.op) {
      case 'deliver': {
        const tag = nextTag++;
        // A no-ack delivery takes a tag, but nobody settles it and the broker holds nothing.
        if (step.noAck) break;
        const message = new TestMessage(tag, epoch);
        broker.deliver(tag);
        ledger.track(message);
        received.push(message);
        break;
      }
      case 'settle': {
        if (received.length === 0) break;
        const message = received[step.pick % received.length] as TestMessage;
        // IncomingMessage refuses a second settlement and sends nothing.
        if (message.settledAs !== null) break;
        message.settledAs = step.kind;
        const settlement = settlementOf(step);
        const multiple = settlement.kind !== 'reject' && settlement.multiple;
        const action = ledger.settle(message, settlement);
        if (message.epoch !== epoch) {
          expect(action).toBe('stale');
        } else if (action === 'run') {
          expect(inTx).toBe(false);
          broker.run(message.deliveryTag);
        } else {
          expect(action).toBe('send');
          broker.flush();
          broker.frame(message.deliveryTag, multiple);
        }
        break;
      }
      case 'turn':
        broker.flush();
        break;
      case 'recover':
        // Left out inside a transaction: what RabbitMQ does with acks pending in one is not modelled.
        if (inTx) break;
        broker.flush();
        broker.requeueAll();
        ledger.recovered();
        for (const message of received) if (message.epoch === epoch) message.markSettled();
        break;
      case 'txSelect':
        if (inTx) break;
        broker.flush();
        broker.inTx = true;
        inTx = true;
        ledger.beginTransaction();
        break;
      case 'txCommit':
        if (!inTx) break;
        broker.flush();
        broker.commit();
        ledger.beginTransaction();
        break;
      case 'txRollback': {
        if (!inTx) break;
        broker.flush();
        const undone = new Set(broker.txSettled);
        broker.rollback();
        ledger.rolledBack();
        // The application may settle again the messages the broker holds again (and the end-of-step
        // check below finds any other message that became settleable).
        for (const message of received) {
          if (message.epoch === epoch && undone.has(message.deliveryTag)) {
            expect(message.settledAs, `message ${message.deliveryTag}`).toBeNull();
          }
        }
        break;
      }
      case 'close':
        // The connection recovers: a new channel, in the same transaction mode, tags from 1.
        broker.runTag = 0;
        broker.requeueAll();
        ledger.clear();
        if (inTx) ledger.beginTransaction();
        epoch++;
        nextTag = 1;
        break;
    }
    const unsettled = received
      .filter((message) => message.epoch === epoch && message.settledAs === null)
      .map((message) => message.deliveryTag);
    expect(broker.effectiveUnacked()).toEqual(unsettled);
    expect(ledger.size).toBe(unsettled.length);
  }
}

const ACK = { kind: 'ack', multiple: false } as const;

/** Acks each of `messages` in turn; what the ledger said to send for each. */
const ackEach = (ledger: DeliveryLedger<TestMessage>, messages: readonly TestMessage[]) =>
  messages.map((message) => ledger.settle(message, ACK));

describe('DeliveryLedger against a model of the broker', () => {
  it('leaves unacknowledged exactly what the application has not settled, for any sequence', () => {
    fc.assert(
      fc.property(fc.array(opArbitrary, { maxLength: 80 }), (ops) => run(ops)),
      { numRuns: 2000 },
    );
  });

  it('stays exact when it drops settled tags from its order (compacting after every 2)', () => {
    fc.assert(
      fc.property(fc.array(opArbitrary, { maxLength: 120 }), (ops) => run(ops, 2)),
      { numRuns: 2000 },
    );
  });

  it('keeps the oldest unsettled delivery when it drops the settled ones before it', () => {
    const ledger = new DeliveryLedger<TestMessage>(2);
    const messages = Array.from({ length: 6 }, (_, i) => new TestMessage(i + 1, 0));
    for (const message of messages) ledger.track(message);
    for (const message of messages.slice(0, 3)) {
      expect(ledger.settle(message, ACK)).toBe('run');
    }
    // 4 is now the oldest: acking 5 first is no run (a multiple-ack of 5 would ack 4 too).
    expect(ledger.settle(messages[4] as TestMessage, ACK)).toBe('send');
    expect(ledger.settle(messages[3] as TestMessage, ACK)).toBe('run');
  });

  it('finds deliveries whose tags have gaps (no-ack deliveries between them)', () => {
    const ledger = new DeliveryLedger<TestMessage>();
    const messages = [1, 3, 4, 7, 8, 9].map((tag) => new TestMessage(tag, 0));
    for (const message of messages) ledger.track(message);
    const [one, three, four, seven, eight, nine] = messages as [
      TestMessage,
      TestMessage,
      TestMessage,
      TestMessage,
      TestMessage,
      TestMessage,
    ];
    expect(ledger.settle(four, { kind: 'reject', requeue: true })).toBe('send');
    expect(ledger.settle(eight, ACK)).toBe('send');
    expect(ledger.has(three) && ledger.has(seven) && ledger.has(nine)).toBe(true);
    expect(ledger.has(new TestMessage(2, 0))).toBe(false);
    expect(ledger.settle(one, ACK)).toBe('run');
    expect(ledger.settle(three, ACK)).toBe('run');
    expect(ledger.settle(seven, ACK)).toBe('run');
    expect(ledger.settle(nine, ACK)).toBe('run');
    expect(ledger.size).toBe(0);
  });

  it('finds the oldest delivery behind thousands settled out of order', () => {
    const ledger = new DeliveryLedger<TestMessage>();
    const messages = Array.from({ length: 5000 }, (_, i) => new TestMessage(i + 1, 0));
    for (const message of messages) ledger.track(message);
    // Everything but the first is rejected, then the first is acked: a run of one.
    for (const message of messages.slice(1)) {
      expect(ledger.settle(message, { kind: 'reject', requeue: false })).toBe('send');
    }
    expect(ledger.settle(messages[0] as TestMessage, ACK)).toBe('run');
    // The next ones are acked in order again, as runs.
    const later = Array.from({ length: 3 }, (_, i) => new TestMessage(5001 + i, 0));
    for (const message of later) ledger.track(message);
    expect(ackEach(ledger, later)).toEqual(['run', 'run', 'run']);
    expect(ledger.size).toBe(0);
  });

  it('acks of the oldest deliveries, in order, go out as one run', () => {
    const ledger = new DeliveryLedger<TestMessage>();
    const messages = [1, 2, 3].map((tag) => new TestMessage(tag, 0));
    for (const message of messages) ledger.track(message);
    expect(ackEach(ledger, messages)).toEqual(['run', 'run', 'run']);
    expect(ledger.size).toBe(0);
  });

  it('an ack out of order is sent on its own, and so is every ack in a transaction', () => {
    const ledger = new DeliveryLedger<TestMessage>();
    const [first, second] = [1, 2].map((tag) => new TestMessage(tag, 0)) as [
      TestMessage,
      TestMessage,
    ];
    ledger.track(first);
    ledger.track(second);
    expect(ledger.settle(second, ACK)).toBe('send');
    ledger.beginTransaction();
    expect(ledger.settle(first, ACK)).toBe('send');
  });

  it('a delivery from before a close is stale, even when a new one has its tag', () => {
    const ledger = new DeliveryLedger<TestMessage>();
    const old = new TestMessage(1, 0);
    ledger.track(old);
    ledger.clear();
    const fresh = new TestMessage(1, 1);
    ledger.track(fresh);
    expect(ledger.has(old)).toBe(false);
    expect(ledger.settle(old, ACK)).toBe('stale');
    expect(ledger.settle(fresh, ACK)).toBe('run');
  });

  it('a rollback makes the settled deliveries settleable again, in tag order', () => {
    const ledger = new DeliveryLedger<TestMessage>();
    const messages = [1, 2, 3].map((tag) => new TestMessage(tag, 0));
    for (const message of messages) ledger.track(message);
    ledger.beginTransaction();
    const [first, second, third] = messages as [TestMessage, TestMessage, TestMessage];
    second.settledAs = 'ack';
    expect(ledger.settle(second, { kind: 'ack', multiple: true })).toBe('send');
    expect(first.settledAs).toBe('multiple');
    ledger.rolledBack();
    expect([first.settledAs, second.settledAs, third.settledAs]).toEqual([null, null, null]);
    expect(ledger.size).toBe(3);
    expect(messages.every((message) => ledger.has(message))).toBe(true);
  });
});
