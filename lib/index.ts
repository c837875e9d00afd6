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
} from './channel.js';
export {
  type ConnectCallOptions,
  Connection,
  type ConnectionEvents,
  connect,
  connectAndOpenChannel,
  type ReconnectAttempt,
  type RecoveryFailure,
} from './connection.js';
export type { Credentials, CredentialsProvider } from './connector.js';
export {
  type CancelOptions,
  type ConsumeCallback,
  type ConsumeOptions,
  Consumer,
  type ConsumerEvents,
  type FailurePolicy,
} from './consumer.js';
export type { Tuning } from './engine/engine.js';
export type { SaslMechanism } from './engine/sasl.js';
export * from './errors.js';
export {
  Exchange,
  ExchangeBinding,
  type ExchangeOptions,
  type ExchangeSchemaOption,
  type ExchangeType,
  type PublishOptions,
} from './exchange.js';
export { IncomingMessage } from './incoming-message.js';
export { Message, type MessageProperties } from './message.js';
export { MessageIterator, type MessagesOptions } from './message-iterator.js';
export type { ConnectOptions } from './options.js';
export {
  Decimal,
  Field,
  type FieldTable,
  type FieldType,
  type FieldValue,
  TypedField,
} from './protocol/field-types.js';
export { type BasicProperties, type MethodName, ReplyCode } from './protocol/spec.js';
export {
  Queue,
  QueueBinding,
  type QueueCounts,
  type QueueOptions,
  type QueueSchemaOption,
} from './queue.js';
export type { RecoveryOptions } from './recovery.js';
export { DIRECT_REPLY_TO } from './rpc.js';
export { type RpcCallOptions, RpcClient, type RpcClientOptions } from './rpc-client.js';
export type { RpcHandler, ServeOptions } from './rpc-server.js';
export type { Schema, SchemaInput, SchemaOutput, ValidationIssue } from './schema.js';
export { VERSION } from './version.js';
