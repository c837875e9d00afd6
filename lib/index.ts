/**
 * warren: an AMQP 0-9-1 client for RabbitMQ.
 * @packageDocumentation
 */
export { Channel, type ChannelEvents, type ChannelOptions, type QosOptions } from './channel.js';
export {
  type ConnectCallOptions,
  Connection,
  type ConnectionEvents,
  connect,
  connectAndOpenChannel,
} from './connection.js';
export {
  type ConsumeCallback,
  type ConsumeOptions,
  Consumer,
  type ConsumerEvents,
} from './consumer.js';
export type { Tuning } from './engine/engine.js';
export type { SaslMechanism } from './engine/sasl.js';
export * from './errors.js';
export {
  Exchange,
  ExchangeBinding,
  type ExchangeOptions,
  type ExchangeType,
  type PublishOptions,
} from './exchange.js';
export { IncomingMessage } from './incoming-message.js';
export { Message, type MessageProperties } from './message.js';
export type { ConnectOptions } from './options.js';
export {
  Decimal,
  Field,
  type FieldTable,
  type FieldType,
  type FieldValue,
  TypedField,
} from './protocol/field-types.js';
export { type BasicProperties, ReplyCode } from './protocol/spec.js';
export { Queue, QueueBinding, type QueueCounts, type QueueOptions } from './queue.js';
export { VERSION } from './version.js';
