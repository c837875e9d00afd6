/**
 * What warren publishes on `node:diagnostics_channel`, against RabbitMQ:
 * each tracing channel's phases in order and each plain channel's messages,
 * with the fields a tracer needs, for publishes (with and without confirms,
 * nacked, returned), deliveries (received, processed, settled, failed), RPC,
 * channel operations, connecting, and a connection the broker closes and
 * blocks. A store bound to the process channel's `start` is the handler's
 * own, message by message; a header added at `start` reaches the consumer;
 * and with nobody listening, no message object is built at all.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { tracingChannel } from 'node:diagnostics_channel';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import {
  type ConnectDiagnostic,
  type Connection,
  type ConnectionBlockedDiagnostic,
  type ConnectionLostDiagnostic,
  type ConnectionRecoveredDiagnostic,
  type ConnectionUnblockedDiagnostic,
  type ConnectionWaitingDiagnostic,
  connect,
  DIAGNOSTICS_CHANNELS,
  type FailureDiagnostic,
  type IncomingMessage,
  Message,
  MessageReturnedError,
  type OperationDiagnostic,
  type ProcessDiagnostic,
  type PublishDiagnostic,
  PublishNackedError,
  type ReceiveDiagnostic,
  RemoteError,
  type ReturnDiagnostic,
  type RpcDiagnostic,
  retry,
  type SettleDiagnostic,
} from '../../lib/index.js';
import { deleteAfterTest, uniqueName, useConnection, waitFor } from '../support/amqp-helpers.js';
import { type Broker, startBroker } from '../support/broker.js';
import { phases, recordChannel, recordTrace } from '../support/diagnostics.js';
import { connectionPid, sleep, watch, within } from '../support/fault-helpers.js';

const url = inject('amqpUrl');
const server = new URL(url);
let connection: Connection;
const openChannel = useConnection(url, (opened) => {
  connection = opened;
});

/**
 * The endpoint fields every message carries, for this connection: the
 * broker as given, and the socket's other end (an IP address, the same port).
 */
const endpoint = () => ({
  serverAddress: server.hostname,
  serverPort: Number(server.port || 5672),
  peerAddress: expect.stringMatching(/^[\d.]+$|:/),
  peerPort: Number(server.port || 5672),
});

/** The endpoint fields of a connection to a node of our own on 127.0.0.1:`port`. */
const endpointOf = (port: number) => ({
  serverAddress: '127.0.0.1',
  serverPort: port,
  peerAddress: '127.0.0.1',
  peerPort: port,
});

/** A traced operation that went well, and one that failed. */
const SUCCEEDED = ['start', 'end', 'asyncStart', 'asyncEnd'];
const FAILED = ['start', 'end', 'error', 'asyncStart', 'asyncEnd'];

