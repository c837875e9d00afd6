/**
 * How the global propagator reads and writes an AMQP message's headers
 * (a field table): W3C `traceparent`/`tracestate` by default, as strings,
 * the way other RabbitMQ clients' instrumentations carry them.
 */
import type { TextMapGetter, TextMapSetter } from '@opentelemetry/api';
import type { FieldTable } from 'warren';

/** Writes a propagated field as a string header. */
export const headerSetter: TextMapSetter<FieldTable> = {
  set(headers, key, value) {
    headers[key] = value;
  },
};

/** Reads a propagated field from a string (or bytes, as some clients send longstr) header. */
export const headerGetter: TextMapGetter<FieldTable | undefined> = {
  keys(headers) {
    return headers === undefined ? [] : Object.keys(headers);
  },
  get(headers, key) {
    const value = headers?.[key];
    if (typeof value === 'string') return value;
    if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
    return undefined;
  },
};
