/**
 * warren/otel against RabbitMQ, with the OpenTelemetry SDK collecting in
 * memory: a publish's PRODUCER span is the parent of the consumer's
 * CONSUMER `process` span, in which the handler's own spans nest; a nacked
 * or returned publish fails its span; an RPC server's process span descends
 * from the caller's span; a consumer on another connection continues the
 * trace; concurrent handlers each run in their own span; and tracing goes
 * on after the connection recovers.
 */
import { type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { type Connection, connect, type IncomingMessage, Message } from '../../lib/index.js';
import { instrument, METRICS, SEMCONV_VERSION } from '../../lib/otel/index.js';
import { uniqueName, useConnection, waitFor } from '../support/amqp-helpers.js';
import { connectionPid, within } from '../support/fault-helpers.js';
import { isChildOf, metricPoints, SpanKind, useOtel, warrenSpan } from '../support/otel.js';
import { rabbitmqctl } from '../support/test-broker.js';

const url = inject('amqpUrl');
const server = new URL(url);
let connection: Connection;
const openChannel = useConnection(url, (opened) => {
  connection = opened;
});
const otel = useOtel();

/** Runs `fn` in a new active span of the test's, ended once `fn` settles. */
async function inSpan<T>(name: string, fn: (span: Span) => Promise<T>): Promise<[T, Span]> {
  return otel.tracer.startActiveSpan(name, async (span): Promise<[T, Span]> => {
    try {
      return [await fn(span), span];
    } finally {
      span.end();
    }
  });
}

/** The span of `spans` that `span` is. */
function find(spans: ReadableSpan[], span: Span): ReadableSpan | undefined {
  return spans.find((each) => each.spanContext().spanId === span.spanContext().spanId);
}

describe('warren/otel spans', () => {
  it('publish → process → the handler: one trace, with the conventions’ attributes', async () => {
    const channel = await openChannel(true);
    const queue = await channel.declareQueue('', { exclusive: true });
    let handlerSpan: Span | undefined;
    await queue.consume(
      async (message) => {
        handlerSpan = otel.tracer.startSpan('handler work');
        await new Promise((resolve) => setTimeout(resolve, 5));
        handlerSpan.end();
        message.ack();
      },
      { prefetch: 1 },
    );
    const [, root] = await inSpan('request', () =>
      channel
        .exchange('')
        .publish(new Message('hello', { messageId: 'm-1', correlationId: 'c-1' }), queue.name),
    );

    const process = await otel.span(
      warrenSpan(SpanKind.CONSUMER, `process ${queue.name}`),
      'process',
    );
    const spans = otel.spans();
    const send = spans.find(warrenSpan(SpanKind.PRODUCER, 'send'));
    const handler = find(spans, handlerSpan as Span);
    const request = find(spans, root);
    expect(send && handler && request).toBeTruthy();
    if (!send || !handler || !request) return;
    expect(isChildOf(send, request)).toBe(true);
    expect(isChildOf(process, send)).toBe(true);
    expect(isChildOf(handler, process)).toBe(true);
    expect(send.attributes).toMatchObject({
      'messaging.system': 'rabbitmq',
      'messaging.destination.name': '',
      'messaging.rabbitmq.destination.routing_key': queue.name,
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.message.id': 'm-1',
      'messaging.message.conversation_id': 'c-1',
      'messaging.message.body.size': 5,
      'server.address': server.hostname,
      'server.port': Number(server.port || 5672),
    });
    expect(send.status.code).toBe(SpanStatusCode.UNSET);
    expect(process.attributes).toMatchObject({
      'messaging.system': 'rabbitmq',
      'messaging.destination.name': '',
      'messaging.operation.type': 'process',
      'messaging.consumer.group.name': queue.name,
      'messaging.rabbitmq.message.delivery_tag': 1,
      'messaging.message.id': 'm-1',
      'warren.message.attempt': 1,
      'warren.message.redelivered': false,
    });
    expect(process.events.map((event) => event.name)).toEqual(['ack']);
    expect(SEMCONV_VERSION).toMatch(/^1\.\d+\.\d+$/);
  });

  it('a nacked publish fails its span, with error.type the error’s code', async () => {
    const channel = await openChannel(true);
    const queue = await channel.declareQueue('', {
      exclusive: true,
      arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' },
    });
    const exchange = channel.exchange('');
    await exchange.publish('first', queue.name);
    const error = await exchange.publish('second', queue.name).catch((thrown: unknown) => thrown);

    const sends = otel.spans().filter(warrenSpan(SpanKind.PRODUCER, 'send'));
    expect(sends.map((span) => span.status.code)).toEqual([
      SpanStatusCode.UNSET,
      SpanStatusCode.ERROR,
    ]);
    expect(sends[1]?.attributes['error.type']).toBe((error as { code: string }).code);
  });

  it('a returned message: an event of its publish span, which fails', async () => {
    const channel = await openChannel(true);
    const nowhere = uniqueName('nowhere');
    const error = await channel
      .exchange('')
      .publish('lost', nowhere)
      .catch((thrown: unknown) => thrown);

    const [send] = otel.spans().filter(warrenSpan(SpanKind.PRODUCER, 'send'));
    expect(send?.status.code).toBe(SpanStatusCode.ERROR);
    expect(send?.attributes['error.type']).toBe((error as { code: string }).code);
    expect(
      send?.events.map((event) => [event.name, event.attributes?.['warren.return.code']]),
    ).toEqual([['returned', 312]]);
  });

  it('RPC: the server’s process span descends from the caller’s span', async () => {
    const channel = await openChannel();
    const queue = await channel.declareQueue(uniqueName('otel-rpc'), { exclusive: true });
    await queue.serve(() => ({ ok: true }));
    const client = await connection.rpcClient();
    try {
      const [reply, root] = await inSpan('caller', () => client.call(queue.name, { ping: 1 }));
      expect(reply).toEqual({ ok: true });

      const process = await otel.span(
        warrenSpan(SpanKind.CONSUMER, `process ${queue.name}`),
        'the served request',
      );
      const spans = otel.spans();
      const call = spans.find(warrenSpan(SpanKind.CLIENT, `call ${queue.name}`));
      const send = spans.find(
        (span) =>
          warrenSpan(SpanKind.PRODUCER, 'send')(span) &&
          call !== undefined &&
          isChildOf(span, call),
      );
      const caller = find(spans, root);
      expect(call && send && caller).toBeTruthy();
      if (!call || !send || !caller) return;
      expect(isChildOf(call, caller)).toBe(true);
      expect(isChildOf(process, send)).toBe(true);
      expect(process.spanContext().traceId).toBe(caller.spanContext().traceId);
      expect(call.attributes['messaging.message.conversation_id']).toBe(
        process.attributes['messaging.message.conversation_id'],
      );
    } finally {
      await client.close();
    }
  });

  it('a consumer on a second connection continues the producer’s trace', async () => {
    const other = await connect(url);
    try {
      const consuming = await other.openChannel();
      const queue = await consuming.declareQueue(uniqueName('otel-second'), { exclusive: true });
      await queue.consume((message) => message.ack());
      const [, root] = await inSpan('producer', () =>
        connection.openChannel().then(async (channel) => {
          await channel.exchange('').publish('across', queue.name);
          await channel.close();
        }),
      );

      const process = await otel.span(
        warrenSpan(SpanKind.CONSUMER, `process ${queue.name}`),
        'process',
      );
      const send = otel.spans().find(warrenSpan(SpanKind.PRODUCER, 'send'));
      expect(send && isChildOf(send, root.spanContext())).toBe(true);
      expect(send && isChildOf(process, send)).toBe(true);
    } finally {
      await other.close();
    }
  });

  it('concurrency 2: each handler runs in its own process span, across awaits', async () => {
    const channel = await openChannel();
    const queue = await channel.declareQueue('', { exclusive: true });
    const seen = new Map<string, string | undefined>();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let running = 0;
    await queue.consume(
      async (message: IncomingMessage) => {
        running++;
        if (running === 2) release();
        await gate;
        // Both are now between their awaits: each still sees its own span.
        seen.set(message.text(), trace.getActiveSpan()?.spanContext().spanId);
        message.ack();
      },
      { prefetch: 2, concurrency: 2 },
    );
    const exchange = channel.exchange('');
    await inSpan('one', () =>
      exchange.publish(new Message('one', { messageId: 'one' }), queue.name),
    );
    await inSpan('two', () =>
      exchange.publish(new Message('two', { messageId: 'two' }), queue.name),
    );

    await waitFor(
      () =>
        otel.spans().filter(warrenSpan(SpanKind.CONSUMER, `process ${queue.name}`)).length === 2,
    );
    const processes = otel.spans().filter(warrenSpan(SpanKind.CONSUMER, `process ${queue.name}`));
    for (const id of ['one', 'two']) {
      const process = processes.find((span) => span.attributes['messaging.message.id'] === id);
      expect(process?.spanContext().spanId).toBeDefined();
      expect(seen.get(id)).toBe(process?.spanContext().spanId);
    }
  });

  it('a failing handler fails its process span; the retry says it is redelivered', async () => {
    const channel = await openChannel();
    const queue = await channel.declareQueue('', { exclusive: true });
    const consumer = await queue.consume(() => {
      throw new TypeError('cannot handle this');
    });
    consumer.on('error', () => {});
    await channel.exchange('').publish('poison', queue.name);

    const name = `process ${queue.name}`;
    await waitFor(() => otel.spans().filter(warrenSpan(SpanKind.CONSUMER, name)).length === 2);
    const processes = otel.spans().filter(warrenSpan(SpanKind.CONSUMER, name));
    expect(
      processes.map((span) => [
        span.status.code,
        span.attributes['error.type'],
        span.attributes['warren.message.redelivered'],
      ]),
    ).toEqual([
      [SpanStatusCode.ERROR, 'TypeError', false],
      [SpanStatusCode.ERROR, 'TypeError', true],
    ]);
    // retry-once: requeued the first time, dropped (or dead-lettered) the second.
    expect(
      processes.map((span) =>
        span.events.map((event) => [event.name, event.attributes?.['warren.settle.requeue']]),
      ),
    ).toEqual([[['reject', true]], [['reject', false]]]);
  });

  it('with operations: CLIENT spans for connecting and channel operations', async () => {
    const instrumentation = instrument({ operations: true, metrics: false });
    onTestFinished(() => instrumentation.disable());
    const own = await connect(url);
    try {
      const channel = await own.openChannel();
      const queue = await channel.declareQueue(uniqueName('otel-ops'), { exclusive: true });
      const spans = otel.spans();
      const connecting = spans.find(warrenSpan(SpanKind.CLIENT, 'connect'));
      expect(connecting?.attributes).toMatchObject({
        'messaging.system': 'rabbitmq',
        'server.port': Number(server.port || 5672),
      });
      const declare = spans.find(warrenSpan(SpanKind.CLIENT, 'queue.declare'));
      expect(declare?.attributes).toMatchObject({
        'messaging.operation.name': 'queue.declare',
        'messaging.destination.name': queue.name,
      });
    } finally {
      await own.close();
    }
  });

  describe('across a recovery', () => {
    let own: Connection;
    const name = uniqueName('otel-recovery');

    beforeAll(async () => {
      own = await connect(url, { connectionName: name, recovery: { initialDelay: 50 } });
    });

    afterAll(async () => {
      await own?.close();
    });

    it('a consumer recovered with its connection still continues the trace', async () => {
      const channel = await own.openChannel();
      const queue = await channel.declareQueue(uniqueName('otel-recovered'));
      try {
        const consumer = await queue.consume((message) => message.ack());
        onTestFinished(() => consumer.cancel());
        const back = new Promise((resolve) => own.once('recovered', resolve));
        await rabbitmqctl('close_connection', await connectionPid(rabbitmqctl, name), 'otel');
        await within(back, 30_000, 'the recovery');

        const [, root] = await inSpan('after recovery', () =>
          channel.exchange('').publish('again', queue.name),
        );
        const process = await otel.span(
          warrenSpan(SpanKind.CONSUMER, `process ${queue.name}`),
          'process',
        );
        const send = otel.spans().find(warrenSpan(SpanKind.PRODUCER, 'send'));
        expect(send && isChildOf(send, root.spanContext())).toBe(true);
        expect(send && isChildOf(process, send)).toBe(true);

        const exported = await otel.metrics();
        const [recoveries] = metricPoints(exported, METRICS.recoveries);
        expect(recoveries?.value).toBe(1);
        const [downtime] = metricPoints(exported, METRICS.recoveryDuration);
        expect(downtime?.value).toMatchObject({ count: 1 });
      } finally {
        await queue.delete({ ifUnused: false });
      }
    });
  });
});

describe('warren/otel metrics', () => {
  it('counts sent, nacked, returned, consumed and settled messages, and times them', async () => {
    const channel = await openChannel(true);
    const exchange = await channel.declareExchange(uniqueName('otel-metrics'), 'fanout', {
      autoDelete: true,
    });
    const nowhere = await channel.declareExchange(uniqueName('otel-nowhere'), 'fanout', {
      autoDelete: true,
    });
    const queue = await channel.declareQueue('', {
      exclusive: true,
      arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' },
    });
    await queue.bind(exchange);
    await exchange.publish('first');
    await expect(exchange.publish('second')).rejects.toThrow();
    await expect(nowhere.publish('lost')).rejects.toThrow();
    await queue.consume((message) => message.nack({ requeue: false }));
    await otel.span(warrenSpan(SpanKind.CONSUMER, `process ${queue.name}`), 'process');

    const exported = await otel.metrics();
    const of = (name: string, key: string, value: string) =>
      metricPoints(exported, name).filter((point) => point.attributes[key] === value);
    const sent = of(METRICS.sent, 'messaging.destination.name', exchange.name);
    expect(sent.map((point) => [point.attributes['error.type'], point.value])).toEqual(
      expect.arrayContaining([
        [undefined, 1],
        ['PUBLISH_NACKED', 1],
      ]),
    );
    expect(sent[0]?.attributes).toMatchObject({
      'messaging.system': 'rabbitmq',
      'messaging.operation.name': 'send',
      'server.port': Number(server.port || 5672),
    });
    expect(of(METRICS.nacked, 'messaging.destination.name', exchange.name)).toMatchObject([
      { value: 1 },
    ]);
    expect(of(METRICS.returned, 'messaging.destination.name', nowhere.name)).toMatchObject([
      { value: 1 },
    ]);
    const durations = of(METRICS.operationDuration, 'messaging.destination.name', exchange.name);
    expect(
      durations.reduce((total, point) => total + (point.value as { count: number }).count, 0),
    ).toBe(2);
    expect(of(METRICS.consumed, 'messaging.consumer.group.name', queue.name)).toMatchObject([
      { value: 1, attributes: { 'messaging.operation.name': 'deliver' } },
    ]);
    expect(of(METRICS.processDuration, 'messaging.consumer.group.name', queue.name)).toMatchObject([
      { value: { count: 1 } },
    ]);
    const settled = metricPoints(exported, METRICS.settled).filter(
      (point) => point.attributes['warren.settle.kind'] === 'nack',
    );
    expect(settled.length).toBe(1);
  });
});
