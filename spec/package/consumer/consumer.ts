/**
 * A user's TypeScript, type-checked against the installed tarball with moduleResolution node16
 * (tsconfig.node16.json) and bundler (tsconfig.bundler.json). Nothing here runs: it compiles, and
 * each `@ts-expect-error` meets its error, or the check fails.
 */
import {
  AmqpError,
  type Channel,
  type Connection,
  connect,
  type IncomingMessage,
  Message,
  MessageValidationError,
  VERSION,
} from 'warren';
import { z } from 'zod';

const Order = z.object({ id: z.number().int(), item: z.string() });
type Order = z.output<typeof Order>;

export const version: string = VERSION;

export async function open(url: string): Promise<Connection> {
  return connect(url, { connectionName: 'consumer' });
}

export async function publish(channel: Channel): Promise<void> {
  const orders = await channel.declareExchange('orders', 'direct', { schema: Order });
  await orders.publish({ id: 1, item: 'lamp' }, 'created');
  await orders.publish(new Message({ id: 2, item: 'desk' }, { messageId: 'order-2' }), 'created');
  // @ts-expect-error publish takes the schema's input: id is a number
  await orders.publish({ id: '3', item: 'chair' }, 'created');
}

export async function consume(channel: Channel): Promise<void> {
  const queue = await channel.declareQueue('orders', { schema: Order });
  await queue.consume(async (message: IncomingMessage<Order>) => {
    const id: number = message.data.id;
    // @ts-expect-error data is the schema's output, not any
    const wrong: string = message.data.id;
    console.log(id, wrong);
    message.ack();
  });
}

export function describe(error: unknown): string {
  if (error instanceof MessageValidationError) return `${error.code}: ${error.issues.length}`;
  if (error instanceof AmqpError) return error.code;
  return String(error);
}

// warren/testing: its types are warren's own (a TestBroker's connection is a warren Connection).
import { type TestBroker, TestBrokerError, useBroker, waitUntilDrained } from 'warren/testing';

export async function drained(connection: Connection): Promise<number> {
  const broker: TestBroker = await useBroker({ reuseLocal: false });
  const state = await waitUntilDrained(connection, 'orders', { broker });
  // @ts-expect-error waitUntilDrained takes a Connection or a Channel, not a URL
  await waitUntilDrained(broker.url, 'orders');
  const error: AmqpError = new TestBrokerError('BROKER_STOPPED', 'stopped');
  await broker.stop();
  return state.ready + error.message.length;
}
