import type { FieldTable } from './protocol/field-types.js';
import type { BasicProperties } from './protocol/spec.js';

/**
 * The 14 AMQP basic properties of a message, camelCase. Every one is
 * optional. See {@link BasicProperties} for what each means.
 */
export type MessageProperties = BasicProperties;

const JSON_TYPE = 'application/json';

/**
 * A message to publish: a body and its properties.
 *
 * The body is encoded once, when the message is made: a `Buffer` or
 * `Uint8Array` is sent as it is, a string as UTF-8, and any other value as
 * JSON with `contentType: 'application/json'` (unless you set another).
 *
 * ```ts
 * new Message({ orderId: 42 }, { deliveryMode: 2, headers: { tenant: 'acme' } });
 * ```
 */
export class Message {
  /** The body as bytes. */
  readonly body: Buffer;
  /** The message's properties. */
  readonly properties: MessageProperties;

  /**
   * @param body - bytes, a string, or a value to send as JSON
   * @param properties - content type, headers, delivery mode and the rest
   * @throws TypeError when the body cannot be serialised as JSON (a cycle, a
   *   bigint, or a value JSON.stringify turns into nothing, like `undefined`)
   */
  constructor(body: unknown, properties: MessageProperties = {}) {
    const { bytes, json } = encodeBody(body);
    this.body = bytes;
    this.properties =
      json && properties.contentType === undefined
        ? { contentType: JSON_TYPE, ...properties }
        : properties;
  }

  /** The message's headers (an empty table when it has none). */
  get headers(): FieldTable {
    return this.properties.headers ?? {};
  }

  /** The body decoded as UTF-8. */
  text(): string {
    return this.body.toString('utf8');
  }

  /**
   * The body parsed as JSON. The type parameter is an assertion, not a
   * check: nothing validates the parsed value.
   * @throws SyntaxError when the body is not JSON
   */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }
}

function encodeBody(body: unknown): { bytes: Buffer; json: boolean } {
  if (Buffer.isBuffer(body)) return { bytes: body, json: false };
  if (body instanceof Uint8Array) {
    return { bytes: Buffer.from(body.buffer, body.byteOffset, body.byteLength), json: false };
  }
  if (typeof body === 'string') return { bytes: Buffer.from(body, 'utf8'), json: false };
  let text: string | undefined;
  try {
    text = JSON.stringify(body);
  } catch (error) {
    throw new TypeError(
      `the message body cannot be serialised as JSON: ${(error as Error).message}`,
    );
  }
  if (text === undefined) {
    throw new TypeError(`the message body (${typeof body}) has no JSON form`);
  }
  return { bytes: Buffer.from(text, 'utf8'), json: true };
}
