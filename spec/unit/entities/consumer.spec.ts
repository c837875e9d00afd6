/**
 * The consumer's rules (lib/consumer.ts), against a scripted broker reached
 * through `connect()`: how the pump hands messages to the handler, how
 * messages are settled, what each failure policy sends, how a consumer stops
 * (by `cancel()` or by the broker), and what happens to messages that do not
 * match the queue's schema. Assertions are on the frames the broker receives
 * and on the public API only.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  type Consumer,
  type FailurePolicy,
  type IncomingMessage,
  MessageValidationError,
  type Queue,
} from '../../../lib/index.js';
import { nextTurn, settle, track } from '../../support/scripted-peer.js';
import {
  acceptReconnect,
  brokerBarrier,
  cancelConsumer,
  captureWarnings,
  consume,
  declareQueue,
  deferred,
  deliver,
  describeFrame,
  encodeDelivery,
  expectNothingMore,
  expectSettled,
  openChannel,
  type Scripted,
  scriptedConnection,
  teardown,
  until,
  within,
} from './harness.js';

afterEach(teardown);

async function setup(): Promise<{ s: Scripted; queue: Queue }> {
  const s = await scriptedConnection();
  const channel = await openChannel(s, 1);
  const queue = await declareQueue(s, channel, 'q');
  return { s, queue };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** What one message's handler does: how many turns it takes, and how it ends. */
interface Step {
  readonly turns: number;
  /** `resolve`/`reject`: an async handler; `return`/`throw`: a synchronous one. */
  readonly end: 'resolve' | 'reject' | 'return' | 'throw';
  readonly redelivered: boolean;
}

const step: fc.Arbitrary<Step> = fc.record({
  turns: fc.nat(4),
  end: fc.constantFrom('resolve', 'reject', 'return', 'throw'),
  redelivered: fc.boolean(),
});

/** Runs the steps as one consumer's handler and records what ran when. */
function scriptedHandler(plan: Map<number, Step>) {
  const record = { running: 0, max: 0, started: [] as number[], events: [] as string[] };
  const handler = (message: IncomingMessage): void | Promise<void> => {
    const tag = message.deliveryTag;
    const { turns, end } = plan.get(tag) as Step;
    record.running++;
    record.max = Math.max(record.max, record.running);
    record.started.push(tag);
    record.events.push(`start ${tag}`);
    const done = (): void => {
      record.running--;
      record.events.push(`end ${tag}`);
    };
    if (end === 'return') return done();
    if (end === 'throw') {
      done();
      throw new Error(`handler ${tag} failed`);
    }
    return (async () => {
      for (let i = 0; i < turns; i++) await nextTurn();
      done();
      if (end === 'reject') throw new Error(`handler ${tag} failed`);
    })();
  };
  return { handler, record };
}

/** With `settle: 'auto'` and the default policy: acked on success, else retried once. */
function expectedOutcome(step: Step): string {
  if (step.end === 'resolve' || step.end === 'return') return 'ack';
  return step.redelivered ? 'drop' : 'requeue';
}

/** One run of the pump property: a consumer of `concurrency` gets `steps`, one message each. */
async function runPump(
  s: Scripted,
  queue: Queue,
  concurrency: number,
  steps: readonly Step[],
  firstTag: number,
): Promise<ReturnType<typeof scriptedHandler>['record']> {
  const tags = steps.map((_, i) => firstTag + i);
  const plan = new Map(tags.map((tag, i) => [tag, steps[i] as Step]));
  const { handler, record } = scriptedHandler(plan);
  const consumer = await consume(s, queue, handler, { settle: 'auto', concurrency });
  consumer.on('error', () => {});
  for (const tag of tags) {
    const { redelivered } = plan.get(tag) as Step;
    encodeDelivery(s.peer, 1, consumer.tag, tag, { redelivered });
  }
  s.peer.flush();
  const outcomes = await expectSettled(s.peer, 1, tags);
  expect(outcomes).toEqual(
    new Map(tags.map((tag) => [tag, expectedOutcome(plan.get(tag) as Step)])),
  );
  await cancelConsumer(s, consumer);
  expect(record.running).toBe(0);
  expect(consumer.active).toBe(0);
  // Whatever the concurrency, handlers start in delivery order.
  expect(record.started).toEqual(tags);
  return record;
}