describe('warren:publish', () => {
  it('traces a publish without confirms, with what a tracer needs', async () => {
    const channel = await openChannel();
    const queue = await channel.declareQueue('', { exclusive: true });
    const events = recordTrace<PublishDiagnostic>(
      DIAGNOSTICS_CHANNELS.publish,
      (message) => message.routingKey === queue.name,
    );

    await channel
      .exchange('')
      .publish(
        new Message('hello', { messageId: 'm-1', correlationId: 'c-1', headers: { a: 1 } }),
        queue.name,
      );

    expect(phases(events)).toEqual(SUCCEEDED);
    const message = events[0]?.message as PublishDiagnostic;
    expect(events.every((event) => event.message === message)).toBe(true);
    expect(message).toMatchObject({
      ...endpoint(),
      channelId: channel.id,
      exchange: '',
      routingKey: queue.name,
      mandatory: true,
      confirm: false,
      bodySize: 5,
      messageId: 'm-1',
      correlationId: 'c-1',
      headers: { a: 1 },
    });
    expect(message.properties.messageId).toBe('m-1');
    expect(message.error).toBeUndefined();
  });

  it('with confirms, traces until the confirm; a nack is the error phase', async () => {
    const channel = await openChannel(true);
    // Full at one message: the broker nacks the next publish.
    const queue = await channel.declareQueue('', {
      exclusive: true,
      arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' },
    });
    const events = recordTrace<PublishDiagnostic>(
      DIAGNOSTICS_CHANNELS.publish,
      (message) => message.routingKey === queue.name,
    );
    const exchange = channel.exchange('');

    await exchange.publish('first', queue.name);
    // Resolved only once the confirm came: by then the trace is over.
    expect(phases(events)).toEqual(SUCCEEDED);
    expect(events[0]?.message.confirm).toBe(true);

    const nacked = exchange.publish('second', queue.name);
    await expect(nacked).rejects.toBeInstanceOf(PublishNackedError);
    expect(phases(events.slice(4))).toEqual(FAILED);
    expect(events[4]?.message.error).toBeInstanceOf(PublishNackedError);
    expect(events[4]?.message.bodySize).toBe(6);
  });

  it('a returned message: warren:return, and the confirmed publish fails', async () => {
    const channel = await openChannel(true);
    const nowhere = uniqueName('nowhere');
    const returns = recordChannel<ReturnDiagnostic>(
      DIAGNOSTICS_CHANNELS.return,
      (message) => message.routingKey === nowhere,
    );
    const events = recordTrace<PublishDiagnostic>(
      DIAGNOSTICS_CHANNELS.publish,
      (message) => message.routingKey === nowhere,
    );

    const published = channel.exchange('').publish('lost', nowhere);
    await expect(published).rejects.toBeInstanceOf(MessageReturnedError);

    expect(returns).toHaveLength(1);
    expect(returns[0]).toMatchObject({
      ...endpoint(),
      channelId: channel.id,
      exchange: '',
      routingKey: nowhere,
      replyCode: 312,
      replyText: 'NO_ROUTE',
      confirmed: true,
    });
    expect(returns[0]?.message.text()).toBe('lost');
    expect(phases(events)).toEqual(FAILED);
    expect(events[2]?.message.error).toBeInstanceOf(MessageReturnedError);
  });

  it('a return without confirms goes to warren:return too', async () => {
    const channel = await openChannel();
    channel.setReturnHandler(() => {});
    const nowhere = uniqueName('nowhere');
    const returns = recordChannel<ReturnDiagnostic>(
      DIAGNOSTICS_CHANNELS.return,
      (message) => message.routingKey === nowhere,
    );

    await channel.exchange('').publish('lost', nowhere);

    await waitFor(() => returns.length === 1, 5_000, 'the return');
    expect(returns[0]).toMatchObject({ confirmed: false, replyCode: 312, channelId: channel.id });
  });

  it('headers added at start go on the wire; the caller’s message is untouched', async () => {
    const channel = await openChannel(true);
    const queue = await channel.declareQueue('', { exclusive: true });
    recordTrace<PublishDiagnostic>(
      DIAGNOSTICS_CHANNELS.publish,
      (message) => message.routingKey === queue.name,
      (message) => {
        message.headers.traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      },
    );
    const message = new Message('traced', { headers: { tenant: 'acme' } });

    await channel.exchange('').publish(message, queue.name);
    await channel.exchange('').publish(Buffer.from('bare'), queue.name);

    const first = await queue.get({ noAck: true });
    expect(first?.properties.headers).toEqual({
      tenant: 'acme',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    const second = await queue.get({ noAck: true });
    expect(second?.properties.headers?.traceparent).toMatch(/^00-/);
    expect(message.properties.headers).toEqual({ tenant: 'acme' });
  });
});

describe('deliveries: warren:receive, warren:process, warren:settle', () => {
  it('a consumer: received, processed until settled, each settlement with its options', async () => {
    const channel = await openChannel(true);
    const queue = await channel.declareQueue('', { exclusive: true });
    const mine = (message: { queue?: string; message?: IncomingMessage }) =>
      message.queue === queue.name || message.message?.routingKey === queue.name;
    const received = recordChannel<ReceiveDiagnostic>(DIAGNOSTICS_CHANNELS.receive, mine);
    const processed = recordTrace<ProcessDiagnostic>(DIAGNOSTICS_CHANNELS.process, mine);
    const settled = recordChannel<SettleDiagnostic>(DIAGNOSTICS_CHANNELS.settle, mine);
    const exchange = channel.exchange('');
    for (const text of ['ack', 'nack', 'reject']) {
      await exchange.publish(new Message(text, { messageId: text }), queue.name);
    }

    const consumer = await queue.consume((message) => {
      // Each settled once, for good: nothing comes back.
      if (message.text() === 'ack') message.ack();
      else if (message.text() === 'nack') message.nack({ requeue: false });
      else message.reject({ requeue: false });
    });
    await waitFor(() => settled.length === 3, 5_000, 'three settlements');
    await waitFor(() => processed.length === 12, 5_000, 'three traces');

    expect(received.map((message) => message.messageId)).toEqual(['ack', 'nack', 'reject']);
    expect(received[0]).toMatchObject({
      ...endpoint(),
      channelId: channel.id,
      queue: queue.name,
      exchange: '',
      routingKey: queue.name,
      consumerTag: consumer.tag,
      redelivered: false,
      bodySize: 3,
      messageId: 'ack',
    });
    expect(received[0]?.deliveryTag).toBe(received[0]?.message.deliveryTag);
    expect(settled.map(({ kind, multiple, requeue }) => ({ kind, multiple, requeue }))).toEqual([
      { kind: 'ack', multiple: false, requeue: false },
      { kind: 'nack', multiple: false, requeue: false },
      { kind: 'reject', multiple: false, requeue: false },
    ]);
    expect(settled.map((message) => message.deliveryTag)).toEqual(
      received.map((message) => message.deliveryTag),
    );
    // One trace per message, each over once its message was settled.
    for (const message of received) {
      const trace = processed.filter((event) => event.message.message === message.message);
      expect(phases(trace), message.messageId).toEqual(SUCCEEDED);
    }
    expect(processed[0]?.message).toMatchObject({
      queue: queue.name,
      consumerTag: consumer.tag,
      attempt: 1,
      rpc: false,
      messageId: 'ack',
    });
  });

  it('a handler that throws: the error phase, then the failure policy’s settlement', async () => {
    const channel = await openChannel();
    const queue = await channel.declareQueue('', { exclusive: true });
    const mine = (message: { queue: string }) => message.queue === queue.name;
    const processed = recordTrace<ProcessDiagnostic>(DIAGNOSTICS_CHANNELS.process, mine);
    const settled = recordChannel<SettleDiagnostic>(
      DIAGNOSTICS_CHANNELS.settle,
      (message) => message.message.routingKey === queue.name,
    );
    const failure = new Error('handler failed');
    const consumer = await queue.consume(
      () => {
        throw failure;
      },
      { onFailure: 'dead-letter' },
    );
    consumer.on('error', () => {});

    await channel.exchange('').publish('poison', queue.name);

    await waitFor(() => processed.length === 5, 5_000, 'the failed trace');
    expect(phases(processed)).toEqual(FAILED);
    expect(processed[2]?.message.error).toBe(failure);
    expect(settled).toHaveLength(1);
    expect(settled[0]).toMatchObject({ kind: 'reject', requeue: false });
  });

  it('warren:failure: a retry policy’s retry, then its dead-lettering when retries run out', async () => {
    const channel = await openChannel();
    const name = uniqueName('diag-failure');
    const dlx = uniqueName('diag-dlx');
    await channel.declareExchange(dlx, 'fanout');
    deleteAfterTest(connection, 'exchange', dlx);
    const deadLetters = await channel.declareQueue('', { exclusive: true });
    await deadLetters.bind(dlx);
    const policy = retry({ delays: [20], deadLetter: { exchange: dlx } });
    const queue = await channel.declareQueue(name);
    deleteAfterTest(connection, 'queue', name);
    for (const wait of policy.waitQueues(name)) deleteAfterTest(connection, 'queue', wait);
    const failures = recordChannel<FailureDiagnostic>(
      DIAGNOSTICS_CHANNELS.failure,
      (message) => message.queue === name,
    );
    const failure = new Error('handler failed');
    const consumer = await queue.consume(
      () => {
        throw failure;
      },
      { onFailure: policy },
    );
    consumer.on('error', () => {});

    await channel.exchange('').publish('poison', name);

    await waitFor(() => failures.length === 2, 5_000, 'a retry and a dead letter');
    const [retried, deadLettered] = failures;
    expect(retried).toMatchObject({
      queue: name,
      error: failure,
      attempt: 1,
      action: 'retry',
      reason: undefined,
      delay: 20,
    });
    expect(deadLettered).toMatchObject({
      attempt: 2,
      action: 'deadLetter',
      reason: 'exhausted',
      delay: undefined,
    });
    expect(deadLettered?.message.attempt).toBe(2);
    await waitFor(() => deadLettered?.message.settled === true, 5_000, 'the dead letter acked');
    expect((await deadLetters.get())?.headers['x-warren-reason']).toBe('exhausted');
    await consumer.cancel();
  });

  it('ack multiple says so; a get is received without a consumer tag', async () => {
    const channel = await openChannel(true);
    const queue = await channel.declareQueue('', { exclusive: true });
    const received = recordChannel<ReceiveDiagnostic>(
      DIAGNOSTICS_CHANNELS.receive,
      (message) => message.queue === queue.name,
    );
    const settled = recordChannel<SettleDiagnostic>(
      DIAGNOSTICS_CHANNELS.settle,
      (message) => message.message.routingKey === queue.name,
    );
    await channel.exchange('').publish('one', queue.name);
    await channel.exchange('').publish('two', queue.name);

    await queue.get();
    const second = await queue.get();
    second?.ack({ multiple: true });

    expect(received).toHaveLength(2);
    expect(received[0]).toMatchObject({ consumerTag: undefined, queue: queue.name });
    expect(settled).toHaveLength(1);
    expect(settled[0]).toMatchObject({
      kind: 'ack',
      multiple: true,
      deliveryTag: second?.deliveryTag,
    });
  });

  it('a store bound to start is each handler’s own, with concurrency 2', async () => {
    const channel = await openChannel(true);
    const queue = await channel.declareQueue('', { exclusive: true });
    const store = new AsyncLocalStorage<string>();
    const start = tracingChannel<string, ProcessDiagnostic>(DIAGNOSTICS_CHANNELS.process).start;
    start.bindStore(store, (message) => `context of ${message.messageId}`);
    try {
      const seen: Record<string, string | undefined> = {};
      let arrived = 0;
      let release: () => void = () => {};
      const bothIn = new Promise<void>((resolve) => {
        release = resolve;
      });
      await queue.consume(
        async (message) => {
          if (++arrived === 2) release();
          // Both handlers are in flight here, each after an await.
          await bothIn;
          seen[message.text()] = store.getStore();
          message.ack();
        },
        { concurrency: 2, prefetch: 2 },
      );
      await channel.exchange('').publish(new Message('a', { messageId: 'a' }), queue.name);
      await channel.exchange('').publish(new Message('b', { messageId: 'b' }), queue.name);

      await waitFor(() => Object.keys(seen).length === 2, 5_000, 'both handlers');
      expect(seen).toEqual({ a: 'context of a', b: 'context of b' });
      // Outside a handler, no context.
      expect(store.getStore()).toBeUndefined();
    } finally {
      start.unbindStore(store);
    }
  });
});

describe('warren:rpc and a served request', () => {
  it('traces the call, and the served request as an RPC process', async () => {
    const channel = await openChannel();
    const queue = await channel.declareQueue('', { exclusive: true });
    const calls = recordTrace<RpcDiagnostic>(
      DIAGNOSTICS_CHANNELS.rpc,
      (message) => message.routingKey === queue.name,
    );
    const served = recordTrace<ProcessDiagnostic>(
      DIAGNOSTICS_CHANNELS.process,
      (message) => message.queue === queue.name,
    );
    // The client's replies end its calls' traces: they are not processed apart.
    const replies = recordTrace<ProcessDiagnostic>(DIAGNOSTICS_CHANNELS.process, (message) =>
      message.queue.startsWith('amq.rabbitmq.reply-to'),
    );
    const serving = await queue.serve((request) => {
      const { n } = request.data as { n: number };
      if (n < 0) throw new RangeError('negative');
      return n * 2;
    });
    // The handler's failure is the trace's; the consumer reports it too.
    serving.on('error', () => {});
    const rpc = await connection.rpcClient();
    try {
      expect(await rpc.call(queue.name, { n: 21 }, { timeout: 5_000 })).toBe(42);
      await expect(rpc.call(queue.name, { n: -1 }, { timeout: 5_000 })).rejects.toBeInstanceOf(
        RemoteError,
      );
    } finally {
      await rpc.close();
    }

    expect(phases(calls)).toEqual([...SUCCEEDED, ...FAILED]);
    const first = calls[0]?.message as RpcDiagnostic;
    expect(first).toMatchObject({
      ...endpoint(),
      channelId: rpc.channel.id,
      exchange: '',
      routingKey: queue.name,
      timeout: 5_000,
    });
    expect(calls[4]?.message.error).toBeInstanceOf(RemoteError);
    await waitFor(() => served.length === 9, 5_000, 'both requests processed');
    expect(served[0]?.message).toMatchObject({
      rpc: true,
      replyTo: expect.stringMatching(/^amq\.rabbitmq\.reply-to\./),
      correlationId: first.correlationId,
    });
    // The failed request was answered and acked, and its handler's error is the trace's.
    const second = calls[4]?.message as RpcDiagnostic;
    const failed = served.filter((event) => event.message.correlationId === second.correlationId);
    expect(phases(failed)).toEqual(FAILED);
    expect(failed[2]?.message.error).toBeInstanceOf(RangeError);
    const succeeded = served.filter((event) => event.message.correlationId === first.correlationId);
    expect(phases(succeeded)).toEqual(SUCCEEDED);
    expect(replies).toEqual([]);
  });
});

describe('warren:operation and warren:connect', () => {
  it('traces declares, binds and gets, with the method, its arguments and the reply', async () => {
    const channel = await openChannel();
    const name = uniqueName('diag-q');
    const exchangeName = uniqueName('diag-x');
    deleteAfterTest(connection, 'queue', name);
    deleteAfterTest(connection, 'exchange', exchangeName);
    const mine = (message: OperationDiagnostic) =>
      message.arguments.queue === name || message.arguments.exchange === exchangeName;
    const events = recordTrace<OperationDiagnostic>(DIAGNOSTICS_CHANNELS.operation, mine);

    const exchange = await channel.declareExchange(exchangeName, 'direct', { autoDelete: true });
    const queue = await channel.declareQueue(name, { durable: false });
    await queue.bind(exchange, 'key');
    await queue.get();

    const methods = events
      .filter((event) => event.phase === 'start')
      .map((event) => event.message.method);
    expect(methods).toEqual(['exchange.declare', 'queue.declare', 'queue.bind', 'basic.get']);
    expect(phases(events)).toEqual([...SUCCEEDED, ...SUCCEEDED, ...SUCCEEDED, ...SUCCEEDED]);
    const declared = events[4]?.message as OperationDiagnostic;
    expect(declared).toMatchObject({
      ...endpoint(),
      channelId: channel.id,
      method: 'queue.declare',
      arguments: { queue: name, durable: false },
      reply: { queue: name, messageCount: 0 },
    });
    expect(events[8]?.message.arguments).toMatchObject({
      queue: name,
      exchange: exchangeName,
      routingKey: 'key',
    });
  });

  it('a refused operation is the error phase', async () => {
    const channel = await openChannel();
    const missing = uniqueName('missing');
    const events = recordTrace<OperationDiagnostic>(
      DIAGNOSTICS_CHANNELS.operation,
      (message) => message.arguments.queue === missing,
    );

    await expect(channel.declareQueue(missing, { passive: true })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });

    expect(phases(events)).toEqual(FAILED);
    expect(events[2]?.message.error).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('traces connecting, without credentials', async () => {
    const name = uniqueName('diag-connect');
    const events = recordTrace<ConnectDiagnostic>(
      DIAGNOSTICS_CHANNELS.connect,
      (message) => message.connectionName === name,
    );

    const traced = await connect(url, { connectionName: name });
    await traced.close();

    expect(phases(events)).toEqual(SUCCEEDED);
    expect(events[0]?.message).toEqual({ ...endpoint(), vhost: '/', connectionName: name });
  });
});

describe('nobody listening', () => {
  it('builds no diagnostics message on publish, delivery, settlement or declare', async () => {
    const channel = await openChannel(true);
    // Every message about a channel reads the socket's peer from the connection: none does.
    const built = vi.spyOn(channel.connection, 'peerAddress', 'get');
    const queue = await channel.declareQueue('', { exclusive: true });
    const done = new Promise<void>((resolve) => {
      void queue.consume((message) => {
        message.ack();
        resolve();
      });
    });
    await channel.exchange('').publish('quiet', queue.name);
    await within(done, 5_000, 'the delivery');
    await channel
      .exchange('')
      .publish('lost', uniqueName('nowhere'))
      .catch(() => {});

    expect(built).not.toHaveBeenCalled();
    // The spy itself works: one listener makes it count.
    recordChannel(DIAGNOSTICS_CHANNELS.settle);
    await channel.exchange('').publish('heard', queue.name);
    await waitFor(() => built.mock.calls.length > 0, 5_000, 'a settle message');
  });
});

describe('connection channels, on a node of our own', { timeout: 180_000 }, () => {
  let broker: Broker;

  beforeAll(async () => {
    broker = await startBroker();
  }, 180_000);

  afterAll(async () => {
    await broker?.stop();
  });

  it('lost and recovered, when the broker closes the connection; returns heard after', async () => {
    const name = uniqueName('diag-lost');
    const own = await connect(broker.url, {
      connectionName: name,
      recovery: { initialDelay: 50 },
    });
    try {
      const port = Number(new URL(broker.url).port);
      const mine = (message: { serverPort: number }) => message.serverPort === port;
      const lost = recordChannel<ConnectionLostDiagnostic>(
        DIAGNOSTICS_CHANNELS.connectionLost,
        mine,
      );
      const recovered = recordChannel<ConnectionRecoveredDiagnostic>(
        DIAGNOSTICS_CHANNELS.connectionRecovered,
        mine,
      );
      const confirming = await own.openChannel({ confirm: true });
      const back = new Promise((resolve) => own.once('recovered', resolve));

      await broker.rabbitmqctl('close_connection', await connectionPid(broker, name), 'diag');
      await within(back, 30_000, 'the recovery');

      expect(lost).toHaveLength(1);
      expect(lost[0]).toMatchObject({ serverPort: port, recovering: true, connection: own });
      expect(lost[0]?.error).toMatchObject({ code: 'CONNECTION_FORCED' });
      expect(recovered).toHaveLength(1);
      expect(recovered[0]).toMatchObject({ serverPort: port, attempt: 1, connection: own });
      expect(recovered[0]?.downtime).toBeGreaterThanOrEqual(0);

      // The recovered channel's confirms still tell warren:return of a returned message.
      const nowhere = uniqueName('nowhere');
      const returns = recordChannel<ReturnDiagnostic>(
        DIAGNOSTICS_CHANNELS.return,
        (message) => message.routingKey === nowhere,
      );
      await expect(confirming.exchange('').publish('lost', nowhere)).rejects.toBeInstanceOf(
        MessageReturnedError,
      );
      expect(returns).toMatchObject([{ confirmed: true, serverPort: port }]);
    } finally {
      await own.close();
    }
  });

  it('blocked and unblocked, under a memory alarm', async () => {
    const own = await connect(broker.url);
    try {
      const port = Number(new URL(broker.url).port);
      const mine = (message: { serverPort: number }) => message.serverPort === port;
      const blocked = recordChannel<ConnectionBlockedDiagnostic>(
        DIAGNOSTICS_CHANNELS.connectionBlocked,
        mine,
      );
      const unblocked = recordChannel<ConnectionUnblockedDiagnostic>(
        DIAGNOSTICS_CHANNELS.connectionUnblocked,
        mine,
      );
      const waiting = recordChannel<ConnectionWaitingDiagnostic>(
        DIAGNOSTICS_CHANNELS.connectionWaiting,
        (message) => message.connection === own,
      );
      const channel = await own.openChannel();
      const blockedEvent = watch(new Promise((resolve) => own.once('blocked', resolve)));
      const unblockedEvent = new Promise<void>((resolve) => own.once('unblocked', () => resolve()));

      await broker.rabbitmqctl('set_vm_memory_high_watermark', '0.0000001');
      let held: Promise<void> | undefined;
      try {
        // The broker blocks a connection once it publishes.
        for (let i = 0; i < 100 && !blockedEvent.settled; i++) {
          await channel.exchange('').publish('trigger', uniqueName('nowhere'), {
            mandatory: false,
          });
          await sleep(50);
        }
        await within(blockedEvent.result, 5_000, 'connection.blocked');
        // Blocked: a publish waits for the unblock.
        held = channel.exchange('').publish('held', uniqueName('nowhere'), { mandatory: false });
        await waitFor(() => waiting.length === 1, 5_000, 'the waiting publish');
      } finally {
        await broker.rabbitmqctl('set_vm_memory_high_watermark', '0.4');
      }
      await within(unblockedEvent, 30_000, 'connection.unblocked');
      await held;
      expect(waiting).toEqual([
        { connection: own, ...endpointOf(port), publishes: 1, bytes: 4 },
        { connection: own, ...endpointOf(port), publishes: 0, bytes: 0 },
      ]);

      expect(blocked).toHaveLength(1);
      expect(blocked[0]?.reason).toMatch(/memory/);
      expect(blocked[0]?.connection).toBe(own);
      expect(unblocked).toEqual([{ connection: own, ...endpointOf(port) }]);
    } finally {
      await own.close();
    }
  });
});
