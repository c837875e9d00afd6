/**
 * Every error warren raises is an {@link AmqpError} with a stable `code`.
 * The classes live with the layer that raises them; this module gathers the
 * public ones, and the unions of their codes ({@link AmqpErrorCode} is all of
 * them), so that a `switch` on `error.code` can be exhaustive.
 * @packageDocumentation
 */
export {
  AbortError,
  ChannelError,
  ClosedError,
  type CloseReason,
  ConnectionError,
  PublishNackedError,
  PublishUnconfirmedError,
  TimeoutError,
} from './engine/errors.js';
export {
  AmqpError,
  type AmqpErrorCode,
  type BrokerErrorCode,
  brandError,
  type ChannelErrorCode,
  type ConnectionErrorCode,
  ProtocolError,
  type ProtocolErrorCode,
  type TestBrokerErrorCode,
  type UnknownReplyCode,
} from './protocol/errors.js';
export type { ReplyCodeName } from './protocol/spec.js';
export { DisconnectedError } from './recovery.js';
export { MessageReturnedError } from './returned-message.js';
export { RemoteError } from './rpc.js';
export { MessageValidationError, UnknownMessageTypeError } from './schema.js';
export { MessageTooLargeError, type TooLargeMethod } from './too-large.js';
