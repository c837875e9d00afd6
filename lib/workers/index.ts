/**
 * Workers: capabilities above the client, built on its public API alone.
 * lib/index.ts re-exports all of this.
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
export { type TypedPublisher, typedPublisher } from './typed-publisher.js';
