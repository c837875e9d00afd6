/**
 * The tracing scenarios' OpenTelemetry: the SDK as an application sets it up
 * (the AsyncLocalStorage context manager, the W3C propagator, a tracer
 * provider with a batch span processor, a meter provider with a periodic
 * reader), exporting nowhere, and warren/otel instrumenting warren. What a
 * run measures is then the cost of making the spans and metrics, not of
 * sending them.
 */
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  type ExportResult,
  ExportResultCode,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { instrument } from '../lib/otel/index.js';

const done = (callback: (result: ExportResult) => void): void =>
  callback({ code: ExportResultCode.SUCCESS });

/** Exports nothing, at once. */
const spansNowhere: SpanExporter = {
  export: (_spans, callback) => done(callback),
  shutdown: async () => {},
};

/** Exports nothing, at once. */
const metricsNowhere: PushMetricExporter = {
  export: (_metrics, callback) => done(callback),
  forceFlush: async () => {},
  shutdown: async () => {},
};

/**
 * Registers the SDK globally and instruments warren; the returned function
 * undoes both once the scenario is done.
 */
export function traceWarren(): () => Promise<void> {
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(spansNowhere)],
  });
  const meterProvider = new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({ exporter: metricsNowhere, exportIntervalMillis: 1_000 }),
    ],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  const instrumentation = instrument();
  return async () => {
    instrumentation.disable();
    await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
    context.disable();
    propagation.disable();
    trace.disable();
    metrics.disable();
  };
}
