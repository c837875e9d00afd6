/**
 * Publishing several kinds of message through one exchange: the kind picks
 * the schema that checks the value, and travels in the `type` property.
 */
import type { Exchange, PublishOptions } from '../exchange.js';
import { Message, type MessageProperties } from '../message.js';
import { MessageValidationError, type Schema, type SchemaInput } from '../schema.js';
import { checkSchema, kindOf, listNames, type MessageTypes, typeTable } from './message-types.js';

/**
 * Publishes the kinds of message of `M` through one exchange, made by
 * {@link typedPublisher}: `publish('order.created', value)` checks `value`
 * against the schema of `'order.created'` and sends it with that `type`.
 */
export interface TypedPublisher<M extends MessageTypes> {
  /** The exchange it publishes to. */
  readonly exchange: Exchange;
  /** The kinds it publishes, in the order they were given. */
  readonly types: readonly (keyof M & string)[];
  /**
   * Publishes `value` as a message of kind `type`: checked against that
   * kind's schema, sent as JSON (`contentType: 'application/json'` unless
   * set) with its `type` property set to `type`. Pass a {@link Message} made
   * from the value to give it properties (`messageId`, `headers`, …).
   * Resolves as `exchange.publish` does: on a confirm channel, when the
   * broker has taken it.
   * @param routingKey - where the exchange routes it
   *   (default: the kind's name, so that `type` and routing key agree)
   * @throws TypeError for a `type` that is not a string, a value with no
   *   JSON form, a Message whose own `type` property is another kind; before anything is sent
   * @throws RangeError for a `type` the publisher does not have, before anything is sent
   * @throws MessageValidationError when the value does not match the kind's schema, before anything is sent
   * @throws what `exchange.publish` throws
   */
  publish<K extends keyof M & string>(
    type: K,
    value: SchemaInput<M[K]> | Message<SchemaInput<M[K]>>,
    routingKey?: string,
    options?: PublishOptions,
  ): Promise<void>;
}

const JSON_TYPE = 'application/json';

/**
 * A publisher of several kinds of message through `exchange`, each kind
 * checked by its schema in `types`: the same map of kinds (see
 * `MessageTypes`) a worker routes by with `byType`. TypeScript takes, for
 * each kind, only its schema's input.
 *
 * ```ts
 * const orders = typedPublisher(exchange, OrderMessages);
 * await orders.publish('order.created', { id: 42, item: 'lamp' });
 * await orders.publish('order.cancelled', { id: 42 }, 'orders.eu');
 * ```
 *
 * `exchange` must be a handle without a schema: the kinds' schemas do the
 * checking.
 * @throws TypeError for an exchange that is not one, or has a schema; a
 *   map that is not an object, or a value in it that is not a zod schema
 * @throws RangeError for a map without kinds
 */
export function typedPublisher<M extends MessageTypes>(
  exchange: Exchange,
  types: M,
): TypedPublisher<M> {
  if (typeof exchange !== 'object' || exchange === null || typeof exchange.publish !== 'function') {
    throw new TypeError(`typedPublisher needs an Exchange, got ${kindOf(exchange)}`);
  }
  if (exchange.schema !== undefined) {
    throw new TypeError(
      `typedPublisher needs an exchange handle without a schema (exchange '${exchange.name}' has ` +
        "one): each kind's schema checks its values; take one with channel.exchange(name)",
    );
  }
  const schemas = typeTable(types, 'typedPublisher', checkSchema);
  const names = Object.freeze([...schemas.keys()]) as readonly (keyof M & string)[];

  const publish = (
    type: string,
    value: unknown,
    routingKey: string = type,
    options?: PublishOptions,
  ): Promise<void> => {
    try {
      const message = outgoing(schemas, type, value);
      return exchange.publish(message, routingKey, options);
    } catch (error) {
      return Promise.reject(error);
    }
  };
  return { exchange, types: names, publish } as TypedPublisher<M>;
}

/** The message to send: `value` checked by the schema of `type`, as JSON, with `type` set. */
function outgoing(schemas: Map<string, Schema>, type: unknown, value: unknown): Message {
  if (typeof type !== 'string') {
    throw new TypeError(`the message type must be a string, got ${kindOf(type)}`);
  }
  const schema = schemas.get(type);
  if (schema === undefined) {
    throw new RangeError(
      `'${type}' is not a message type of this publisher (known: ${listNames([...schemas.keys()])})`,
    );
  }
  const given = value instanceof Message ? value : undefined;
  const data: unknown = given === undefined ? value : given.data;
  const properties: MessageProperties = given?.properties ?? {};
  if (properties.type !== undefined && properties.type !== type) {
    throw new TypeError(
      `the Message has type '${properties.type}', and is published as '${type}': leave its type out`,
    );
  }
  const result = schema.safeParse(data);
  if (!result.success) {
    throw new MessageValidationError(
      `the message of type '${type}' does not match its schema`,
      result.error.issues,
      { cause: result.error },
    );
  }
  // The input is what travels, as JSON (a string too): the consumer's schema parses it.
  const withType: MessageProperties = { contentType: JSON_TYPE, ...properties };
  withType.contentType ??= JSON_TYPE;
  withType.type = type;
  return new Message(jsonBytes(data), withType);
}

/** The JSON of `value` as UTF-8. @throws TypeError when it has none */
function jsonBytes(value: unknown): Buffer {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(
      `the message body cannot be serialised as JSON: ${error instanceof Error ? error.message : typeof error}`,
    );
  }
  if (text === undefined)
    throw new TypeError(`the message body (${typeof value}) has no JSON form`);
  return Buffer.from(text, 'utf8');
}
