/**
 * Every error warren raises is an {@link AmqpError} with a stable `code`.
 * The classes live with the layer that raises them; this module gathers the
 * public ones.
 * @packageDocumentation
 */
export {
  AbortError,
  ChannelError,
  ClosedError,
  type CloseReason,
  ConnectionError,
  MessageReturnedError,
  PublishNackedError,
  PublishUnconfirmedError,
  type ReturnedMessage,
  TimeoutError,
} from './engine/errors.js';
export { AmqpError, ProtocolError, type ProtocolErrorCode } from './protocol/errors.js';
export { DisconnectedError } from './recovery.js';
export { RemoteError } from './rpc.js';
export { MessageValidationError } from './schema.js';
