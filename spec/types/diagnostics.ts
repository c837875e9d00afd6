/**
 * The diagnostics channels as a subscriber sees them in the built
 * declarations: literal names, and message types whose publish headers are
 * writable while the rest is read-only.
 */
import { tracingChannel } from 'node:diagnostics_channel';
import {
  DIAGNOSTICS_CHANNELS,
  type ProcessDiagnostic,
  type PublishDiagnostic,
  type SettleDiagnostic,
} from 'warren';

export const publishName: 'warren:publish' = DIAGNOSTICS_CHANNELS.publish;
export const lostName: 'warren:connection:lost' = DIAGNOSTICS_CHANNELS.connectionLost;

tracingChannel<string, PublishDiagnostic>(DIAGNOSTICS_CHANNELS.publish).subscribe({
  start(message) {
    message.headers.traceparent = '00-…';
    // @ts-expect-error: the routing key is read-only
    message.routingKey = 'elsewhere';
  },
  end() {},
  asyncStart() {},
  asyncEnd() {},
  error(message) {
    const why: unknown = message.error;
    void why;
  },
});

export function attemptOf(message: ProcessDiagnostic): number {
  return message.attempt + message.message.deliveryTag;
}

export function kindOf(message: SettleDiagnostic): 'ack' | 'nack' | 'reject' {
  return message.kind;
}

// @ts-expect-error: DIAGNOSTICS_CHANNELS is frozen
DIAGNOSTICS_CHANNELS.publish = 'other';
