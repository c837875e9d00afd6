/**
 * The options convention against RabbitMQ: every operation takes its
 * options as one object, an abortable one its `signal` inside it, and an
 * options argument that is not an object is a TypeError before anything
 * is sent (the channel stays open, the broker saw nothing).
 */
import { describe, expect, inject, it } from 'vitest';
import type { Connection } from '../../lib/index.js';
import {
  deleteAfterTest,
  queueCounts,
  route,
  uniqueName,
  useConnection,
} from '../support/amqp-helpers.js';

const url = inject('amqpUrl');
let connection: Connection;
const openChannel = useConnection(url, (opened) => {
  connection = opened;
});

/** Calls `call` with `bad` where it expects options, the way JavaScript callers can. */
function loosely<A extends unknown[], R>(call: (...args: A) => R, ...args: unknown[]): R {
  return call(...(args as A));
}

describe('options arguments', () => {
  it('refuses a non-object options argument with a TypeError before sending anything', async () => {
    const channel = await openChannel(true);
    const name = uniqueName('options');
    deleteAfterTest(connection, 'queue', name);
    const queue = await channel.declareQueue(name);
    const exchange = await channel.declareExchange(uniqueName('options'), 'fanout', {
      autoDelete: true,
    });
    deleteAfterTest(connection, 'exchange', exchange.name);
    const binding = await queue.bind(exchange);
    const signal = new AbortController().signal;
    const refused: [string, () => unknown][] = [
      ['setQos', () => loosely(channel.setQos.bind(channel), 10)],
      ['setQos without options', () => loosely(channel.setQos.bind(channel))],
      ['txSelect', () => loosely(channel.txSelect.bind(channel), signal)],
      ['recover', () => loosely(channel.recover.bind(channel), true)],
      ['declareQueue', () => loosely(channel.declareQueue.bind(channel), name, 'durable')],
      ['channel.queue', () => loosely(channel.queue.bind(channel), name, null)],
      ['publish', () => loosely(exchange.publish.bind(exchange), 'x', '', true)],
      ['purge', () => loosely(queue.purge.bind(queue), signal)],
      ['queue.delete', () => loosely(queue.delete.bind(queue), [])],
      ['get', () => loosely(queue.get.bind(queue), 'noAck')],
      ['consume', () => loosely(queue.consume.bind(queue), () => {}, 1)],
      ['queue.bind', () => loosely(queue.bind.bind(queue), exchange, '', signal)],
      ['unbind', () => loosely(binding.unbind.bind(binding), signal)],
      ['updateSecret', () => loosely(connection.updateSecret.bind(connection), 'x', 'reason')],
      ['channel.close', () => loosely(channel.close.bind(channel), 1_000)],
    ];
    for (const [what, call] of refused) {
      const outcome = await Promise.resolve()
        .then(call)
        .then(
          () => 'sent',
          (error: unknown) => error,
        );
      expect(outcome, what).toBeInstanceOf(TypeError);
    }
    // The misplaced signal is named in the error.
    await expect(loosely(queue.purge.bind(queue), signal)).rejects.toThrow(/pass \{ signal \}/);
    // Nothing reached the broker: the channel is open, the queue empty and still bound.
    expect(channel.isOpen).toBe(true);
    expect(await queueCounts(connection, name)).toEqual({ messageCount: 0, consumerCount: 0 });
    expect(await route(exchange, 'any')).toBe('routed');
  });

  it('refuses a field table passed as the options of bind (its arguments go in { arguments })', async () => {
    const channel = await openChannel();
    const queue = await channel.declareQueue('', { exclusive: true });
    const headers = { 'x-match': 'all', format: 'pdf' };
    await expect(loosely(queue.bind.bind(queue), 'amq.headers', '', headers)).rejects.toThrow(
      /has no option 'x-match'/,
    );
    const source = channel.exchange('amq.headers');
    const destination = channel.exchange('amq.fanout');
    await expect(loosely(destination.bind.bind(destination), source, '', headers)).rejects.toThrow(
      TypeError,
    );
    expect(channel.isOpen).toBe(true);
    const binding = await queue.bind('amq.headers', '', { arguments: headers });
    expect(binding.arguments).toEqual(headers);
    expect(binding.exchange.name).toBe('amq.headers');
    await binding.unbind();
  });

  it('takes the signal inside the options: tx, purge, unbind and exchange.bind abort', async () => {
    const channel = await openChannel();
    const aborted = AbortSignal.abort();
    const queue = await channel.declareQueue('', { exclusive: true });
    for (const operation of [
      () => channel.txSelect({ signal: aborted }),
      () => channel.txCommit({ signal: aborted }),
      () => channel.txRollback({ signal: aborted }),
      () => channel.recover({ signal: aborted }),
      () => queue.purge({ signal: aborted }),
      () => channel.exchange('amq.fanout').bind('amq.direct', 'k', { signal: aborted }),
      () => connection.updateSecret('guest', { signal: aborted }),
    ]) {
      await expect(operation()).rejects.toMatchObject({ code: 'ABORTED' });
    }
    expect(channel.isOpen).toBe(true);
    // Not in transaction mode: the aborted txSelect sent nothing, so txCommit fails (406).
    await expect(channel.txCommit()).rejects.toMatchObject({ replyCode: 406 });
  });
});
