/**
 * An OpenTelemetry SDK for a test file, collecting in memory: a tracer
 * provider with an in-memory span exporter, a meter provider whose metrics
 * a test reads on demand, the AsyncLocalStorage context manager and the W3C
 * propagator, all registered globally (as an application registers them),
 * and warren/otel instrumenting it, from the file's first test to its last.
 */
import {
  context,
  metrics,
  propagation,
  type SpanContext,
  SpanKind,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { type Instrumentation, type InstrumentOptions, instrument } from '../../lib/otel/index.js';
import { waitFor } from './amqp-helpers.js';

/** What a test reads of the SDK. */
export interface OtelHarness {
  /** A tracer of the test's own, for the spans around and inside warren's. */
  readonly tracer: Tracer;
  /** The spans ended so far in this test. */
  spans(): ReadableSpan[];
  /** Waits until a span that `accept` keeps has ended, and returns it. */
  span(accept: (span: ReadableSpan) => boolean, what: string): Promise<ReadableSpan>;
  /** Every metric recorded since the file began, exported now. */
  metrics(): Promise<ResourceMetrics[]>;
}

/** An SDK collecting in memory, registered nowhere: pass its providers where they are wanted. */
export interface InMemorySdk {
  readonly tracerProvider: BasicTracerProvider;
  readonly meterProvider: MeterProvider;
  /** The spans ended so far. */
  spans(): ReadableSpan[];
  /** Forgets the spans ended so far. */
  resetSpans(): void;
  /** Every metric recorded so far, exported now. */
  metrics(): Promise<ResourceMetrics[]>;
  /** Shuts both providers down. */
  shutdown(): Promise<void>;
}

/**
 * A tracer provider exporting each span as it ends, and a meter provider
 * whose reader exports only when asked (cumulative), both in memory.
 */
export function inMemorySdk(): InMemorySdk {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 3_600_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    tracerProvider,
    meterProvider,
    spans: () => exporter.getFinishedSpans(),
    resetSpans: () => exporter.reset(),
    async metrics() {
      await reader.forceFlush();
      return metricExporter.getMetrics();
    },
    async shutdown() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

/** Registers the SDK globally and instruments warren for the current test file. */
export function useOtel(options: InstrumentOptions = {}): OtelHarness {
  const sdk = inMemorySdk();
  const { tracerProvider, meterProvider } = sdk;
  let instrumentation: Instrumentation | undefined;
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(tracerProvider);
    metrics.setGlobalMeterProvider(meterProvider);
    instrumentation = instrument(options);
  });
  afterEach(() => {
    sdk.resetSpans();
  });
  afterAll(async () => {
    instrumentation?.disable();
    await sdk.shutdown();
    context.disable();
    propagation.disable();
    trace.disable();
    metrics.disable();
  });
  const { spans } = sdk;
  return {
    tracer: trace.getTracer('warren-spec'),
    spans,
    span: (accept, what) => waitFor(() => spans().find(accept), 10_000, what),
    metrics: sdk.metrics,
  };
}

/** Whether `child`'s parent is `parent`. */
export function isChildOf(child: ReadableSpan, parent: ReadableSpan | SpanContext): boolean {
  const context = 'spanContext' in parent ? parent.spanContext() : parent;
  const of = child.parentSpanContext;
  return of?.traceId === context.traceId && of.spanId === context.spanId;
}

/** A span of warren's of `kind` whose name is `name`. */
export function warrenSpan(kind: SpanKind, name: string): (span: ReadableSpan) => boolean {
  return (span) =>
    span.instrumentationScope.name === 'warren' && span.kind === kind && span.name === name;
}

export { SpanKind };

/** A data point of a metric: its attributes and its value (a sum, or a histogram's). */
export interface MetricPoint {
  readonly attributes: Record<string, unknown>;
  readonly value: number | { readonly count: number; readonly sum?: number };
}

/** The data points of the metric `name` in the latest export of `exported`. */
export function metricPoints(exported: ResourceMetrics[], name: string): MetricPoint[] {
  const latest = exported.at(-1);
  if (latest === undefined) return [];
  return latest.scopeMetrics
    .flatMap((scope) => scope.metrics)
    .filter((metric) => metric.descriptor.name === name)
    .flatMap((metric) => metric.dataPoints as unknown as MetricPoint[]);
}
