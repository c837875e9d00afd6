/**
 * warren: an AMQP 0-9-1 client for RabbitMQ.
 * @packageDocumentation
 */
export { AmqpError, ProtocolError, type ProtocolErrorCode } from './protocol/errors.js';
export {
  Decimal,
  Field,
  type FieldTable,
  type FieldType,
  type FieldValue,
  TypedField,
} from './protocol/field-types.js';
export { type BasicProperties, ReplyCode } from './protocol/spec.js';
