/**
 * Callbacks that throw what is not an Error, against RabbitMQ: a consumer's
 * handler and a serving handler throw each hostile value (a null-prototype
 * object, a Proxy that throws on every trap, a revoked Proxy, a symbol, a
 * string of megabytes, …); a return listener throws them too. warren reports
 * each, the broker sees each message settled, and the connection and the
 * consumer go on. The scripted-broker fuzz (spec/unit/entities/hostile-callbacks.spec.ts)
 * throws many more; this is the same promise on the real wire.
 */
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import type { Connection } from '../../lib/index.js';
import { queueCounts, uniqueName, useConnection, waitFor } from '../support/amqp-helpers.js';
import { hostile, hostileNames } from '../support/hostile.js';

const url = inject('amqpUrl');
let connection: Connection;
const openChannel = useConnection(url, (opened) => {
  connection = opened;
});

const escaped: unknown[] = [];
const onEscape = (error: unknown): void => {
  escaped.push(error);
};
let warnings: string[] = [];

beforeEach(() => {
  escaped.length = 0;
  warnings = [];
  process.on('unhandledRejection', onEscape);
  process.on('uncaughtException', onEscape);
  vi.spyOn(process, 'emitWarning').mockImplementation(((warning: string | Error) => {
    warnings.push(typeof warning === 'string' ? warning : warning.message);
  }) as typeof process.emitWarning);
});

afterEach(() => {
  vi.restoreAllMocks();
  process.off('unhandledRejection', onEscape);
  process.off('uncaughtException', onEscape);
  expect(escaped).toEqual([]);
});

describe('callbacks that throw anything', () => {
  it('a consume handler: each message dead-lettered, each failure warned of, the next one handled', async () => {
    const channel = await openChannel(true);
    const queue = await channel.declareQueue(uniqueName('hostile'), { exclusive: true });
    const handled: string[] = [];
    await queue.consume(
      (message) => {
        const body = message.text();
        if (body === 'fine') {
          handled.push(body);
          return;
        }
        throw hostile(body);
      },
      { settle: 'auto', onFailure: 'dead-letter' },
    );
    for (const name of hostileNames) await channel.exchange('').publish(name, queue.name);
    await channel.exchange('').publish('fine', queue.name);
    await waitFor(() => handled.length === 1, 5_000, 'the message after the failures');
    await waitFor(() => warnings.length === hostileNames.length, 5_000, 'a warning per failure');
    expect(warnings.every((warning) => warning.length < 5000)).toBe(true);
    expect(await queueCounts(connection, queue.name)).toMatchObject({ messageCount: 0 });
    expect(connection.isOpen).toBe(true);
  });

  it('a serve handler: the caller gets a RemoteError for each, and the server goes on', async () => {
    const channel = await openChannel();
    const queue = await channel.declareQueue(uniqueName('hostile-rpc'), { exclusive: true });
    await queue.serve((request) => {
      const name = request.json() as string;
      if (name === 'fine') return 'ok';
      throw hostile(name);
    });
    const client = await connection.rpcClient();
    for (const name of hostileNames) {
      await expect(client.call(queue.name, name)).rejects.toMatchObject({ code: 'REMOTE_ERROR' });
    }
    expect(await client.call(queue.name, 'fine')).toBe('ok');
    expect(connection.isOpen).toBe(true);
    await client.close();
  });

  it('a return listener: each warned of, and the channel goes on', async () => {
    const channel = await openChannel();
    let n = 0;
    channel.on('return', () => {
      throw hostile(hostileNames[n++ % hostileNames.length] as string);
    });
    for (const _ of hostileNames) {
      await channel.exchange('').publish('lost', uniqueName('nowhere'), { mandatory: true });
    }
    await waitFor(() => n === hostileNames.length, 5_000, 'every return');
    await waitFor(() => warnings.length === hostileNames.length, 5_000, 'a warning per return');
    expect(channel.isOpen).toBe(true);
    await channel.declareQueue(uniqueName('after'), { exclusive: true });
  });
});
