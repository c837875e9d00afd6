/**
 * warren/otel as an application sets it up, checked by the compiler against dist/otel.d.ts
 * (`npm run test:types`): its options take the API's providers, and wrong options do not
 * compile. Nothing here runs.
 */
import { metrics, trace } from '@opentelemetry/api';
import {
  INSTRUMENTATION_NAME,
  type Instrumentation,
  type InstrumentOptions,
  instrument,
  METRICS,
  SEMCONV_VERSION,
} from 'warren/otel';

export function setup(): void {
  const options: InstrumentOptions = {
    tracerProvider: trace.getTracerProvider(),
    meterProvider: metrics.getMeterProvider(),
    operations: true,
    traces: true,
    metrics: true,
  };
  const instrumentation: Instrumentation = instrument(options);
  instrumentation.disable();
  instrument().disable();
  const names: string[] = [
    INSTRUMENTATION_NAME,
    SEMCONV_VERSION,
    METRICS.sent,
    METRICS.processDuration,
  ];

  // @ts-expect-error: operations is a boolean
  instrument({ operations: 'yes' });
  // @ts-expect-error: not a provider
  instrument({ tracerProvider: {} });
  // @ts-expect-error: no such metric
  void METRICS.unknown;
  void names;
}
