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
import { type Connection, connect, type IncomingMessage, Message, retry } from '../../lib/index.js';
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
    const queue = await channel.declareQueue(uniqueName('otel-trace'), { exclusive: true });
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
    const send = spans.find(warrenSpan(SpanKind.PRODUCER, `send ${queue.name}`));
    const handler = find(spans, handlerSpan as Span);
    const request = find(spans, root);
    expect(send && handler && request).toBeTruthy();
    if (!send || !handler || !request) return;
    expect(isChildOf(send, request)).toBe(true);
    expect(isChildOf(process, send)).toBe(true);
    expect(isChildOf(handler, process)).toBe(true);
    // The process span links to the message's creation context too, as the conventions ask.
    expect(process.links.map((link) => link.context.spanId)).toEqual([send.spanContext().spanId]);
    expect(send.attributes).toMatchObject({
      'messaging.system': 'rabbitmq',
      // Through the default exchange: the routing key alone names the destination.
      'messaging.destination.name': queue.name,
      'messaging.destination.template': queue.name,
      'messaging.rabbitmq.destination.routing_key': queue.name,
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.message.id': 'm-1',
      'messaging.message.conversation_id': 'c-1',
      'server.address': server.hostname,
      'server.port': Number(server.port || 5672),
      'network.peer.port': Number(server.port || 5672),
    });
    expect(send.attributes['network.peer.address']).toMatch(/^[\d.]+$|:/);
    // Opt-in in the conventions: not without `bodySize: true`.
    expect(send.attributes).not.toHaveProperty('messaging.message.body.size');
    expect(send.status.code).toBe(SpanStatusCode.UNSET);
    expect(process.attributes).toMatchObject({
      'messaging.system': 'rabbitmq',
      // The routing key is the queue's name: it appears once.
      'messaging.destination.name': queue.name,
      'messaging.destination.template': queue.name,
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.rabbitmq.message.delivery_tag': 1,
      'messaging.message.id': 'm-1',
      'warren.message.attempt': 1,
      'warren.message.redelivered': false,
    });
    expect(process.attributes).not.toHaveProperty('messaging.consumer.group.name');
    expect(process.events.map((event) => event.name)).toEqual(['ack']);
    expect(SEMCONV_VERSION).toBe('1.44.0');
  });

  it('through an exchange: exchange:key:queue; a server-named queue stays out of names', async () => {
    const channel = await openChannel(true);
    const exchange = await channel.declareExchange(uniqueName('otel-direct'), 'direct', {
      autoDelete: true,
    });
    const queue = await channel.declareQueue('', { exclusive: true });
    await queue.bind(exchange, 'pricing');
    const sized = instrument({ bodySize: true, metrics: false });
    onTestFinished(() => sized.disable());
    await queue.consume((message) => message.ack());
    await exchange.publish('hello', 'pricing');

    const processes = await waitFor(() => {
      const found = otel.spans().filter(warrenSpan(SpanKind.CONSUMER, 'process'));
      return found.length === 2 ? found : undefined;
    });
    const sends = otel.spans().filter(warrenSpan(SpanKind.PRODUCER, `send ${exchange.name}`));
    expect(sends.map((span) => span.attributes['messaging.destination.name'])).toEqual([
      `${exchange.name}:pricing`,
      `${exchange.name}:pricing`,
    ]);
    for (const process of processes) {
      expect(process.attributes).toMatchObject({
        'messaging.destination.name': `${exchange.name}:pricing:${queue.name}`,
        'messaging.destination.anonymous': true,
        'messaging.rabbitmq.destination.routing_key': 'pricing',
      });
      expect(process.attributes).not.toHaveProperty('messaging.destination.template');
    }
    // The second instrumentation asked for body sizes; the first did not.
    expect(processes.map((span) => span.attributes['messaging.message.body.size']).sort()).toEqual([
      5,
      undefined,
    ]);
  });

  it('a message that carries its creation context keeps it; the send span links to it', async () => {
    const channel = await openChannel(true);
    const queue = await channel.declareQueue(uniqueName('otel-carried'), { exclusive: true });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const spanId = '00f067aa0ba902b7';
    const traceparent = `00-${traceId}-${spanId}-01`;
    let received: IncomingMessage | undefined;
    await queue.consume((message) => {
      received = message;
      message.ack();
    });
    // As a retry publishes a consumed message again: its headers still name where it began.
    await channel
      .exchange('')
      .publish(new Message('again', { headers: { traceparent } }), queue.name);

    const process = await otel.span(
      warrenSpan(SpanKind.CONSUMER, `process ${queue.name}`),
      'process',
    );
    const send = otel.spans().find(warrenSpan(SpanKind.PRODUCER, `send ${queue.name}`));
    expect(send?.links.map((link) => link.context.spanId)).toEqual([spanId]);
    expect(received?.properties.headers?.traceparent).toBe(traceparent);
    expect(process.spanContext().traceId).toBe(traceId);
    expect(process.parentSpanContext?.spanId).toBe(spanId);
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

    const [send] = otel.spans().filter(warrenSpan(SpanKind.PRODUCER, `send ${nowhere}`));
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
          warrenSpan(SpanKind.PRODUCER, `send ${queue.name}`)(span) &&
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
      const send = otel.spans().find(warrenSpan(SpanKind.PRODUCER, `send ${queue.name}`));
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

    // A server-named queue: the span's name leaves it out.
    await waitFor(() => otel.spans().filter(warrenSpan(SpanKind.CONSUMER, 'process')).length === 2);
    const processes = otel.spans().filter(warrenSpan(SpanKind.CONSUMER, 'process'));
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

    const name = 'process';
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
        const send = otel.spans().find(warrenSpan(SpanKind.PRODUCER, `send ${queue.name}`));
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
    const queue = await channel.declareQueue(uniqueName('otel-metrics'), {
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
    const sent = of(METRICS.sent, 'messaging.destination.template', exchange.name);
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
    expect(of(METRICS.nacked, 'messaging.destination.template', exchange.name)).toMatchObject([
      { value: 1 },
    ]);
    expect(of(METRICS.returned, 'messaging.destination.template', nowhere.name)).toMatchObject([
      { value: 1 },
    ]);
    const durations = of(
      METRICS.operationDuration,
      'messaging.destination.template',
      exchange.name,
    );
    expect(
      durations.reduce((total, point) => total + (point.value as { count: number }).count, 0),
    ).toBe(2);
    expect(of(METRICS.consumed, 'messaging.destination.template', queue.name)).toMatchObject([
      { value: 1, attributes: { 'messaging.operation.name': 'process' } },
    ]);
    expect(of(METRICS.processDuration, 'messaging.destination.template', queue.name)).toMatchObject(
      [{ value: { count: 1 } }],
    );
    const settled = metricPoints(exported, METRICS.settled).filter(
      (point) => point.attributes['messaging.operation.name'] === 'nack',
    );
    expect(settled.map((point) => point.value)).toEqual([1]);
    // Destination names hold routing keys, of unbounded variety: metrics carry the template only.
    for (const name of [METRICS.sent, METRICS.consumed, METRICS.operationDuration]) {
      for (const point of metricPoints(exported, name)) {
        expect(point.attributes).not.toHaveProperty('messaging.destination.name');
      }
    }
  });

  it('a retry, then a dead letter: events of the process spans, and counts by reason', async () => {
    const channel = await openChannel(true);
    const dlx = await channel.declareExchange(uniqueName('otel-dlx'), 'fanout', {
      autoDelete: true,
    });
    const deadLetters = await channel.declareQueue('', { exclusive: true });
    await deadLetters.bind(dlx);
    const queue = await channel.declareQueue(uniqueName('otel-retry'), { exclusive: true });
    const failure = Object.assign(new Error('no stock'), { code: 'OUT_OF_STOCK' });
    const consumer = await queue.consume(
      () => {
        throw failure;
      },
      { onFailure: retry({ delays: [20], deadLetter: { exchange: dlx.name } }) },
    );
    consumer.on('error', () => {});
    await channel.exchange('').publish('order', queue.name);

    const processes = async () => {
      const name = `process ${queue.name}`;
      await waitFor(
        () => otel.spans().filter(warrenSpan(SpanKind.CONSUMER, name)).length === 2,
        5_000,
        'two process spans',
      );
      return otel.spans().filter(warrenSpan(SpanKind.CONSUMER, name));
    };
    const [first, second] = await processes();
    const events = (span: ReadableSpan | undefined) =>
      span?.events.map((event) => [event.name, event.attributes]);
    expect(first?.attributes['warren.message.attempt']).toBe(1);
    expect(events(first)).toEqual([
      ['retry', { 'error.type': 'OUT_OF_STOCK', 'warren.retry.delay': 0.02 }],
      ['ack', expect.objectContaining({ 'messaging.operation.type': 'settle' })],
    ]);
    expect(second?.attributes['warren.message.attempt']).toBe(2);
    expect(events(second)?.[0]).toEqual([
      'dead_letter',
      { 'error.type': 'OUT_OF_STOCK', 'warren.dead_letter.reason': 'exhausted' },
    ]);

    const exported = await otel.metrics();
    const mine = (name: string) =>
      metricPoints(exported, name).filter(
        (point) => point.attributes['messaging.destination.template'] === queue.name,
      );
    expect(mine(METRICS.retried)).toMatchObject([
      { value: 1, attributes: { 'error.type': 'OUT_OF_STOCK' } },
    ]);
    expect(mine(METRICS.deadLettered)).toMatchObject([
      {
        value: 1,
        attributes: { 'error.type': 'OUT_OF_STOCK', 'warren.dead_letter.reason': 'exhausted' },
      },
    ]);
    await consumer.cancel();
  });

  it('a get is a receive: a CLIENT span, and a consumed message when one came', async () => {
    const channel = await openChannel(true);
    const queue = await channel.declareQueue(uniqueName('otel-get'), { exclusive: true });
    await channel.exchange('').publish(new Message('fetch me', { messageId: 'g-1' }), queue.name);
    const fetched = await queue.get();
    fetched?.ack();
    expect(await queue.get()).toBeNull();

    const gets = otel.spans().filter(warrenSpan(SpanKind.CLIENT, `get ${queue.name}`));
    expect(gets).toHaveLength(2);
    expect(gets[0]?.attributes).toMatchObject({
      'messaging.system': 'rabbitmq',
      'messaging.operation.type': 'receive',
      'messaging.operation.name': 'get',
      'messaging.destination.name': queue.name,
      'messaging.destination.template': queue.name,
      'messaging.rabbitmq.message.delivery_tag': 1,
    });
    expect(gets[1]?.attributes).not.toHaveProperty('messaging.rabbitmq.message.delivery_tag');
    const exported = await otel.metrics();
    const consumed = metricPoints(exported, METRICS.consumed).filter(
      (point) => point.attributes['messaging.destination.template'] === queue.name,
    );
    expect(consumed).toMatchObject([
      { value: 1, attributes: { 'messaging.operation.name': 'get' } },
    ]);
    const durations = metricPoints(exported, METRICS.operationDuration).filter(
      (point) =>
        point.attributes['messaging.destination.template'] === queue.name &&
        point.attributes['messaging.operation.name'] === 'get',
    );
    expect(durations).toMatchObject([{ value: { count: 2 } }]);
  });
});
