/**
 * warren/otel's pieces that need no broker: the propagator's view of a
 * message's headers (strings written; strings and bytes read, nothing else),
 * `error.type` from what was thrown, a tracer that throws, kept from warren,
 * and a publish that throws at once (no async phase), ended and counted.
 */
import { channel, tracingChannel } from 'node:diagnostics_channel';
import { DiagLogLevel, diag, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  DIAGNOSTICS_CHANNELS,
  DisconnectedError,
  type FieldTable,
  PublishNackedError,
} from '../../lib/index.js';
import { headerGetter, headerSetter } from '../../lib/otel/headers.js';
import { instrument, METRICS } from '../../lib/otel/index.js';
import { errorType } from '../../lib/otel/semconv.js';
import { inMemorySdk, metricPoints } from '../support/otel.js';

describe('the headers carrier', () => {
  it('writes string headers, and reads strings and bytes back', () => {
    const headers: FieldTable = { other: 1 };
    headerSetter.set(headers, 'traceparent', '00-abc-def-01');
    headers.tracestate = Buffer.from('vendor=1');
    expect(headerGetter.get(headers, 'traceparent')).toBe('00-abc-def-01');
    expect(headerGetter.get(headers, 'tracestate')).toBe('vendor=1');
    expect(headerGetter.get(headers, 'other')).toBeUndefined();
    expect(headerGetter.get(undefined, 'traceparent')).toBeUndefined();
    expect(headerGetter.keys(headers)).toEqual(['other', 'traceparent', 'tracestate']);
    expect(headerGetter.keys(undefined)).toEqual([]);
  });
});

describe('error.type', () => {
  it('is a warren error’s code, else the error’s name, else _OTHER', () => {
    const nacked = new PublishNackedError();
    expect(errorType(nacked)).toBe(nacked.code);
    expect(nacked.code).not.toBe(nacked.name);
    expect(errorType(new RangeError('x'))).toBe('RangeError');
    expect(errorType('a string')).toBe('_OTHER');
    expect(errorType(undefined)).toBe('_OTHER');
  });
});

describe('a failing tracer', () => {
  it('never throws into warren: the failure goes to the OpenTelemetry diagnostic logger', () => {
    const errors: unknown[] = [];
    const ignore = () => {};
    diag.setLogger(
      {
        error: (...args) => errors.push(args),
        warn: ignore,
        info: ignore,
        debug: ignore,
        verbose: ignore,
      },
      DiagLogLevel.ERROR,
    );
    onTestFinished(() => diag.disable());
    const broken = () => {
      throw new Error('broken tracer');
    };
    const tracerProvider = {
      getTracer: () => ({ startSpan: broken, startActiveSpan: broken }) as unknown as Tracer,
    };
    const instrumentation = instrument({ tracerProvider, metrics: false });
    onTestFinished(() => instrumentation.disable());

    const message = { exchange: 'x', routingKey: 'k', headers: {}, properties: { headers: {} } };
    tracingChannel(DIAGNOSTICS_CHANNELS.publish).start.publish(message);
    const result = tracingChannel(DIAGNOSTICS_CHANNELS.process).start.runStores(message, () => 42);

    expect(result).toBe(42);
    expect(errors).toHaveLength(2);
  });
});

describe('a publish that throws at once', () => {
  it('ends its span failed, and counts a failed send, with no async phase to wait for', async () => {
    const sdk = inMemorySdk();
    const { tracerProvider, meterProvider } = sdk;
    const instrumentation = instrument({ tracerProvider, meterProvider });
    onTestFinished(async () => {
      instrumentation.disable();
      await sdk.shutdown();
    });
    const message = {
      serverAddress: 'rabbit.local',
      serverPort: 5672,
      peerAddress: '10.0.0.7',
      peerPort: 5672,
      channelId: 1,
      exchange: 'orders',
      routingKey: 'created',
      mandatory: false,
      confirm: true,
      bodySize: 2,
      properties: {},
      headers: {},
      messageId: undefined,
      correlationId: undefined,
    };
    const closed = new DisconnectedError('the connection is down');

    expect(() =>
      tracingChannel(DIAGNOSTICS_CHANNELS.publish).traceSync(() => {
        throw closed;
      }, message),
    ).toThrow(closed);

    const [span] = sdk.spans();
    expect(span?.name).toBe('send orders');
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.attributes['error.type']).toBe(closed.code);
    const sent = metricPoints(await sdk.metrics(), METRICS.sent);
    expect(sent.map((point) => [point.attributes['error.type'], point.value])).toEqual([
      [closed.code, 1],
    ]);
  });
});

describe('disable()', () => {
  it('removes every subscription, so warren is back to building nothing', () => {
    const listened = () =>
      Object.values(DIAGNOSTICS_CHANNELS).filter((name) => {
        const traced = tracingChannel(name);
        return (
          subscribersOf(name) ||
          traced.start.hasSubscribers ||
          traced.end.hasSubscribers ||
          traced.asyncStart.hasSubscribers ||
          traced.asyncEnd.hasSubscribers ||
          traced.error.hasSubscribers
        );
      });
    expect(listened()).toEqual([]);
    const instrumentation = instrument({ operations: true });
    expect(listened().sort()).toEqual(
      Object.values(DIAGNOSTICS_CHANNELS).filter(isInstrumented).sort(),
    );
    instrumentation.disable();
    instrumentation.disable();
    expect(listened()).toEqual([]);
  });
});

/** Whether the plain channel `name` has subscribers. */
function subscribersOf(name: string): boolean {
  return channel(name).hasSubscribers;
}

/**
 * The channels warren/otel listens to: all but receive (a delivery counts
 * once handed to its handler), blocked, unblocked and lost.
 */
function isInstrumented(name: string): boolean {
  return !/receive|blocked|lost/.test(name);
}
