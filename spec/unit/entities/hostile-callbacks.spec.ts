/**
 * Every callback warren calls may throw anything: not an Error, a
 * null-prototype object, a value whose `toString` throws, a Proxy that throws
 * on every trap, a revoked Proxy, a symbol, a string of megabytes. Whatever
 * it throws, warren reports it (a process warning or an `error` event) and
 * goes on: no unhandled rejection, no uncaught exception, the consumer and
 * the connection keep working. fast-check throws the values from each
 * callback, against a scripted broker.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Connection, connect, type IncomingMessage } from '../../../lib/index.js';
import { type Thrown, thrownValue } from '../../support/hostile.js';
import { ScriptedServer, settle } from '../../support/scripted-peer.js';
import {
  acceptReconnect,
  brokerBarrier,
  captureWarnings,
  consume,
  declareQueue,
  deliver,
  encodeDelivery,
  expectNothingMore,
  openChannel,
  type Scripted,
  scriptedConnection,
  teardown,
  until,
} from './harness.js';

/** Runs per property: each is a message through a live connection, so a few dozen suffice. */
const RUNS = 40;

/** What reached the process's last-resort handlers during a test. */
const escaped: unknown[] = [];
const onEscape = (error: unknown): void => {
  escaped.push(error);
};

beforeEach(() => {
  escaped.length = 0;
  process.on('unhandledRejection', onEscape);
  process.on('uncaughtException', onEscape);
});

afterEach(async () => {
  await settle();
  process.off('unhandledRejection', onEscape);
  process.off('uncaughtException', onEscape);
  await teardown();
  expect(escaped).toEqual([]);
});

/** Calls `test` with the warnings of `code` captured, and stops capturing after. */
async function withWarnings(
  code: string,
  test: (warnings: string[]) => Promise<void>,
): Promise<void> {
  const capture = captureWarnings(code);
  try {
    await test(capture.warnings);
  } finally {
    capture.stop();
  }
}

/** Throws or rejects with the value `thrown` makes, as a synchronous or an async callback would. */
function fail(thrown: Thrown, how: 'throw' | 'reject'): Promise<never> {
  if (how === 'throw') throw thrown.make();
  return Promise.reject(thrown.make());
}

const how = fc.constantFrom('throw' as const, 'reject' as const);

