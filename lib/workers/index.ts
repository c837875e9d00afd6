/**
 * Workers: capabilities above the client, built on its public API alone:
 * failure policies that retry later through wait queues on the broker and
 * dead letters that say why, routing by message type, and replaying dead
 * letters. lib/index.ts re-exports all of this.
 */
export {
  type ByTypeOptions,
  byType,
  type TypeHandler,
  type TypeHandlers,
  type TypeRoute,
  type TypeRouter,
  type TypeRoutes,
} from './by-type.js';
export {
  type DeadLetterDestination,
  type DeadLetterExchange,
  type DeadLetterOptions,
  DeadLetterPolicy,
  deadLetter,
} from './dead-letter.js';
export type { MessageTypes } from './message-types.js';
export {
  type ReplayExchangeTarget,
  type ReplayFailure,
  type ReplayFailureReason,
  ReplayInterruptedError,
  type ReplayOptions,
  type ReplayResult,
  type ReplayTarget,
  replay,
} from './replay.js';
export type { FailureDiagnostic } from './report.js';
export { MAX_DELAY_MS, type RetryOptions, RetryPolicy, retry } from './retry.js';
export { type TypedPublisher, typedPublisher } from './typed-publisher.js';
export { type DeadLetterReason, WarrenHeaders } from './why.js';
