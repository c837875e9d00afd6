/**
 * warren: an AMQP 0-9-1 client for RabbitMQ.
 * @packageDocumentation
 */
export {
  Channel,
  type ChannelEvents,
  type ChannelOptions,
  type CloseOptions,
  type QosOptions,
  type RecoverOptions,
  type SignalOptions,
  type TxOptions,
} from './channel.js';
export {
  type ConnectCallOptions,
  Connection,
  type ConnectionEvents,
  connect,
  connectAndOpenChannel,
  type ReconnectAttempt,
  type RecoveryFailure,
  type UpdateSecretOptions,
} from './connection.js';
export type { Credentials, CredentialsProvider } from './connector.js';
export {
  type CancelOptions,
  type ConsumeCallback,
  type ConsumeOptions,
  Consumer,
  type ConsumerEvents,
  type FailureHandler,
  type FailurePolicy,
} from './consumer.js';
export * from './contract/index.js';
export {
  type ConnectDiagnostic,
  type ConnectionBlockedDiagnostic,
  type ConnectionDiagnostic,
  type ConnectionLostDiagnostic,
  type ConnectionRecoveredDiagnostic,
  type ConnectionUnblockedDiagnostic,
  type ConnectionWaitingDiagnostic,
  type DeliveryDiagnostic,
  DIAGNOSTICS_CHANNELS,
  type EndpointDiagnostic,
  type OperationDiagnostic,
  type ProcessDiagnostic,
  type PublishDiagnostic,
  type ReceiveDiagnostic,
  type ReturnDiagnostic,
  type RpcDiagnostic,
  type SettleDiagnostic,
  type TracedDiagnostic,
} from './diagnostics.js';
export type { BufferedBytes, Tuning } from './engine/engine.js';
export type { SaslMechanism } from './engine/sasl.js';
export * from './errors.js';
export {
  type BindOptions,
  Exchange,
  ExchangeBinding,
  type ExchangeDeleteOptions,
  type ExchangeHandleOptions,
  type ExchangeOptions,
  type ExchangeSchemaOption,
  type ExchangeType,
  type PublishOptions,
  type UnbindOptions,
} from './exchange.js';
export {
  Decimal,
  Field,
  type FieldTable,
  type FieldType,
  type FieldValue,
  TypedField,
} from './fields.js';
export {
  type AckOptions,
  IncomingMessage,
  type NackOptions,
  type RejectOptions,
} from './incoming-message.js';
export type {
  ChannelFields,
  ConsumerFields,
  DeliveryFields,
  ErrorFields,
  LogEvent,
  LogFields,
  LoggedError,
  LoggedIssue,
  Logger,
  LogLevel,
  LogRecord,
  ReplyFields,
} from './log.js';
export { Message, type MessageProperties } from './message.js';
export { MessageIterator, type MessagesOptions } from './message-iterator.js';
export type { ConnectOptions } from './options.js';
export { type BasicProperties, type MethodName, ReplyCode } from './protocol/spec.js';
export {
  type GetOptions,
  type PurgeOptions,
  Queue,
  QueueBinding,
  type QueueCounts,
  type QueueDeleteOptions,
  type QueueHandleOptions,
  type QueueOptions,
  type QueueSchemaOption,
} from './queue.js';
export { ReceivedMessage } from './received-message.js';
export type { RecoveryOptions } from './recovery.js';
export type { ReopenOptions } from './reopen.js';
export { ReturnedMessage } from './returned-message.js';
export { DIRECT_REPLY_TO } from './rpc.js';
export { type RpcCallOptions, RpcClient, type RpcClientOptions } from './rpc-client.js';
export type { RpcHandler, ServeOptions } from './rpc-server.js';
export type { Schema, SchemaInput, SchemaOutput, ValidationIssue } from './schema.js';
export { VERSION } from './version.js';
export * from './workers/index.js';
