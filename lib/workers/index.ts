/**
 * Workers: failure policies that retry later through wait queues on the
 * broker, and dead letters that say why. Built on the public API alone.
 * @packageDocumentation
 */
export {
  type DeadLetterDestination,
  type DeadLetterExchange,
  type DeadLetterOptions,
  DeadLetterPolicy,
  deadLetter,
} from './dead-letter.js';
export { MAX_DELAY_MS, type RetryOptions, RetryPolicy, retry } from './retry.js';
export { type DeadLetterReason, WarrenHeaders } from './why.js';
