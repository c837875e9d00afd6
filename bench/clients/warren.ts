/** warren, used as its guides show. */
import {
  type ConsumeOptions,
  type Consumer,
  connect,
  defineConsumer,
  defineContract,
  defineMessage,
  definePublisher,
  defineQueue,
  type IncomingMessage,
  retry,
} from '../../lib/index.js';
import {
  type BenchClient,
  BenchOrder,
  body,
  indexOf,
  LARGE_PUBLISH_WINDOW,
  order,
  publishWindowed,
  RETRY_DELAY_MS,
  type ScenarioInput,
  type ScenarioOutput,
  waitUntilQueued,
} from '../client.js';

/** A promise the scenario settles from its handlers once every message has been seen. */
function finish(): { done: Promise<void>; resolve(): void; reject(error: Error): void } {
  let resolve = (): void => {};
  let reject = (_error: Error): void => {};
  const done = new Promise<void>((settle, fail) => {
    resolve = settle;
    reject = fail;
  });
  return { done, resolve, reject };
}

/**
 * Consumes the run's orders through the consumer `start` makes, acking each and checking it
 * arrived intact; resolves once all have come.
 */
async function consumeOrders(
  input: ScenarioInput,
  start: (
    handler: (message: IncomingMessage<BenchOrder>) => void,
    options: ConsumeOptions<BenchOrder>,
  ) => Promise<Consumer<BenchOrder>>,
): Promise<ScenarioOutput> {
  let received = 0;
  const { done, resolve, reject } = finish();
  const consumer = await start(
    (message) => {
      if (message.data.quantity !== 2) reject(new Error(`order ${message.data.id} changed`));
      message.ack();
      if (++received === input.count) resolve();
    },
    { prefetch: input.window },
  );
  consumer.on('invalid', (error) => reject(error));
  await done;
  return { messages: received };
}

/**
 * The contract scenarios' contract: the run's queue (as the orchestrator declares it) and the
 * bench's order, with a route to publish it and one to consume it.
 */
function benchContract(queue: string) {
  const order = defineMessage('bench.order', BenchOrder);
  const orders = defineQueue(queue, { durable: false });
  return defineContract({
    queues: { orders },
    publishers: { order: definePublisher(orders, order) },
    consumers: { orders: defineConsumer(orders, order) },
  });
}

/**
 * bench/tracing.ts, compiled beside the clients. A specifier in a variable, which the bundler
 * leaves alone: a literal one would bundle the module, and its OpenTelemetry imports would be
 * hoisted into every scenario's process.
 */
const TRACING_MODULE = '../tracing.js';

/**
 * Starts tracing (bench/tracing.ts); loaded only by the tracing scenarios, so that the others
 * run without OpenTelemetry in the process.
 */
async function traced(): Promise<() => Promise<void>> {
  const { traceWarren } = (await import(TRACING_MODULE)) as typeof import('../tracing.js');
  return traceWarren();
}

/** The other clients publish without `mandatory`: warren sends the same frames. */
const NOT_MANDATORY = { mandatory: false } as const;