/** How many frames deep the caller runs, counted up to 200 (enough to see a stack grow). */
function stackDepth(): number {
  const { stackTraceLimit, prepareStackTrace } = Error;
  Error.stackTraceLimit = 200;
  // Count the call sites rather than format them: formatting (source maps) is slow.
  Error.prepareStackTrace = (_, callSites) => callSites.length;
  try {
    return new Error().stack as unknown as number;
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
    Error.prepareStackTrace = prepareStackTrace;
  }
}

describe('the pump', () => {
  it('with concurrency 1, runs one handler at a time, in delivery order (property)', async () => {
    const { s, queue } = await setup();
    let nextTag = 1;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        const first = nextTag;
        nextTag += steps.length;
        const record = await runPump(s, queue, 1, steps, first);
        expect(record.max).toBe(1);
        expect(record.events).toEqual(
          range(first, nextTag - 1).flatMap((tag) => [`start ${tag}`, `end ${tag}`]),
        );
      }),
      { numRuns: 40 },
    );
  });

  it('with concurrency N, never runs more than N handlers at once (property)', async () => {
    const { s, queue } = await setup();
    let nextTag = 1;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.array(step, { minLength: 1, maxLength: 20 }),
        async (concurrency, steps) => {
          const first = nextTag;
          nextTag += steps.length;
          const record = await runPump(s, queue, concurrency, steps, first);
          expect(record.max).toBeLessThanOrEqual(concurrency);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('with concurrency N, starts N handlers at once and the next as soon as one ends', async () => {
    const { s, queue } = await setup();
    const gates = new Map(range(1, 5).map((tag) => [tag, deferred()]));
    const started: number[] = [];
    const consumer = await consume(
      s,
      queue,
      (message) => {
        started.push(message.deliveryTag);
        return gates.get(message.deliveryTag)?.promise;
      },
      { settle: 'auto', concurrency: 3 },
    );
    deliver(s, consumer, range(1, 5));
    expect(await brokerBarrier(s, 1)).toEqual([]);
    expect(started).toEqual([1, 2, 3]);
    expect(consumer.active).toBe(3);
    gates.get(2)?.resolve();
    expect(await s.peer.expectMethod('basic.ack', 1)).toEqual({ deliveryTag: 2, multiple: false });
    expect(started).toEqual([1, 2, 3, 4]);
    expect(consumer.active).toBe(3);
    for (const gate of gates.values()) gate.resolve();
    await expectSettled(s.peer, 1, [1, 3, 4, 5]);
    expect(started).toEqual([1, 2, 3, 4, 5]);
  });

  it('runs a long backlog through a synchronous handler without growing the stack', async () => {
    const { s, queue } = await setup();
    const gate = deferred();
    const depths: number[] = [];
    const consumer = await consume(
      s,
      queue,
      (message) => {
        if (message.deliveryTag === 1) return gate.promise;
        depths.push(stackDepth());
        return undefined;
      },
      { settle: 'auto' },
    );
    const backlog = range(2, 2001);
    deliver(s, consumer, [1, ...backlog]);
    // Every delivery has arrived and waits behind the first handler.
    expect(await brokerBarrier(s, 1)).toEqual([]);
    gate.resolve();
    const outcomes = await expectSettled(s.peer, 1, [1, ...backlog]);
    expect(new Set(outcomes.values())).toEqual(new Set(['ack']));
    expect(depths).toHaveLength(backlog.length);
    expect(Math.max(...depths)).toBeLessThan(150);
    expect(Math.max(...depths) - Math.min(...depths)).toBeLessThan(5);
  });
});

describe('settling', () => {
  it("with settle: 'auto', acks once the handler resolves", async () => {
    const { s, queue } = await setup();
    const gate = deferred();
    const consumer = await consume(s, queue, () => gate.promise, { settle: 'auto' });
    deliver(s, consumer, [1]);
    await brokerBarrier(s, 1);
    await expectNothingMore(s);
    gate.resolve();
    expect(await s.peer.expectMethod('basic.ack', 1)).toEqual({ deliveryTag: 1, multiple: false });
    await expectNothingMore(s);
  });

  it.each([
    ['ack()', (m: IncomingMessage) => m.ack(), 'basic.ack', { deliveryTag: 1, multiple: false }],
    [
      'nack()',
      (m: IncomingMessage) => m.nack(),
      'basic.nack',
      { deliveryTag: 1, multiple: false, requeue: true },
    ],
    [
      'reject({ requeue: false })',
      (m: IncomingMessage) => m.reject({ requeue: false }),
      'basic.reject',
      { deliveryTag: 1, requeue: false },
    ],
  ] as const)(
    "with settle: 'auto', sends only the handler's own %s",
    async (_, settleIt, name, args) => {
      const { s, queue } = await setup();
      const consumer = await consume(
        s,
        queue,
        async (message) => {
          settleIt(message);
          await nextTurn();
        },
        { settle: 'auto' },
      );
      deliver(s, consumer, [1]);
      expect(await s.peer.expectMethod(name, 1)).toEqual(args);
      await expectNothingMore(s);
    },
  );

  it("with settle: 'manual' (the default), sends nothing for a handler that does not settle", async () => {
    const { s, queue } = await setup();
    const handled: number[] = [];
    const consumer = await consume(s, queue, (message) => {
      handled.push(message.deliveryTag);
    });
    deliver(s, consumer, [1, 2]);
    await until(() => handled.length === 2);
    await expectNothingMore(s);
  });

  it("with noAck, settle: 'auto' sends nothing", async () => {
    const { s, queue } = await setup();
    const handled: boolean[] = [];
    const consumer = await consume(
      s,
      queue,
      (message) => {
        handled.push(message.settled);
      },
      { settle: 'auto', noAck: true },
    );
    deliver(s, consumer, [1, 2]);
    await until(() => handled.length === 2);
    expect(handled).toEqual([true, true]);
    await expectNothingMore(s);
  });
});

describe('failure policies', () => {
  const chooseRequeue: FailurePolicy = () => 'requeue';
  const chooseDeadLetter: FailurePolicy = () => 'dead-letter';
  const throwing: FailurePolicy = () => {
    throw new Error('the policy itself failed');
  };
  // [name, policy, redelivered, requeue]
  const table: [string, FailurePolicy | undefined, boolean, boolean][] = [
    ['the default', undefined, false, true],
    ['the default', undefined, true, false],
    ["'retry-once'", 'retry-once', false, true],
    ["'retry-once'", 'retry-once', true, false],
    ["'requeue'", 'requeue', false, true],
    ["'requeue'", 'requeue', true, true],
    ["'dead-letter'", 'dead-letter', false, false],
    ["'dead-letter'", 'dead-letter', true, false],
    ["a function choosing 'requeue'", chooseRequeue, true, true],
    ["a function choosing 'dead-letter'", chooseDeadLetter, false, false],
    ['a throwing function (falls back to retry-once)', throwing, false, true],
    ['a throwing function (falls back to retry-once)', throwing, true, false],
  ];
  const cases = table.flatMap(([name, policy, redelivered, requeue]) =>
    (['manual', 'auto'] as const).flatMap((mode) =>
      (['throws', 'rejects'] as const).map(
        (how) => [name, redelivered, how, mode, requeue, policy] as const,
      ),
    ),
  );

  it.each(cases)(
    '%s, redelivered %s: a handler that %s (settle %s) is rejected with requeue %s',
    async (_, redelivered, how, mode, requeue, policy) => {
      const { s, queue } = await setup();
      const failure = new Error('handler failed');
      const chosen: unknown[][] = [];
      const onFailure: FailurePolicy | undefined =
        typeof policy === 'function'
          ? (error, message) => {
              chosen.push([error, message]);
              return policy(error, message);
            }
          : policy;
      const warnings = captureWarnings('WARREN_CALLBACK_THREW');
      try {
        const consumer = await consume(
          s,
          queue,
          how === 'throws'
            ? () => {
                throw failure;
              }
            : async () => {
                await nextTurn();
                throw failure;
              },
          { settle: mode, ...(onFailure === undefined ? {} : { onFailure }) },
        );
        const errors: [unknown, IncomingMessage][] = [];
        consumer.on('error', (error, message) => errors.push([error, message]));
        deliver(s, consumer, [1], { redelivered });
        expect(await s.peer.expectMethod('basic.reject', 1)).toEqual({ deliveryTag: 1, requeue });
        await expectNothingMore(s);
        expect(errors).toHaveLength(1);
        expect(errors[0]?.[0]).toBe(failure);
        expect(errors[0]?.[1].deliveryTag).toBe(1);
        expect(errors[0]?.[1].redelivered).toBe(redelivered);
        if (typeof policy === 'function') {
          expect(chosen).toEqual([[failure, errors[0]?.[1]]]);
        }
        await settle();
        expect(warnings.warnings).toHaveLength(policy === throwing ? 1 : 0);
      } finally {
        warnings.stop();
      }
    },
  );

  it('leaves a message the handler settled before it failed alone, and still reports the error', async () => {
    const { s, queue } = await setup();
    const consumer = await consume(
      s,
      queue,
      (message) => {
        message.nack({ requeue: false });
        throw new Error('after settling');
      },
      { settle: 'auto', onFailure: 'requeue' },
    );
    const errors: unknown[] = [];
    consumer.on('error', (error) => errors.push(error));
    deliver(s, consumer, [1]);
    expect(await s.peer.expectMethod('basic.nack', 1)).toEqual({
      deliveryTag: 1,
      multiple: false,
      requeue: false,
    });
    await expectNothingMore(s);
    expect(errors).toHaveLength(1);
  });

  it.each(['throws', 'rejects'] as const)(
    'a handler that %s a MessageValidationError: the message is invalid, never retried, whatever onFailure says',
    async (how) => {
      const { s, queue } = await setup();
      const refusal = new MessageValidationError('the handler refused it', []);
      const consumer = await consume(
        s,
        queue,
        how === 'throws'
          ? () => {
              throw refusal;
            }
          : async () => {
              await nextTurn();
              throw refusal;
            },
        { settle: 'auto', onFailure: 'requeue' },
      );
      const invalid: [MessageValidationError, number][] = [];
      const errors: unknown[] = [];
      consumer.on('invalid', (error, message) => invalid.push([error, message.deliveryTag]));
      consumer.on('error', (error) => errors.push(error));
      deliver(s, consumer, [1]);
      expect(await s.peer.expectMethod('basic.reject', 1)).toEqual({
        deliveryTag: 1,
        requeue: false,
      });
      await expectNothingMore(s);
      expect(invalid).toEqual([[refusal, 1]]);
      expect(errors).toEqual([]);
    },
  );

  it('a MessageValidationError from a handler that settled its message first is an error, as any', async () => {
    const { s, queue } = await setup();
    const consumer = await consume(
      s,
      queue,
      (message) => {
        message.ack();
        throw new MessageValidationError('after acking', []);
      },
      { settle: 'auto' },
    );
    const invalid: unknown[] = [];
    const errors: unknown[] = [];
    consumer.on('invalid', (error) => invalid.push(error));
    consumer.on('error', (error) => errors.push(error));
    deliver(s, consumer, [1]);
    expect(await s.peer.expectMethod('basic.ack', 1)).toEqual({ deliveryTag: 1, multiple: false });
    await expectNothingMore(s);
    expect(invalid).toEqual([]);
    expect(errors).toHaveLength(1);
  });

  it("turns a failure into a process warning when nobody listens for 'error'", async () => {
    const { s, queue } = await setup();
    const warnings = captureWarnings('WARREN_CONSUMER_ERROR');
    try {
      const consumer = await consume(s, queue, () => {
        throw new Error('nobody listens');
      });
      deliver(s, consumer, [1]);
      expect(await s.peer.expectMethod('basic.reject', 1)).toEqual({
        deliveryTag: 1,
        requeue: true,
      });
      await until(() => warnings.warnings.length === 1);
      expect(warnings.warnings[0]).toContain('nobody listens');
      expect(warnings.warnings[0]).toContain(consumer.tag);
    } finally {
      warnings.stop();
    }
  });

  it("emits no warning when an 'error' listener is there", async () => {
    const { s, queue } = await setup();
    const warnings = captureWarnings('WARREN_CONSUMER_ERROR');
    try {
      const consumer = await consume(s, queue, () => {
        throw new Error('heard');
      });
      const errors: unknown[] = [];
      consumer.on('error', (error) => errors.push(error));
      deliver(s, consumer, [1]);
      await s.peer.expectMethod('basic.reject', 1);
      await settle();
      expect(errors).toHaveLength(1);
      expect(warnings.warnings).toEqual([]);
    } finally {
      warnings.stop();
    }
  });
});

describe('cancel()', () => {
  it('requeues the waiting messages at once, and resolves when the running handler ends', async () => {
    const { s, queue } = await setup();
    const gate = deferred();
    const handled: number[] = [];
    const consumer = await consume(s, queue, async (message) => {
      handled.push(message.deliveryTag);
      await gate.promise;
      message.ack();
    });
    deliver(s, consumer, [1, 2, 3]);
    expect(await brokerBarrier(s, 1)).toEqual([]);
    const cancelling = track(consumer.cancel());
    expect(consumer.cancelled).toBe(true);
    expect(await s.peer.expectMethod('basic.reject', 1)).toEqual({ deliveryTag: 2, requeue: true });
    expect(await s.peer.expectMethod('basic.reject', 1)).toEqual({ deliveryTag: 3, requeue: true });
    expect(await s.peer.expectMethod('basic.cancel', 1)).toEqual({
      consumerTag: consumer.tag,
      nowait: false,
    });
    s.peer.send(1, 'basic.cancel-ok', { consumerTag: consumer.tag });
    await brokerBarrier(s, 1);
    await settle();
    expect(cancelling.state).toBe('pending');
    gate.resolve();
    expect(await s.peer.expectMethod('basic.ack', 1)).toEqual({ deliveryTag: 1, multiple: false });
    await cancelling.promise;
    expect(handled).toEqual([1]);
    await expectNothingMore(s);
  });

  it('rejects with TIMEOUT when a handler outlasts the timeout; the consumer is cancelled all the same', async () => {
    const { s, queue } = await setup();
    const consumer = await consume(s, queue, () => new Promise<void>(() => {}));
    deliver(s, consumer, [1]);
    await until(() => consumer.active === 1);
    const cancelling = track(consumer.cancel({ timeout: 20 }));
    await s.peer.expectMethod('basic.cancel', 1);
    s.peer.send(1, 'basic.cancel-ok', { consumerTag: consumer.tag });
    await expect(cancelling.promise).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(consumer.cancelled).toBe(true);
    // Cancelling again sends nothing more.
    void consumer.cancel({ timeout: 0 }).catch(() => {});
    await expectNothingMore(s);
  });

  it('rejects, unseen and with requeue, what arrives between basic.cancel and cancel-ok', async () => {
    const { s, queue } = await setup();
    const handled: number[] = [];
    const consumer = await consume(s, queue, (message) => {
      handled.push(message.deliveryTag);
      message.ack();
    });
    const cancelling = consumer.cancel();
    await s.peer.expectMethod('basic.cancel', 1);
    deliver(s, consumer, [1, 2]);
    expect(await s.peer.expectMethod('basic.reject', 1)).toEqual({ deliveryTag: 1, requeue: true });
    expect(await s.peer.expectMethod('basic.reject', 1)).toEqual({ deliveryTag: 2, requeue: true });
    s.peer.send(1, 'basic.cancel-ok', { consumerTag: consumer.tag });
    await cancelling;
    expect(handled).toEqual([]);
    await expectNothingMore(s);
  });

  it('sends one basic.cancel however often it is called', async () => {
    const { s, queue } = await setup();
    const consumer = await consume(s, queue, () => {});
    const first = consumer.cancel();
    const second = consumer.cancel();
    await s.peer.expectMethod('basic.cancel', 1);
    s.peer.send(1, 'basic.cancel-ok', { consumerTag: consumer.tag });
    await Promise.all([first, second, consumer.cancel()]);
    await expectNothingMore(s);
  });

  it('with noAck, still runs the waiting messages (the broker counts them delivered)', async () => {
    const { s, queue } = await setup();
    const gate = deferred();
    const handled: number[] = [];
    const consumer = await consume(
      s,
      queue,
      async (message) => {
        handled.push(message.deliveryTag);
        if (message.deliveryTag === 1) await gate.promise;
      },
      { noAck: true },
    );
    deliver(s, consumer, [1, 2, 3]);
    await brokerBarrier(s, 1);
    const cancelling = track(consumer.cancel());
    await s.peer.expectMethod('basic.cancel', 1);
    s.peer.send(1, 'basic.cancel-ok', { consumerTag: consumer.tag });
    await settle();
    expect(cancelling.state).toBe('pending');
    gate.resolve();
    await cancelling.promise;
    expect(handled).toEqual([1, 2, 3]);
    await expectNothingMore(s);
  });
});

describe('cancel() when the broker does not answer', () => {
  // Once the 5 s wait for cancel-ok is over, the engine still routes the consumer's deliveries
  // to it: they go back to the queue, as Consumer.stop's comment says.
  it('requeues the deliveries that still come once the wait for cancel-ok is over', async () => {
    const { s, queue } = await setup();
    const handled: number[] = [];
    const consumer = await consume(s, queue, (message) => {
      handled.push(message.deliveryTag);
    });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const cancelling = track(consumer.cancel());
      await s.peer.expectMethod('basic.cancel', 1);
      // No cancel-ok (a blocked connection reads nothing): the stop goes on after 5 s.
      vi.advanceTimersByTime(5_000);
      await until(() => cancelling.state === 'resolved');
    } finally {
      vi.useRealTimers();
    }
    deliver(s, consumer, [1]);
    const frames = await brokerBarrier(s, 1);
    expect(frames.map((frame) => (frame.type === 1 ? frame.method : frame.type))).toEqual([
      { name: 'basic.reject', args: { deliveryTag: 1, requeue: true } },
    ]);
    expect(handled).toEqual([]);
  });
});