describe('a consume handler that throws anything', () => {
  it.each(['manual', 'auto'] as const)(
    "with settle '%s', and no 'error' listener: a warning, the message rejected, the consumer going on",
    async (settleMode) => {
      const s = await scriptedConnection();
      const queue = await declareQueue(s, await openChannel(s, 1), 'q');
      let current: { thrown: Thrown; how: 'throw' | 'reject' } | undefined;
      const consumer = await consume(
        s,
        queue,
        () => (current === undefined ? undefined : fail(current.thrown, current.how)),
        { settle: settleMode },
      );
      await withWarnings('WARREN_CONSUMER_ERROR', async (warnings) => {
        let tag = 0;
        await fc.assert(
          fc.asyncProperty(thrownValue, how, async (thrown, way) => {
            current = { thrown, how: way };
            tag++;
            const before = warnings.length;
            deliver(s, consumer, [tag]);
            expect(await s.peer.expectMethod('basic.reject', 1)).toEqual({
              deliveryTag: tag,
              requeue: true,
            });
            await until(() => warnings.length === before + 1, 100, 'the warning');
            expect(warnings[before]).toContain(consumer.tag);
            expect(warnings[before]?.length).toBeLessThan(5000);
          }),
          { numRuns: RUNS },
        );
        // And a handler that works is still called, and acked or not as before.
        current = undefined;
        deliver(s, consumer, [tag + 1]);
        if (settleMode === 'auto')
          expect(await s.peer.expectMethod('basic.ack', 1)).toMatchObject({ deliveryTag: tag + 1 });
        await expectNothingMore(s);
      });
    },
  );

  it("with noAck: the 'error' listener hears it, even one that throws anything too", async () => {
    const s = await scriptedConnection();
    const queue = await declareQueue(s, await openChannel(s, 1), 'q');
    let current: Thrown | undefined;
    const consumer = await consume(
      s,
      queue,
      () => (current === undefined ? undefined : fail(current, 'reject')),
      { noAck: true },
    );
    const heard: unknown[] = [];
    consumer.on('error', (error) => {
      heard.push(error);
      throw current?.make();
    });
    await withWarnings('WARREN_CALLBACK_THREW', async (warnings) => {
      let tag = 0;
      await fc.assert(
        fc.asyncProperty(thrownValue, async (thrown) => {
          current = thrown;
          tag++;
          deliver(s, consumer, [tag]);
          await until(() => heard.length === tag && warnings.length === tag, 100, 'the report');
        }),
        { numRuns: RUNS },
      );
      expect(warnings.every((warning) => warning.includes('an error listener threw'))).toBe(true);
      await expectNothingMore(s);
    });
  });

  it('with an onFailure policy that throws anything: a warning, and the default choice', async () => {
    const s = await scriptedConnection();
    const queue = await declareQueue(s, await openChannel(s, 1), 'q');
    let current: Thrown | undefined;
    const consumer = await consume(s, queue, () => fail(current as Thrown, 'throw'), {
      onFailure: () => {
        throw current?.make();
      },
    });
    consumer.on('error', () => {});
    await withWarnings('WARREN_CALLBACK_THREW', async (warnings) => {
      let tag = 0;
      await fc.assert(
        fc.asyncProperty(thrownValue, fc.boolean(), async (thrown, redelivered) => {
          current = thrown;
          tag++;
          deliver(s, consumer, [tag], { redelivered });
          expect(await s.peer.expectMethod('basic.reject', 1)).toEqual({
            deliveryTag: tag,
            requeue: !redelivered,
          });
          await until(() => warnings.length === tag, 100, 'the warning');
          expect(warnings[tag - 1]).toContain('the onFailure policy threw');
        }),
        { numRuns: RUNS },
      );
    });
  });

  it("with a schema, an 'invalid' listener that throws anything is reported, and the consumer goes on", async () => {
    const s = await scriptedConnection();
    const channel = await openChannel(s, 1);
    const queue = channel.queue('orders', { schema: z.object({ id: z.number() }) });
    let current: Thrown | undefined;
    const handled: number[] = [];
    const consumer = await consume(s, queue, (message) => {
      handled.push(message.deliveryTag);
    });
    consumer.on('invalid', () => {
      throw current?.make();
    });
    await withWarnings('WARREN_CALLBACK_THREW', async (warnings) => {
      let tag = 0;
      await fc.assert(
        fc.asyncProperty(thrownValue, async (thrown) => {
          current = thrown;
          tag++;
          encodeDelivery(s.peer, 1, consumer.tag, tag, { body: 'not json' });
          s.peer.flush();
          expect(await s.peer.expectMethod('basic.reject', 1)).toEqual({
            deliveryTag: tag,
            requeue: false,
          });
          await until(() => warnings.length === tag, 100, 'the warning');
        }),
        { numRuns: RUNS },
      );
      encodeDelivery(s.peer, 1, consumer.tag, tag + 1, { body: '{"id":1}' });
      s.peer.flush();
      await until(() => handled.length === 1, 100, 'the valid message');
    });
  });

  it("a 'cancel' listener that throws anything: a warning, and the channel goes on", async () => {
    const s = await scriptedConnection();
    const queue = await declareQueue(s, await openChannel(s, 1), 'q');
    await withWarnings('WARREN_CALLBACK_THREW', async (warnings) => {
      await fc.assert(
        fc.asyncProperty(thrownValue, async (thrown) => {
          const consumer = await consume(s, queue, () => {});
          consumer.on('cancel', () => {
            throw thrown.make();
          });
          const before = warnings.length;
          s.peer.send(1, 'basic.cancel', { consumerTag: consumer.tag, nowait: false });
          await s.peer.expectMethod('basic.cancel-ok', 1);
          await until(() => warnings.length === before + 1, 100, 'the warning');
        }),
        { numRuns: 20 },
      );
      await brokerBarrier(s, 1);
    });
  });
});

