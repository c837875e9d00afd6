/**
 * warren/testing as a user's test suite writes it, checked by the compiler against
 * dist/testing.d.ts (`npm run test:types`): its types are warren's own (a connection, an
 * error), and wrong arguments do not compile. Nothing here runs.
 */
import {
  type AmqpError,
  type AmqpErrorCode,
  type Connection,
  connect,
  type IncomingMessage,
} from 'warren';
import {
  type Broker,
  type DeadLetter,
  deadLetters,
  type FreshVhost,
  freshVhost,
  type QueueDrainState,
  RabbitmqctlError,
  startBroker,
  type TestBroker,
  TestBrokerError,
  useBroker,
  waitUntilDrained,
} from 'warren/testing';

export async function suite(): Promise<void> {
  const broker: TestBroker = await useBroker({
    reuseLocal: false,
    start: { startTimeoutMs: 90_000 },
  });
  const vhost: FreshVhost = await freshVhost(broker, { prefix: 'orders' });
  const connection: Connection = await connect(vhost.url);
  const channel = await connection.openChannel();

  const state: QueueDrainState = await waitUntilDrained(channel, 'orders', { broker: vhost });
  const unacked: number | undefined = state.unacked;
  await waitUntilDrained(connection, 'orders', { broker, vhost: vhost.name, timeoutMs: 5_000 });
  // @ts-expect-error a queue name, not a queue handle's options
  await waitUntilDrained(connection, { name: 'orders' });
  // @ts-expect-error timeoutMs is a number of milliseconds
  await waitUntilDrained(connection, 'orders', { timeoutMs: '5s' });

  const [first]: DeadLetter[] = await deadLetters(connection, 'orders.dead', { remove: true });
  if (first === undefined) return;
  const message: IncomingMessage<unknown> = first.message;
  const reason: string | undefined = first.reason;
  // @ts-expect-error `by` is one of three words
  const by: 'someone' = first.by;
  void [unacked, message, reason, by];

  await vhost.delete();
  await broker.stop();
}

export async function node(): Promise<void> {
  const broker: Broker = await startBroker({ amqpPort: 5673, plugins: ['rabbitmq_management'] });
  const port: number = broker.amqpPort;
  // @ts-expect-error a started node's source is always 'started'
  const source: 'AMQP_URL' = broker.source;
  // @ts-expect-error ports are numbers
  await startBroker({ amqpPort: '5673' });
  await broker.kill();
  await broker.restart();
  void [port, source];
}

export function errors(error: unknown): AmqpErrorCode | undefined {
  if (error instanceof TestBrokerError) {
    const code:
      | 'BROKER_NOT_INSTALLED'
      | 'BROKER_START_FAILED'
      | 'BROKER_STOPPED'
      | 'BROKER_RUNNING'
      | 'RABBITMQCTL_UNAVAILABLE' = error.code;
    return code;
  }
  if (error instanceof RabbitmqctlError) {
    const failed: 'RABBITMQCTL_FAILED' = error.code;
    const exit: number | null = error.exitCode;
    void exit;
    return failed;
  }
  // Both are warren's AmqpError: one catch for every error.
  const base: AmqpError = new TestBrokerError('BROKER_STOPPED', 'stopped');
  return base.code;
}
