/**
 * What the failure policies tell `node:diagnostics_channel` of each message
 * they retry or dead-letter (`warren:failure`), for tracers and metrics: the
 * same decision the `x-warren-*` headers record, told to whoever listens.
 */
import { channel } from 'node:diagnostics_channel';
import { DIAGNOSTICS_CHANNELS } from '../diagnostics.js';
import type { IncomingMessage } from '../incoming-message.js';
import type { DeadLetterReason } from './why.js';

/** The message of the `warren:failure` channel: a failed message retried or dead-lettered. */
export interface FailureDiagnostic {
  /** The message whose handler failed. */
  readonly message: IncomingMessage<unknown>;
  /** The queue it failed on. */
  readonly queue: string;
  /** What its handler threw (or the schema check's `MessageValidationError`). */
  readonly error: unknown;
  /** The attempt that failed, from 1 (see `IncomingMessage.attempt`). */
  readonly attempt: number;
  /**
   * `retry`: a copy goes to a wait queue, to come back after `delay`;
   * `deadLetter`: it goes to the dead letters, for `reason`.
   */
  readonly action: 'retry' | 'deadLetter';
  /** Why it is dead-lettered; undefined for a retry. */
  readonly reason: DeadLetterReason | undefined;
  /** How long a retried message waits, in ms; undefined for a dead letter. */
  readonly delay: number | undefined;
}

// A runtime without diagnostics_channel.channel (none that warren supports) hears nothing.
const failureChannel = typeof channel === 'function' ? channel(DIAGNOSTICS_CHANNELS.failure) : null;

/** Tells `warren:failure` that `message` is being retried or dead-lettered, when anyone listens. */
export function reportFailure(
  message: IncomingMessage<unknown>,
  queue: string,
  error: unknown,
  outcome: { readonly reason: DeadLetterReason } | { readonly delay: number },
): void {
  if (failureChannel === null || !failureChannel.hasSubscribers) return;
  const retrying = 'delay' in outcome;
  const diagnostic: FailureDiagnostic = {
    message,
    queue,
    error,
    attempt: message.attempt,
    action: retrying ? 'retry' : 'deadLetter',
    reason: retrying ? undefined : outcome.reason,
    delay: retrying ? outcome.delay : undefined,
  };
  failureChannel.publish(diagnostic);
}
