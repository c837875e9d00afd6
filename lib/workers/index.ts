/**
 * Workers: capabilities above the client, built on its public API alone.
 * @packageDocumentation
 */
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
