/**
 * warren/otel and amqplib under @opentelemetry/instrumentation-amqplib, in
 * one process with one SDK: a message amqplib publishes and warren consumes
 * continues amqplib's trace, and the reverse, because both carry the context
 * in the W3C `traceparent` header through the global propagator.
 */
import { createRequire } from 'node:module';
import { AmqplibInstrumentation } from '@opentelemetry/instrumentation-amqplib';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { uniqueName, useConnection } from '../support/amqp-helpers.js';
import { isChildOf, SpanKind, useOtel, warrenSpan } from '../support/otel.js';

/** The part of amqplib's promise API these tests use. */
interface AmqplibChannel {
  assertQueue(name: string, options: { exclusive: boolean }): Promise<unknown>;
  publish(exchange: string, routingKey: string, body: Buffer): boolean;
  consume(queue: string, onMessage: (message: unknown) => void): Promise<unknown>;
  ack(message: unknown): void;
  close(): Promise<void>;
}
interface AmqplibConnection {
  createChannel(): Promise<AmqplibChannel>;
  close(): Promise<void>;
}

const url = inject('amqpUrl');
const openChannel = useConnection(url, () => {});
const otel = useOtel();
// Enabled before amqplib is required, so that its require hook patches amqplib's modules.
const instrumentation = new AmqplibInstrumentation();
let amqplib: AmqplibConnection;

beforeAll(async () => {
  const required = createRequire(import.meta.url)('amqplib') as {
    connect(url: string): Promise<AmqplibConnection>;
  };
  amqplib = await required.connect(url);
});

afterAll(async () => {
  await amqplib?.close();
  instrumentation.disable();
});

/** Whether `span` is one of amqplib's instrumentation's, of `kind`. */
const amqplibSpan = (kind: SpanKind) => (span: ReadableSpan) =>
  span.instrumentationScope.name.includes('amqplib') && span.kind === kind;

describe('warren/otel with instrumentation-amqplib', () => {
  it('amqplib publishes, warren consumes: one trace', async () => {
    const channel = await openChannel();
    const queue = await channel.declareQueue(uniqueName('otel-from-amqplib'), { exclusive: true });
    await queue.consume((message) => {
      otel.tracer.startSpan('warren handler').end();
      message.ack();
    });
    const publishing = await amqplib.createChannel();
    onTestFinished(() => publishing.close());
    otel.tracer.startActiveSpan('amqplib producer', (root) => {
      publishing.publish('', queue.name, Buffer.from('from amqplib'));
      root.end();
    });

    const process = await otel.span(
      warrenSpan(SpanKind.CONSUMER, `process ${queue.name}`),
      'warren’s process span',
    );
    const spans = otel.spans();
    const publish = spans.find(amqplibSpan(SpanKind.PRODUCER));
    const root = spans.find((span) => span.name === 'amqplib producer');
    const handler = spans.find((span) => span.name === 'warren handler');
    expect(publish && root && handler).toBeTruthy();
    if (!publish || !root || !handler) return;
    expect(isChildOf(publish, root)).toBe(true);
    expect(isChildOf(process, publish)).toBe(true);
    expect(isChildOf(handler, process)).toBe(true);
  });

  it('warren publishes, amqplib consumes: one trace', async () => {
    const channel = await openChannel();
    const name = uniqueName('otel-to-amqplib');
    const consuming = await amqplib.createChannel();
    onTestFinished(() => consuming.close());
    await consuming.assertQueue(name, { exclusive: true });
    await consuming.consume(name, (message) => {
      consuming.ack(message);
    });
    await otel.tracer.startActiveSpan('warren producer', async (root) => {
      await channel.exchange('').publish('from warren', name);
      root.end();
    });

    const consume = await otel.span(amqplibSpan(SpanKind.CONSUMER), 'amqplib’s consumer span');
    const spans = otel.spans();
    const send = spans.find(warrenSpan(SpanKind.PRODUCER, `send ${name}`));
    const root = spans.find((span) => span.name === 'warren producer');
    expect(send && root).toBeTruthy();
    if (!send || !root) return;
    expect(isChildOf(send, root)).toBe(true);
    expect(isChildOf(consume, send)).toBe(true);
  });
});
