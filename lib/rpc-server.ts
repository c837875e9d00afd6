import type { ConsumeOptions, Consumer } from './consumer.js';
import type { PublishOptions } from './exchange.js';
import type { IncomingMessage } from './incoming-message.js';
import { Message } from './message.js';
import type { Queue } from './queue.js';
import { errorReply } from './rpc.js';
import { type Schema, type SchemaInput, validate } from './schema.js';
import { checkOptions } from './validate.js';

/** Not mandatory: a caller that gave up (and took its reply address with it) is normal. */
const REPLY_OPTIONS: PublishOptions = Object.freeze({ mandatory: false });

/** Answers one request; what it returns (or resolves with) is the reply, sent as JSON. */
export type RpcHandler<T, R> = (request: IncomingMessage<T>) => R | Promise<R>;

/**
 * Options of {@link Queue.serve}. There is no `onFailure`: a request is
 * answered (an error reply when its handler fails) and acked, never
 * retried, since its caller waits with a timeout and a delayed retry would
 * answer a caller that has given up. A request that does not match the
 * queue's schema is dead-lettered (rejected without requeue) and its caller
 * gets an error reply at once.
 */
export interface ServeOptions<S extends Schema | undefined = undefined>
  extends Pick<
    ConsumeOptions,
    'prefetch' | 'concurrency' | 'exclusive' | 'consumerTag' | 'arguments' | 'signal'
  > {
  /**
   * A zod schema each reply must match before it is sent; a reply that does
   * not becomes an error reply (the caller gets a `RemoteError`).
   */
  replySchema?: S;
}

/**
 * Consumes `queue` and answers each request: the handler's value goes back
 * to the request's `replyTo` with its `correlationId`; a failure (the handler
 * threw, the request or the reply did not match its schema) goes back as an
 * error reply. The request is acked once answered. Requests without
 * `replyTo` are handled and acked, with nothing sent back.
 */
export async function serve<T, S extends Schema | undefined>(
  queue: Queue<T>,
  handler: RpcHandler<T, SchemaInput<S>>,
  options: ServeOptions<S>,
): Promise<Consumer<T>> {
  if (typeof handler !== 'function') throw new TypeError('serve needs a handler function');
  checkOptions(options, 'serve');
  if ('noAck' in options) {
    throw new TypeError('serve has no option noAck: each request is acked once answered');
  }
  const replies = queue.channel.exchange('');
  const { replySchema } = options;

  const send = async (request: IncomingMessage<unknown>, reply: Message): Promise<void> => {
    const replyTo = request.properties.replyTo;
    if (replyTo !== undefined) await replies.publish(reply, replyTo, REPLY_OPTIONS);
  };

  return queue.subscribe(
    async (request) => {
      const correlationId = request.properties.correlationId;
      let reply: Message;
      let failure: { error: unknown } | undefined;
      try {
        const value: unknown = await handler(request);
        if (replySchema !== undefined) {
          validate(replySchema, value, 'the reply does not match its schema');
        }
        // A handler that returns nothing replies null: JSON has no `undefined`.
        reply = Message.asJson(
          value === undefined ? null : value,
          correlationId === undefined ? undefined : { correlationId },
        );
      } catch (error) {
        failure = { error };
        reply = errorReply(error, correlationId);
      }
      await send(request, reply);
      request.ack();
      // Answered and acked; the consumer's `error` event still reports what failed.
      if (failure !== undefined) throw failure.error;
    },
    { ...options, settle: 'manual', onFailure: 'dead-letter' },
    {
      serving: true,
      // The schema refused the request, which is dead-lettered: tell the caller at once.
      invalid: (error, request) => {
        send(request, errorReply(error, request.properties.correlationId)).catch(() => {});
      },
    },
  );
}
