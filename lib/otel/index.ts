/**
 * `warren/otel`: OpenTelemetry traces and metrics for warren, from the
 * events warren publishes on `node:diagnostics_channel`. One call,
 * {@link instrument}, subscribes; the spans and metrics follow the
 * OpenTelemetry messaging semantic conventions for RabbitMQ (version
 * {@link SEMCONV_VERSION}). Context travels in the message headers through
 * the globally configured propagator (W3C `traceparent` by default), so
 * traces continue across services and across clients (amqplib under
 * `@opentelemetry/instrumentation-amqplib` among them). See
 * docs/observability.md.
 *
 * `@opentelemetry/api` is an optional peer dependency of warren, loaded only
 * by this entry.
 * @packageDocumentation
 */
import { type MeterProvider, metrics, type TracerProvider, trace } from '@opentelemetry/api';
import { VERSION } from 'warren';
import { measureWarren } from './metrics.js';
import type { Undo } from './subscriptions.js';
import { traceWarren } from './traces.js';

export { METRICS } from './metrics.js';
export { SEMCONV_VERSION } from './semconv.js';

/** The instrumentation scope name of warren's tracer and meter. */
export const INSTRUMENTATION_NAME = 'warren';

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /** Where spans go; the globally registered provider by default. */
  readonly tracerProvider?: TracerProvider;
  /** Where metrics go; the globally registered provider by default. */
  readonly meterProvider?: MeterProvider;
  /**
   * Whether connecting and channel operations (declare, bind, qos, tx, …)
   * get CLIENT spans too (`get` always has one). Off by default: they are
   * setup, not traffic, and would crowd every trace that starts a consumer.
   */
  readonly operations?: boolean;
  /**
   * Whether spans carry `messaging.message.body.size`, the body's size in
   * bytes. Off by default: the conventions make it opt-in.
   */
  readonly bodySize?: boolean;
  /** Whether to record spans (default true). */
  readonly traces?: boolean;
  /** Whether to record metrics (default true). */
  readonly metrics?: boolean;
}

/** What {@link instrument} returns: the subscriptions it made, to remove. */
export interface Instrumentation {
  /** Unsubscribes everything {@link instrument} subscribed; spans already started still end. */
  disable(): void;
}

/**
 * Subscribes OpenTelemetry spans and metrics to warren's diagnostics
 * channels, for every connection of the process: PRODUCER `send` spans for
 * publishes (injecting their context into the headers), CONSUMER `process`
 * spans the handlers run in (with the producer's span as parent), CLIENT
 * spans for RPC calls, and the messaging metrics. Call it once, after
 * registering the SDK.
 *
 * The messaging conventions are still in Development: for instrumentations
 * that emitted v1.24 or older, they ask to keep doing so unless
 * `OTEL_SEMCONV_STABILITY_OPT_IN` says `messaging` (or `messaging/dup`).
 * warren had no older conventions, so it emits {@link SEMCONV_VERSION}'s
 * whatever that variable says.
 *
 * ```ts
 * import { instrument } from 'warren/otel';
 * const instrumentation = instrument();
 * // …
 * instrumentation.disable();
 * ```
 */
export function instrument(options: InstrumentOptions = {}): Instrumentation {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('instrument takes an options object');
  }
  const undo: Undo[] = [];
  if (options.traces !== false) {
    const provider = options.tracerProvider ?? trace.getTracerProvider();
    const tracer = provider.getTracer(INSTRUMENTATION_NAME, VERSION);
    undo.push(
      ...traceWarren({
        tracer,
        operations: options.operations === true,
        bodySize: options.bodySize === true,
      }),
    );
  }
  if (options.metrics !== false) {
    const provider = options.meterProvider ?? metrics.getMeterProvider();
    undo.push(...measureWarren(provider.getMeter(INSTRUMENTATION_NAME, VERSION)));
  }
  let enabled = true;
  return {
    disable() {
      if (!enabled) return;
      enabled = false;
      for (const each of undo.splice(0)) each();
    },
  };
}