describe('a basic.cancel from the broker', () => {
  it('ends the consumer with CONSUMER_CANCELLED; what was received still runs', async () => {
    const { s, queue } = await setup();
    const gate = deferred();
    const handled: number[] = [];
    const consumer = await consume(
      s,
      queue,
      async (message) => {
        handled.push(message.deliveryTag);
        if (message.deliveryTag === 1) await gate.promise;
      },
      { settle: 'auto' },
    );
    const reasons: unknown[] = [];
    consumer.on('cancel', (reason) => reasons.push(reason));
    deliver(s, consumer, [1, 2]);
    s.peer.send(1, 'basic.cancel', { consumerTag: consumer.tag, nowait: false });
    expect(await s.peer.expectMethod('basic.cancel-ok', 1)).toEqual({ consumerTag: consumer.tag });
    await until(() => reasons.length === 1);
    expect(reasons[0]).toMatchObject({ code: 'CONSUMER_CANCELLED' });
    expect(consumer.cancelled).toBe(true);
    gate.resolve();
    expect(await expectSettled(s.peer, 1, [1, 2])).toEqual(
      new Map([
        [1, 'ack'],
        [2, 'ack'],
      ]),
    );
    expect(handled).toEqual([1, 2]);
    // Cancelling it now sends nothing.
    await consumer.cancel();
    await expectNothingMore(s);
  });
  /** Starts a consumer whose consume-ok comes in one read with the broker's basic.cancel. */
  async function cancelledAtOnce(s: Scripted, queue: Queue): Promise<Consumer> {
    const consuming = queue.consume(() => {});
    const { consumerTag } = await s.peer.expectMethod('basic.consume', 1);
    s.peer.encoder.method(1, 'basic.consume-ok', { consumerTag });
    s.peer.encoder.method(1, 'basic.cancel', { consumerTag, nowait: false });
    s.peer.flush();
    return consuming;
  }

  // A cancel that comes with consume-ok waits, like 'invalid' reports, for the caller of
  // consume() to add its listeners (queue.messages() listens the same way).
  it('is reported when it comes with consume-ok, to a listener added after consume()', async () => {
    const { s, queue } = await setup();
    const consumer = await cancelledAtOnce(s, queue);
    const reasons: unknown[] = [];
    consumer.on('cancel', (reason) => reasons.push(reason));
    expect(await s.peer.expectMethod('basic.cancel-ok', 1)).toEqual({ consumerTag: consumer.tag });
    expect(consumer.cancelled).toBe(true);
    await until(() => reasons.length === 1, 50, "the 'cancel' event");
    expect(reasons[0]).toMatchObject({ code: 'CONSUMER_CANCELLED' });
  });

  // A consumer that ended before consume() resolved is not tracked by its channel: a recovery
  // must not send basic.consume for a consumer the broker cancelled.
  it('that comes with consume-ok leaves nothing to start again after a reconnect', async () => {
    const s = await scriptedConnection({ initialDelay: 1, maxDelay: 5 });
    const channel = await openChannel(s, 1);
    const consumer = await cancelledAtOnce(s, channel.queue('q'));
    await s.peer.expectMethod('basic.cancel-ok', 1);
    expect(consumer.cancelled).toBe(true);
    let recovered = false;
    const recovering = new Promise<void>((resolve) =>
      s.connection.once('recovered', () => {
        recovered = true;
        resolve();
      }),
    );
    s.peer.destroy();
    const peer = await acceptReconnect(s);
    await peer.acceptChannel(1);
    // Nothing else to set up: the connection recovers at once, having sent nothing more.
    await within(recovering, 500, 'the recovery').catch(() => {});
    expect(peer.unread.map(describeFrame)).toEqual([]);
    expect(recovered).toBe(true);
  });
});