describe('a serve handler that throws anything', () => {
  it('replies with an error reply (bounded, well-formed) and acks the request', async () => {
    const s = await scriptedConnection();
    const queue = await declareQueue(s, await openChannel(s, 1), 'rpc');
    let current: Thrown | undefined;
    const serving = queue.serve(() => fail(current as Thrown, 'reject'));
    const { consumerTag } = await s.peer.expectMethod('basic.consume', 1);
    s.peer.send(1, 'basic.consume-ok', { consumerTag });
    const consumer = await serving;
    const errors: unknown[] = [];
    consumer.on('error', (error) => errors.push(error));
    let tag = 0;
    await fc.assert(
      fc.asyncProperty(thrownValue, async (thrown) => {
        current = thrown;
        tag++;
        s.peer.encoder.content(
          1,
          'basic.deliver',
          { consumerTag, deliveryTag: tag, redelivered: false, exchange: '', routingKey: 'rpc' },
          { replyTo: 'caller', correlationId: `c${tag}` },
          Buffer.from('{}'),
        );
        s.peer.flush();
        const reply = await s.peer.expectContent('basic.publish', 1);
        expect(reply.args.routingKey).toBe('caller');
        expect(reply.properties.correlationId).toBe(`c${tag}`);
        const message = reply.properties.headers?.['x-warren-error'];
        expect(typeof message).toBe('string');
        expect((message as string).length).toBeLessThan(1100);
        expect(await s.peer.expectMethod('basic.ack', 1)).toEqual({
          deliveryTag: tag,
          multiple: false,
        });
        await until(() => errors.length === tag, 100, "the 'error' event");
      }),
      { numRuns: RUNS },
    );
  });
});

describe('channel callbacks that throw anything', () => {
  /** Sends a mandatory message back, as the broker does when it cannot route it. */
  function sendReturn(s: Scripted, n: number): void {
    s.peer.sendContent(
      1,
      'basic.return',
      { replyCode: 312, replyText: 'NO_ROUTE', exchange: 'x', routingKey: `k${n}` },
      {},
      Buffer.from('returned'),
    );
  }

  it('the return handler and return listeners: warnings, and the connection stays up', async () => {
    const s = await scriptedConnection();
    const channel = await openChannel(s, 1);
    let current: Thrown | undefined;
    channel.setReturnHandler(() => {
      throw current?.make();
    });
    channel.on('return', () => {
      throw current?.make();
    });
    await withWarnings('WARREN_CALLBACK_THREW', async (warnings) => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(thrownValue, async (thrown) => {
          current = thrown;
          n++;
          sendReturn(s, n);
          await brokerBarrier(s, 1);
          expect(warnings).toHaveLength(2 * n);
        }),
        { numRuns: RUNS },
      );
    });
    expect(s.connection.isOpen).toBe(true);
    expect(channel.isOpen).toBe(true);
  });

  it("'flow' and 'close' listeners: warnings, and the connection stays up", async () => {
    const s = await scriptedConnection();
    await withWarnings('WARREN_CALLBACK_THREW', async (warnings) => {
      let id = 0;
      await fc.assert(
        fc.asyncProperty(thrownValue, async (thrown) => {
          // The engine takes the next free number after the last one used.
          id++;
          const channel = await openChannel(s, id);
          channel.on('flow', () => {
            throw thrown.make();
          });
          channel.on('close', () => {
            throw thrown.make();
          });
          const before = warnings.length;
          s.peer.send(id, 'channel.flow', { active: true });
          await s.peer.expectMethod('channel.flow-ok', id);
          s.peer.send(id, 'channel.close', {
            replyCode: 404,
            replyText: 'NOT_FOUND',
            classId: 0,
            methodId: 0,
          });
          await s.peer.expectMethod('channel.close-ok', id);
          await until(() => warnings.length === before + 2, 100, 'the warnings');
        }),
        { numRuns: 20 },
      );
    });
    expect(s.connection.isOpen).toBe(true);
  });
});

