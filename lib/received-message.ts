import { Message, type MessageProperties } from './message.js';

/** Not parsed yet: {@link ReceivedMessage.data} parses on first read. */
const UNPARSED: unique symbol = Symbol('unparsed');

/**
 * A message that came from the broker: an {@link IncomingMessage} (delivered
 * to a consumer or fetched with `queue.get()`) or a {@link ReturnedMessage}
 * (sent back as unroutable). It reads like the {@link Message} it was
 * published as (`body`, `properties`, `headers`, `text()`, `json()`,
 * `json(schema)`) and says where it was published: `exchange` and
 * `routingKey`. `T` is the type of {@link ReceivedMessage.data}.
 */
export abstract class ReceivedMessage<T = unknown> extends Message<T> {
  /** The exchange the message was published to (`''` for the default exchange). */
  readonly exchange: string;
  /** The routing key it was published with. */
  readonly routingKey: string;
  #data: T | typeof UNPARSED = UNPARSED;

  /** Made by the subclasses only: received messages come from the broker. */
  protected constructor(
    body: Buffer,
    properties: MessageProperties,
    exchange: string,
    routingKey: string,
  ) {
    // The body bytes stand in for the value until `data` parses them.
    super(body as T, properties);
    this.exchange = exchange;
    this.routingKey = routingKey;
  }

  /**
   * The body as a value, parsed as JSON on first read. On an
   * {@link IncomingMessage} from a queue with a schema, it is the value the
   * schema produced (a message that does not match never reaches a handler).
   * @throws SyntaxError on first read, without a schema, when the body is not JSON
   */
  override get data(): T {
    if (this.#data === UNPARSED) this.#data = this.json<T>();
    return this.#data;
  }

  /** @internal Sets the value the queue's schema produced. */
  setData(value: T): void {
    this.#data = value;
  }
}
