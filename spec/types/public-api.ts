/**
 * What a user of the package can and cannot write, checked by the compiler
 * against dist/index.d.ts (`npm run test:types`). Nothing here runs: each
 * `@ts-expect-error` must meet an error, or the check fails.
 */
import {
  type BindOptions,
  Channel,
  type CloseOptions,
  Connection,
  Consumer,
  connect,
  Exchange,
  ExchangeBinding,
  type ExchangeBinding as ExchangeBindingType,
  type GetOptions,
  IncomingMessage,
  Message,
  MessageIterator,
  type QosOptions,
  Queue,
  QueueBinding,
  type QueueDeleteOptions,
  ReceivedMessage,
  ReturnedMessage,
  RpcClient,
  type SignalOptions,
  type TxOptions,
  type UpdateSecretOptions,
} from 'warren';

/** Holds a value of type `T`: `accept<T>()(value)` fails to compile unless `value` is a `T`. */
function accept<T>(): (value: T) => void {
  return () => {};
}

declare const channel: Channel;
declare const connection: Connection;
declare const queue: Queue;
declare const exchange: Exchange;
declare const signal: AbortSignal;

// Entities come from connect, openChannel, declare*, bind and consume, never from `new`. Each
// call is one a public constructor would take (none, or Message's), so that privacy is the
// only error: the declarations once had such constructors.
function constructors(): void {
  // @ts-expect-error: Channel's constructor is private
  new Channel();
  // @ts-expect-error: Queue's constructor is private
  new Queue();
  // @ts-expect-error: Exchange's constructor is private
  new Exchange();
  // @ts-expect-error: QueueBinding's constructor is private
  new QueueBinding();
  // @ts-expect-error: ExchangeBinding's constructor is private
  new ExchangeBinding();
  // @ts-expect-error: Consumer's constructor is private
  new Consumer();
  // @ts-expect-error: MessageIterator's constructor is private
  new MessageIterator();
  // @ts-expect-error: IncomingMessage's constructor is private
  new IncomingMessage(Buffer.alloc(0), {});
  // @ts-expect-error: Connection's constructor is private
  new Connection();
  // @ts-expect-error: RpcClient's constructor is private
  new RpcClient();
  // @ts-expect-error: ReturnedMessage's constructor is private
  new ReturnedMessage(Buffer.alloc(0), {});
  // @ts-expect-error: ReceivedMessage is abstract, and made by its subclasses only
  new ReceivedMessage(Buffer.alloc(0), {});
  // The internal factories are not in the declarations either.
  // @ts-expect-error: Channel.create is internal
  Channel.create;
  // @ts-expect-error: Queue.create is internal
  Queue.create;
  // @ts-expect-error: IncomingMessage.create is internal
  IncomingMessage.create;
  // @ts-expect-error: Connection.create is internal
  Connection.create;
}

// Nor can they be subclassed.
// @ts-expect-error: Queue cannot be extended
class MyQueue extends Queue {}
// @ts-expect-error: Channel cannot be extended
class MyChannel extends Channel {}
// @ts-expect-error: Exchange cannot be extended
class MyExchange extends Exchange {}
// @ts-expect-error: Consumer cannot be extended
class MyConsumer extends Consumer {}
// @ts-expect-error: IncomingMessage cannot be extended
class MyIncoming extends IncomingMessage {}
// @ts-expect-error: Connection cannot be extended
class MyConnection extends Connection {}
// @ts-expect-error: ReturnedMessage cannot be extended
class MyReturned extends ReturnedMessage {}

// Messages are the user's to make, and to subclass.
class Envelope extends Message<{ id: number }> {}
accept<Message<{ id: number }>>()(new Message({ id: 1 }, { deliveryMode: 2 }));
accept<Message<{ id: number }>>()(new Envelope({ id: 2 }));

// connect resolves with a Connection; its channels, exchanges and queues follow.
async function flow(): Promise<void> {
  const opened = await connect('amqp://localhost');
  accept<Connection>()(opened);
  const ch = await opened.openChannel({ confirm: true, signal });
  accept<Channel>()(ch);
  const ex = await ch.declareExchange('x', 'topic');
  const q = await ch.declareQueue('q', { arguments: { 'x-queue-type': 'quorum' } });
  const binding = await q.bind(ex, 'k', { arguments: { a: 1 }, signal });
  accept<Exchange>()(binding.exchange);
  const e2e: ExchangeBindingType = await ex.bind('amq.topic', '#');
  accept<Exchange>()(e2e.source);
  accept<boolean | undefined>()(q.durable);
  accept<string | undefined>()(ex.type);
  const consumer = await q.consume((message) => message.ack({ multiple: false }));
  accept<Consumer>()(consumer);
  await consumer.cancel({ timeout: 1_000, signal });
}

// Every abortable operation takes its signal inside its options.
async function signals(): Promise<void> {
  const qos: QosOptions = { prefetchCount: 10, signal };
  await channel.setQos(qos);
  const tx: TxOptions = { signal };
  await channel.txSelect(tx);
  await channel.txCommit();
  await channel.txRollback({ signal });
  await channel.recover({ signal });
  await queue.purge({ signal });
  const get: GetOptions = { noAck: true, signal };
  await queue.get(get);
  const remove: QueueDeleteOptions = { ifUnused: false, ifEmpty: false, signal };
  await queue.delete(remove);
  await exchange.delete({ ifUnused: false, signal });
  const bind: BindOptions = { arguments: { 'x-match': 'all' }, signal };
  const binding = await queue.bind(exchange, '', bind);
  await binding.unbind({ signal });
  const update: UpdateSecretOptions = { reason: 'rotation', signal };
  await connection.updateSecret('token', update);
  const close: CloseOptions = { timeout: 1_000, signal };
  await channel.close(close);
  const base: SignalOptions = { signal };
  await connection.close(base);

  // The positional shapes are gone.
  // @ts-expect-error: setQos takes its signal inside its options
  await channel.setQos({ prefetchCount: 1 }, signal);
  // @ts-expect-error: txSelect takes { signal }
  await channel.txSelect(signal);
  // @ts-expect-error: purge takes { signal }
  await queue.purge(signal);
  // @ts-expect-error: bind takes { arguments, signal }, not a field table
  await queue.bind(exchange, '', { 'x-match': 'all' });
  // @ts-expect-error: bind takes no fourth argument
  await queue.bind(exchange, '', {}, signal);
  // @ts-expect-error: updateSecret takes { reason, signal }
  await connection.updateSecret('token', 'rotation');
}

export {
  constructors,
  flow,
  MyChannel,
  MyConnection,
  MyConsumer,
  MyExchange,
  MyIncoming,
  MyQueue,
  MyReturned,
  signals,
};