describe('connection callbacks that throw anything', () => {
  it("'blocked' and 'unblocked' listeners: warnings, and the connection stays up", async () => {
    const s = await scriptedConnection();
    let current: Thrown | undefined;
    s.connection.on('blocked', () => {
      throw current?.make();
    });
    s.connection.on('unblocked', () => {
      throw current?.make();
    });
    await withWarnings('WARREN_CALLBACK_THREW', async (warnings) => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(thrownValue, async (thrown) => {
          current = thrown;
          n++;
          s.peer.send(0, 'connection.blocked', { reason: 'low on memory' });
          s.peer.send(0, 'connection.unblocked', {});
          await until(() => warnings.length === 2 * n, 100, 'the warnings');
        }),
        { numRuns: RUNS },
      );
    });
    await expectNothingMore(s);
  });

  it("'disconnected', 'reconnecting' and 'recovered' listeners: warnings, and the connection recovers", async () => {
    // Each run cuts a connection that has done nothing since it recovered:
    // that is what a repeated failure looks like, so lift the bound.
    const s = await scriptedConnection({
      initialDelay: 1,
      maxDelay: 5,
      maxRepeatedFailures: Number.POSITIVE_INFINITY,
    });
    let current: Thrown | undefined;
    let recoveries = 0;
    s.connection.on('recovered', () => {
      recoveries++;
    });
    for (const event of ['disconnected', 'reconnecting', 'recovered'] as const) {
      s.connection.on(event, () => {
        throw current?.make();
      });
    }
    await withWarnings('WARREN_CALLBACK_THREW', async (warnings) => {
      await fc.assert(
        fc.asyncProperty(thrownValue, async (thrown) => {
          current = thrown;
          const before = recoveries;
          const warned = warnings.length;
          s.peer.destroy();
          await acceptReconnect(s);
          await until(() => recoveries === before + 1, 500, 'the recovery');
          expect(warnings.length).toBe(warned + 3);
        }),
        { numRuns: 15 },
      );
    });
    expect(s.connection.isOpen).toBe(true);
  });

  it("a 'close' listener: a warning, and the connection closes all the same", async () => {
    await withWarnings('WARREN_CALLBACK_THREW', async (warnings) => {
      await fc.assert(
        fc.asyncProperty(thrownValue, async (thrown) => {
          const s = await scriptedConnection();
          s.connection.on('close', () => {
            throw thrown.make();
          });
          const before = warnings.length;
          const closing = s.connection.close();
          await s.peer.expectMethod('connection.close');
          s.peer.send(0, 'connection.close-ok', {});
          await closing;
          await s.connection.closed;
          expect(warnings.length).toBe(before + 1);
          s.server.close();
        }),
        { numRuns: 10 },
      );
    });
  });
});

describe('a credentials provider that throws anything', () => {
  it('is one more failed attempt at a reconnect; recovery goes on, then gives up with a clear error', async () => {
    await fc.assert(
      fc.asyncProperty(thrownValue, async (thrown) => {
        const server = await ScriptedServer.listen();
        let calls = 0;
        const connecting = connect({
          hostname: '127.0.0.1',
          port: server.port,
          heartbeat: 0,
          recovery: { initialDelay: 1, maxDelay: 2, maxAttempts: 2 },
          credentials: () => {
            calls++;
            if (calls > 1) throw thrown.make();
            return { password: 'guest' };
          },
        });
        const peer = await server.nextPeer();
        await peer.handshake({ tune: { heartbeat: 0 } });
        const connection: Connection = await connecting;
        peer.destroy();
        const reason = await connection.closed;
        expect(reason).toMatchObject({ code: 'RECOVERY_FAILED' });
        expect(typeof reason?.message).toBe('string');
        expect(reason?.message.length).toBeLessThan(5000);
        server.close();
      }),
      { numRuns: 15 },
    );
  });
});

describe('a messages() loop body that throws anything', () => {
  it('ends the loop with that value, requeues the message and cancels; the channel goes on', async () => {
    const s = await scriptedConnection();
    const queue = await declareQueue(s, await openChannel(s, 1), 'q');
    let tag = 0;
    await fc.assert(
      fc.asyncProperty(thrownValue, async (thrown) => {
        const value = thrown.make();
        const looping = (async () => {
          for await (const _message of queue.messages() as AsyncIterable<IncomingMessage>) {
            throw value;
          }
        })();
        await s.peer.expectMethod('basic.qos', 1);
        s.peer.send(1, 'basic.qos-ok', {});
        const { consumerTag } = await s.peer.expectMethod('basic.consume', 1);
        s.peer.send(1, 'basic.consume-ok', { consumerTag });
        tag++;
        encodeDelivery(s.peer, 1, consumerTag, tag);
        s.peer.flush();
        const caught = looping.then(
          () => ({ none: true }),
          (error: unknown) => ({ error }),
        );
        // The loop ends once the consumer is cancelled; the message it held goes back.
        const frames = [await s.peer.nextNonHeartbeat(), await s.peer.nextNonHeartbeat()];
        s.peer.send(1, 'basic.cancel-ok', { consumerTag });
        expect(frames.map((frame) => (frame.type === 1 ? frame.method : frame.type))).toEqual(
          expect.arrayContaining([
            { name: 'basic.reject', args: { deliveryTag: tag, requeue: true } },
            { name: 'basic.cancel', args: { consumerTag, nowait: false } },
          ]),
        );
        // Compared by identity: expect's deep equality would trip on a revoked Proxy.
        const result = await caught;
        expect('error' in result && Object.is(result.error, value)).toBe(true);
      }),
      { numRuns: 15 },
    );
    await brokerBarrier(s, 1);
  });
});