describe('invalid messages on a queue with a schema', () => {
  const Order = z.object({ id: z.number() });

  async function schemaQueue(): Promise<{ s: Scripted; queue: Queue<{ id: number }> }> {
    const s = await scriptedConnection();
    const channel = await openChannel(s, 1);
    return { s, queue: channel.queue('orders', { schema: Order }) };
  }

  it("rejects them without requeue, reports them via 'invalid', and hands on the valid ones", async () => {
    const { s, queue } = await schemaQueue();
    const handled: unknown[] = [];
    const consumer = await consume(
      s,
      queue,
      (message) => {
        handled.push(message.data);
      },
      { settle: 'auto' },
    );
    const invalid: [MessageValidationError, number][] = [];
    consumer.on('invalid', (error, message) => invalid.push([error, message.deliveryTag]));
    encodeDelivery(s.peer, 1, consumer.tag, 1, { body: 'not json' });
    encodeDelivery(s.peer, 1, consumer.tag, 2, { body: '{"id":"seven"}' });
    encodeDelivery(s.peer, 1, consumer.tag, 3, { body: '{"id":7}' });
    s.peer.flush();
    expect(await expectSettled(s.peer, 1, [1, 2, 3])).toEqual(
      new Map([
        [1, 'drop'],
        [2, 'drop'],
        [3, 'ack'],
      ]),
    );
    expect(handled).toEqual([{ id: 7 }]);
    expect(invalid.map(([error, tag]) => [error.code, tag])).toEqual([
      ['MESSAGE_INVALID', 1],
      ['MESSAGE_INVALID', 2],
    ]);
    expect(invalid[1]?.[0].issues[0]?.path).toEqual(['id']);
  });

  it('reports one that came with consume-ok to a listener added after consume() resolved', async () => {
    const { s, queue } = await schemaQueue();
    const warnings = captureWarnings('WARREN_INVALID_MESSAGE');
    try {
      const consuming = queue.consume(() => {});
      const { consumerTag } = await s.peer.expectMethod('basic.consume', 1);
      s.peer.encoder.method(1, 'basic.consume-ok', { consumerTag });
      encodeDelivery(s.peer, 1, consumerTag, 1, { body: '{}' });
      s.peer.flush();
      const consumer = await consuming;
      const invalid: number[] = [];
      consumer.on('invalid', (_, message) => invalid.push(message.deliveryTag));
      expect(await s.peer.expectMethod('basic.reject', 1)).toEqual({
        deliveryTag: 1,
        requeue: false,
      });
      await until(() => invalid.length === 1);
      await settle();
      expect(warnings.warnings).toEqual([]);
    } finally {
      warnings.stop();
    }
  });

  it("warns when nobody listens for 'invalid'", async () => {
    const { s, queue } = await schemaQueue();
    const warnings = captureWarnings('WARREN_INVALID_MESSAGE');
    try {
      const consumer: Consumer<{ id: number }> = await consume(s, queue, () => {});
      deliver(s, consumer, [1], { body: '[]' });
      expect(await s.peer.expectMethod('basic.reject', 1)).toEqual({
        deliveryTag: 1,
        requeue: false,
      });
      await until(() => warnings.warnings.length === 1);
      expect(warnings.warnings[0]).toContain(consumer.tag);
    } finally {
      warnings.stop();
    }
  });
});
