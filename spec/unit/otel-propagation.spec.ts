/**
 * warren/otel's pieces that need no broker: the propagator's view of a
 * message's headers (strings written; strings and bytes read, nothing else),
 * and `error.type` from what was thrown.
 */
import { describe, expect, it } from 'vitest';
import { type FieldTable, PublishNackedError } from '../../lib/index.js';
import { headerGetter, headerSetter } from '../../lib/otel/headers.js';
import { errorType } from '../../lib/otel/semconv.js';

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