export const client: BenchClient = {
  async publish(input) {
    await using connection = await connect(input.url, { recovery: false });
    const channel = await connection.openChannel();
    const exchange = channel.exchange('');
    for (let i = 0; i < input.count; i++) {
      // Resolves at once unless the socket is full: that is the backpressure.
      await exchange.publish(body(input.size, i), input.queue, NOT_MANDATORY);
    }
    await waitUntilQueued(input.count, async () => {
      const queue = await channel.declareQueue(input.queue, { passive: true });
      return queue.declared?.messageCount ?? 0;
    });
    return { messages: input.count };
  },

  async publishConfirm(input) {
    await using connection = await connect(input.url, { recovery: false });
    const channel = await connection.openChannel({ confirm: true });
    const exchange = channel.exchange('');
    await publishWindowed(input.count, input.window, (i) =>
      exchange.publish(body(input.size, i), input.queue, NOT_MANDATORY),
    );
    return { messages: input.count };
  },

  async consume(input) {
    await using connection = await connect(input.url, { recovery: false });
    const channel = await connection.openChannel();
    let received = 0;
    const { done, resolve } = finish();
    await channel.queue(input.queue).consume(
      (message: IncomingMessage) => {
        indexOf(message.body, input.size);
        message.ack();
        if (++received === input.count) resolve();
      },
      { prefetch: input.window },
    );
    await done;
    return { messages: received };
  },

  async retry(input) {
    await using connection = await connect(input.url, { recovery: false });
    const channel = await connection.openChannel();
    let succeeded = 0;
    let failed = 0;
    const { done, resolve } = finish();
    const consumer = await channel.queue(input.queue).consume(
      (message: IncomingMessage) => {
        indexOf(message.body, input.size);
        if (message.attempt === 1) {
          failed++;
          throw new Error('fails its first attempt');
        }
        if (++succeeded === input.count) resolve();
      },
      {
        prefetch: input.window,
        // A failed message holds its slot until its copy is confirmed: with one slot, every
        // failure would wait a round trip before the next delivery is handled.
        concurrency: input.window,
        settle: 'auto',
        // Every message succeeds on its second attempt: nothing is dead-lettered, but the
        // policy needs an exchange that exists (the bench queue has no dead-letter arguments).
        onFailure: retry({ delays: [RETRY_DELAY_MS], deadLetter: { exchange: 'amq.direct' } }),
      },
    );
    consumer.on('error', () => {}); // expected: each first attempt fails
    await done;
    if (failed !== input.count)
      throw new Error(`${failed} first attempts failed, not ${input.count}`);
    return { messages: succeeded };
  },

  async typedPublish(input) {
    await using connection = await connect(input.url, { recovery: false });
    const channel = await connection.openChannel({ confirm: true });
    const exchange = channel.exchange('', { schema: BenchOrder });
    await publishWindowed(input.count, input.window, (i) =>
      exchange.publish(order(i, input.size), input.queue, NOT_MANDATORY),
    );
    return { messages: input.count };
  },

  async typedConsume(input) {
    await using connection = await connect(input.url, { recovery: false });
    const queue = (await connection.openChannel()).queue(input.queue, { schema: BenchOrder });
    // Awaited here: the connection closes when this function returns.
    return await consumeOrders(input, (handler, options) => queue.consume(handler, options));
  },

  async contractPublish(input) {
    await using connection = await connect(input.url, { recovery: false });
    // A publisher's part: the queue, and a confirm channel for the handle.
    await using applied = await benchContract(input.queue).apply(connection, {
      publishers: ['order'],
    });
    const publisher = applied.publishers.order;
    await publishWindowed(input.count, input.window, (i) =>
      publisher.publish(order(i, input.size), NOT_MANDATORY),
    );
    return { messages: input.count };
  },

  async contractConsume(input) {
    await using connection = await connect(input.url, { recovery: false });
    await using applied = await benchContract(input.queue).apply(connection, {
      consumers: ['orders'],
    });
    const route = applied.consumers.orders;
    // Awaited here: the connection closes when this function returns.
    return await consumeOrders(input, (handler, options) => route.consume(handler, options));
  },

  async tracedPublish(input) {
    const untrace = await traced();
    try {
      return await client.publishConfirm(input);
    } finally {
      await untrace();
    }
  },

  async tracedConsume(input) {
    const untrace = await traced();
    try {
      return await client.consume(input);
    } finally {
      await untrace();
    }
  },

  async rpc(input) {
    await using connection = await connect(input.url, { recovery: false });
    const serving = await connection.openChannel();
    await serving.queue(input.queue).serve((request) => request.data);
    const rpc = await connection.rpcClient();
    const latenciesUs: number[] = [];
    for (let i = 0; i < input.count; i++) {
      const start = process.hrtime.bigint();
      const reply = await rpc.call(input.queue, { i });
      latenciesUs.push(Number(process.hrtime.bigint() - start) / 1000);
      if ((reply as { i: number }).i !== i)
        throw new Error(`reply ${i} carried ${JSON.stringify(reply)}`);
    }
    return { messages: input.count, latenciesUs };
  },

  async large(input) {
    await using connection = await connect(input.url, { recovery: false });
    const consuming = await connection.openChannel();
    const publishing = await connection.openChannel({ confirm: true });
    let received = 0;
    const { done, resolve, reject } = finish();
    await consuming.queue(input.queue).consume(
      (message: IncomingMessage) => {
        const index = indexOf(message.body, input.size);
        if (index !== received) reject(new Error(`message ${index} arrived as number ${received}`));
        message.ack();
        if (++received === input.count) resolve();
      },
      { prefetch: input.window },
    );
    const exchange = publishing.exchange('');
    await publishWindowed(input.count, LARGE_PUBLISH_WINDOW, (i) =>
      exchange.publish(body(input.size, i), input.queue, NOT_MANDATORY),
    );
    await done;
    return { messages: received };
  },
};
