/**
 * Request/reply against RabbitMQ: `connection.rpcClient()` calls, `queue.serve()` answers, over
 * direct reply-to. Proves that every call gets its own reply (a thousand at once, served
 * concurrently), that schemas on either side refuse what does not match and say so to the
 * caller at once, that a failing handler becomes a `RemoteError` while the server goes on,
 * and that timeouts, aborts, unroutable requests and closing never leave a call hanging nor a
 * late reply unhandled. What the broker reports is checked too: the served queue is empty once
 * requests are answered, refused requests are dead-lettered, requests nobody took expire.
 */
import {
  afterAll,
  afterEach,
  beforeAll,
  describe,
  expect,
  inject,
  it,
  onTestFinished,
} from 'vitest';
import { z } from 'zod';
import {
  AbortError,
  ChannelError,
  type Connection,
  type Consumer,
  connect,
  DIRECT_REPLY_TO,
  type IncomingMessage,
  Message,
  MessageReturnedError,
  MessageValidationError,
  type Queue,
  RemoteError,
  type RpcClientOptions,
  type Schema,
  type SchemaOutput,
  TimeoutError,
} from '../../lib/index.js';
import {
  deleteAfterTest,
  drain,
  queueCounts,
  uniqueName,
  useConnection,
  waitFor,
} from '../support/amqp-helpers.js';
import { rejectionOf, rejectionReason, watch, within } from '../support/fault-helpers.js';
import { callSite, siteBelow } from '../support/stack.js';

const url = inject('amqpUrl');
let connection: Connection;
const openChannel = useConnection(url, (opened) => {
  connection = opened;
});

// Nothing may escape as an unhandled rejection or an uncaught exception, and warren must not
// have to warn about anything (an unclaimed return, a failure nobody listened to).
const faults: unknown[] = [];
const warnings: Error[] = [];
const onFault = (error: unknown): void => {
  faults.push(error);
};
const onWarning = (warning: Error & { code?: string }): void => {
  if (warning.code?.startsWith('WARREN_')) warnings.push(warning);
};
beforeAll(() => {
  process.on('unhandledRejection', onFault);
  process.on('uncaughtException', onFault);
  process.on('warning', onWarning);
});
afterAll(() => {
  process.off('unhandledRejection', onFault);
  process.off('uncaughtException', onFault);
  process.off('warning', onWarning);
});
afterEach(async () => {
  // Let late replies, stray rejections and warnings surface before looking.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const seen = { faults: faults.splice(0), warnings: warnings.splice(0).map((w) => w.message) };
  expect(seen).toEqual({ faults: [], warnings: [] });
});

/** An RPC client on the test file's connection, closed when the test ends. */
async function rpcClient<
  Req extends Schema | undefined = undefined,
  Res extends Schema | undefined = undefined,
>(options: RpcClientOptions<Req, Res> = {}) {
  const client = await connection.rpcClient(options);
  onTestFinished(() => client.close());
  return client;
}

/**
 * A queue for a server, on a channel of its own: exclusive, with `schema` when given, and with
 * `deadLetters` (an exclusive queue) as its dead-letter queue.
 */
async function serverQueue<S extends Schema | undefined = undefined>(
  schema?: S,
): Promise<{ queue: Queue<SchemaOutput<S>>; deadLetters: Queue }>;
async function serverQueue(schema?: Schema): Promise<{ queue: Queue; deadLetters: Queue }> {
  const channel = await openChannel();
  const deadLetters = await channel.declareQueue(uniqueName('rpc-dead'), { exclusive: true });
  const queue = await channel.declareQueue(uniqueName('rpc'), {
    exclusive: true,
    ...(schema === undefined ? {} : { schema }),
    arguments: {
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': deadLetters.name,
    },
  });
  return { queue, deadLetters };
}

/** What a serving consumer reported: handler failures and refused requests. */
function reports<T>(consumer: Consumer<T>) {
  const errors: unknown[] = [];
  const invalid: MessageValidationError[] = [];
  consumer.on('error', (error) => errors.push(error));
  consumer.on('invalid', (error) => invalid.push(error));
  return { errors, invalid };
}

/** A promise to open by hand: handlers wait on it to stay busy. */
function gate(): { opened: Promise<void>; open(): void } {
  let open = (): void => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/** Ready messages and consumers of `queue`, as the broker reports them. */
function counts(queue: { readonly name: string }) {
  return queueCounts(connection, queue.name);
}

const Ping = z.object({ id: z.number().int() });

describe('calls and replies', () => {
  it('a call resolves with the value the handler returned; the request is acked', async () => {
    const { queue } = await serverQueue();
    const seen: IncomingMessage[] = [];
    await queue.serve((request) => {
      seen.push(request);
      const { a, b } = request.data as { a: number; b: number };
      return { sum: a + b, at: 'server' };
    });
    const rpc = await rpcClient();

    expect(await rpc.call(queue.name, { a: 2, b: 40 })).toEqual({ sum: 42, at: 'server' });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.properties.contentType).toBe('application/json');
    expect(rpc.waiting).toBe(0);
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 1 });
  });

  it('a thousand concurrent calls each get their own reply', async () => {
    const { queue } = await serverQueue(Ping);
    let running = 0;
    let most = 0;
    const consumer = await queue.serve(
      async (request) => {
        running++;
        most = Math.max(most, running);
        // Finish in a scrambled order, so that replies do not come back in request order.
        await new Promise((resolve) => setTimeout(resolve, request.data.id % 7));
        running--;
        return { id: request.data.id, echo: `reply-${request.data.id * 3}` };
      },
      { concurrency: 8, prefetch: 32 },
    );
    const { errors } = reports(consumer);
    const rpc = await rpcClient({ requestSchema: Ping });

    const ids = Array.from({ length: 1_000 }, (_, i) => i);
    const replies = await Promise.all(ids.map((id) => rpc.call(queue.name, { id })));
    for (const id of ids) expect(replies[id]).toEqual({ id, echo: `reply-${id * 3}` });
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(8);
    expect(errors).toEqual([]);
    expect(rpc.waiting).toBe(0);
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 1 });
  });

  it('a server with concurrency n runs n handlers at once, the rest wait in the queue', async () => {
    const { queue } = await serverQueue(Ping);
    const release = gate();
    let running = 0;
    let most = 0;
    const consumer = await queue.serve(
      async (request) => {
        running++;
        most = Math.max(most, running);
        await release.opened;
        running--;
        return request.data.id * 10;
      },
      { concurrency: 3, prefetch: 3 },
    );
    const rpc = await rpcClient();

    const calls = [1, 2, 3, 4, 5, 6].map((id) => rpc.call(queue.name, { id }));
    await waitFor(() => consumer.active === 3, 5_000, 'three handlers running');
    // Three requests are with the server, unacked; the broker holds the other three.
    await waitFor(
      async () => (await counts(queue))?.messageCount === 3,
      5_000,
      'three requests ready in the queue',
    );
    expect(rpc.waiting).toBe(6);
    release.open();
    expect(await Promise.all(calls)).toEqual([10, 20, 30, 40, 50, 60]);
    expect(most).toBe(3);
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 1 });
  });

  it('a handler that returns nothing replies null', async () => {
    const { queue } = await serverQueue();
    await queue.serve(() => undefined);
    await queue.serve(async () => {});
    const rpc = await rpcClient();
    expect(await rpc.call(queue.name, {})).toBeNull();
    expect(await rpc.call(queue.name, {})).toBeNull();
  });

  it('replies of every JSON kind arrive as returned: numbers, booleans, null, arrays, objects', async () => {
    const { queue } = await serverQueue();
    await queue.serve((request) => (request.data as { reply: unknown }).reply);
    const rpc = await rpcClient();
    for (const reply of [0, 7.5, true, false, null, [1, 'two', null], { nested: { deep: [1] } }]) {
      expect(await rpc.call(queue.name, { reply })).toEqual(reply);
    }
  });

  it('a handler that returns a string replies with that string', async () => {
    const { queue } = await serverQueue();
    await queue.serve((request) => (request.data as { reply: string }).reply);
    const rpc = await rpcClient();
    // A string is a JSON value like any other: the caller gets the same string back.
    expect(await rpc.call(queue.name, { reply: 'pong' })).toBe('pong');
    expect(await rpc.call(queue.name, { reply: '' })).toBe('');
    expect(await rpc.call(queue.name, { reply: '{"looks":"like json"}' })).toBe(
      '{"looks":"like json"}',
    );
  });

  it('request properties and headers reach the server, with correlationId, replyTo and expiration', async () => {
    const { queue } = await serverQueue();
    const seen: IncomingMessage[] = [];
    await queue.serve((request) => {
      seen.push(request);
      return { tenant: request.headers.tenant };
    });
    const rpc = await rpcClient();

    const reply = await rpc.call(
      queue.name,
      { q: 1 },
      {
        timeout: 10_000,
        properties: { headers: { tenant: 'acme', attempt: 2 }, priority: 3, type: 'quote' },
      },
    );
    expect(reply).toEqual({ tenant: 'acme' });
    const [request] = seen;
    expect(request?.headers).toEqual({ tenant: 'acme', attempt: 2 });
    expect(request?.properties.priority).toBe(3);
    expect(request?.properties.type).toBe('quote');
    expect(request?.properties.expiration).toBe('10000');
    expect(request?.properties.correlationId).toEqual(expect.any(String));
    // RabbitMQ rewrites the pseudo-queue's name into one that leads back to the caller's channel.
    expect(request?.properties.replyTo?.startsWith(`${DIRECT_REPLY_TO}.`)).toBe(true);
  });

  it('a Message of bytes is sent as it is, with its own properties', async () => {
    const { queue } = await serverQueue();
    const seen: IncomingMessage[] = [];
    await queue.serve((request) => {
      seen.push(request);
      return { received: request.text() };
    });
    const rpc = await rpcClient();

    // Bytes already encoded by the caller, as the Message contract says: sent as they are.
    const request = new Message(Buffer.from('{"pre":"encoded"}'), {
      contentType: 'application/json',
      headers: { from: 'test' },
    });
    expect(await rpc.call(queue.name, request)).toEqual({ received: '{"pre":"encoded"}' });
    expect(seen[0]?.data).toEqual({ pre: 'encoded' });
    expect(seen[0]?.headers).toEqual({ from: 'test' });
    expect(seen[0]?.properties.contentType).toBe('application/json');
  });

  it('a request published without replyTo is handled and acked, and nothing is sent back', async () => {
    const { queue } = await serverQueue();
    const handled: unknown[] = [];
    await queue.serve((request) => {
      handled.push(request.data);
      return 'nobody listens';
    });
    const publisher = await openChannel(true);
    await publisher.exchange('').publish({ fire: 'and forget' }, queue.name);

    await waitFor(() => handled.length === 1, 5_000, 'the request handled');
    expect(handled).toEqual([{ fire: 'and forget' }]);
    await waitFor(
      async () => (await counts(queue))?.messageCount === 0,
      5_000,
      'the request gone from the queue',
    );
  });
});

describe('schemas', () => {
  const Order = z.object({ sku: z.string().min(1), quantity: z.number().int().positive() });
  const Quote = z.object({ sku: z.string(), total: z.number() });

  it('on both sides: typed requests and replies go through when they match', async () => {
    const { queue } = await serverQueue(Order);
    const consumer = await queue.serve(
      (request) => ({ sku: request.data.sku, total: request.data.quantity * 2.5 }),
      { replySchema: Quote },
    );
    const { errors, invalid } = reports(consumer);
    const rpc = await rpcClient({
      requestSchema: Order,
      replySchema: Quote.transform((quote) => ({ ...quote, cents: Math.round(quote.total * 100) })),
    });

    const quote: { sku: string; total: number; cents: number } = await rpc.call(queue.name, {
      sku: 'A-1',
      quantity: 4,
    });
    expect(quote).toEqual({ sku: 'A-1', total: 10, cents: 1000 });
    expect({ errors, invalid }).toEqual({ errors: [], invalid: [] });
  });

  it("the client's requestSchema refuses an invalid request before sending it", async () => {
    const { queue } = await serverQueue();
    const seen: unknown[] = [];
    await queue.serve((request) => {
      seen.push(request.data);
      return { ok: true };
    });
    const rpc = await rpcClient({ requestSchema: Order });

    const bad = { sku: '', quantity: 1.5 } as unknown as z.input<typeof Order>;
    const error = await rejectionOf(rpc.call(queue.name, bad));
    expect(error).toBeInstanceOf(MessageValidationError);
    const issues = (error as MessageValidationError).issues.map((issue) => issue.path.join('.'));
    expect(issues.sort()).toEqual(['quantity', 'sku']);
    expect(rpc.waiting).toBe(0);

    // The next request is the first the server sees: the invalid one never left.
    expect(await rpc.call(queue.name, { sku: 'B-2', quantity: 1 })).toEqual({ ok: true });
    expect(seen).toEqual([{ sku: 'B-2', quantity: 1 }]);
  });

  it("the server queue's schema refuses an invalid request: the caller learns at once, the request is dead-lettered", async () => {
    const { queue, deadLetters } = await serverQueue(Order);
    const seen: unknown[] = [];
    const consumer = await queue.serve((request) => {
      seen.push(request.data);
      return { ok: true };
    });
    const { errors, invalid } = reports(consumer);
    // A client without a schema sends what it likes.
    const rpc = await rpcClient({ timeout: 20_000 });

    const error = await within(
      rejectionOf(rpc.call(queue.name, { sku: 'C-3', quantity: 'many' })),
      10_000,
      'the refusal reaching the caller',
    );
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({ code: 'REMOTE_ERROR', remoteCode: 'MESSAGE_INVALID' });
    expect((error as RemoteError).remoteMessage).toContain('quantity');
    expect(seen).toEqual([]);
    expect(errors).toEqual([]);
    expect(invalid).toHaveLength(1);
    expect(invalid[0]?.issues.map((issue) => issue.path.join('.'))).toEqual(['quantity']);

    await waitFor(
      async () => (await counts(deadLetters))?.messageCount === 1,
      5_000,
      'the refused request in the dead-letter queue',
    );
    expect((await drain(deadLetters)).map((text) => JSON.parse(text))).toEqual([
      { sku: 'C-3', quantity: 'many' },
    ]);
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 1 });

    // Bytes that are not JSON at all are refused the same way.
    const notJson = await rejectionOf(rpc.call(queue.name, new Message(Buffer.from('not json'))));
    expect(notJson).toMatchObject({ code: 'REMOTE_ERROR', remoteCode: 'MESSAGE_INVALID' });
    expect(invalid).toHaveLength(2);
  });

  it("the server's replySchema refuses a bad reply: the caller gets a RemoteError, the request is acked", async () => {
    const { queue, deadLetters } = await serverQueue(Order);
    const consumer = await queue.serve(
      // The handler's type is checked against the schema; this one lies at runtime.
      (request) => ({ sku: request.data.sku, total: 'free' }) as unknown as z.input<typeof Quote>,
      { replySchema: Quote },
    );
    const { errors, invalid } = reports(consumer);
    const rpc = await rpcClient();

    const error = await rejectionOf(rpc.call(queue.name, { sku: 'D-4', quantity: 1 }));
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({ code: 'REMOTE_ERROR', remoteCode: 'MESSAGE_INVALID' });
    expect((error as RemoteError).remoteMessage).toContain('total');
    expect(invalid).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(MessageValidationError);
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 1 });
    expect(await counts(deadLetters)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it("the client's replySchema refuses a bad reply with a MessageValidationError", async () => {
    const { queue } = await serverQueue();
    const consumer = await queue.serve(() => ({ sku: 'E-5', total: 'lots' }));
    const { errors } = reports(consumer);
    const rpc = await rpcClient({ replySchema: Quote });

    const error = await rejectionOf(rpc.call(queue.name, {}));
    expect(error).toBeInstanceOf(MessageValidationError);
    expect((error as MessageValidationError).issues.map((issue) => issue.path.join('.'))).toEqual([
      'total',
    ]);
    // As far as the server knows, it answered.
    expect(errors).toEqual([]);
    expect(rpc.waiting).toBe(0);
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 1 });
  });

  it('a string request checked by the same schema on both sides is accepted by both', async () => {
    const Name = z.string().min(1);
    const { queue } = await serverQueue(Name);
    const consumer = await queue.serve((request) => `hello, ${request.data}`);
    const { invalid } = reports(consumer);
    const rpc = await rpcClient({ requestSchema: Name, replySchema: z.string() });

    expect(await rpc.call(queue.name, 'warren')).toBe('hello, warren');
    expect(invalid).toEqual([]);
  });
});

describe('handler failures', () => {
  it('a handler that throws: the caller gets a RemoteError, the server reports it and goes on', async () => {
    const { queue, deadLetters } = await serverQueue(Ping);
    const consumer = await queue.serve((request) => {
      if (request.data.id === 1) {
        throw Object.assign(new Error('out of stock'), { code: 'E_OUT_OF_STOCK' });
      }
      return request.data.id;
    });
    const { errors } = reports(consumer);
    const rpc = await rpcClient();

    const error = await rejectionOf(rpc.call(queue.name, { id: 1 }));
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({
      code: 'REMOTE_ERROR',
      remoteMessage: 'out of stock',
      remoteCode: 'E_OUT_OF_STOCK',
    });
    expect((error as Error).message).toContain('out of stock');
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('out of stock');

    // Answered and acked, not requeued nor dead-lettered; the server still serves.
    expect(await rpc.call(queue.name, { id: 2 })).toBe(2);
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 1 });
    expect(await counts(deadLetters)).toEqual({ messageCount: 0, consumerCount: 0 });
    expect(consumer.cancelled).toBe(false);
  });

  it('a handler that rejects: the same, and a code that is not a string is not copied', async () => {
    const { queue, deadLetters } = await serverQueue(Ping);
    const consumer = await queue.serve(async (request) => {
      await new Promise((resolve) => setImmediate(resolve));
      if (request.data.id === 1) throw Object.assign(new Error('numbered'), { code: 503 });
      if (request.data.id === 2) throw new Error('plain');
      if (request.data.id === 3) throw 'a bare string';
      return { fine: true };
    });
    const { errors } = reports(consumer);
    const rpc = await rpcClient();

    const [numbered, plain, bare] = await Promise.all(
      [1, 2, 3].map((id) => rejectionOf(rpc.call(queue.name, { id }))),
    );
    expect(numbered).toBeInstanceOf(RemoteError);
    expect(numbered).toMatchObject({ remoteMessage: 'numbered', remoteCode: undefined });
    expect(plain).toMatchObject({ remoteMessage: 'plain', remoteCode: undefined });
    expect(bare).toMatchObject({ code: 'REMOTE_ERROR', remoteMessage: 'a bare string' });
    expect(errors).toHaveLength(3);

    expect(await rpc.call(queue.name, { id: 4 })).toEqual({ fine: true });
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 1 });
    expect(await counts(deadLetters)).toEqual({ messageCount: 0, consumerCount: 0 });
  });
});

describe('timeouts, aborts and unroutable requests', () => {
  it('a call times out with a TimeoutError, and its late reply is dropped', async () => {
    const { queue } = await serverQueue(Ping);
    const release = gate();
    const handled: number[] = [];
    await queue.serve(async (request) => {
      if (request.data.id === 1) await release.opened;
      handled.push(request.data.id);
      return { id: request.data.id };
    });
    const rpc = await rpcClient();

    const site = siteBelow(callSite());
    const error = await rejectionOf(rpc.call(queue.name, { id: 1 }, { timeout: 150 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: 'TIMEOUT' });
    // Its stack leads to the call that timed out, not to the timer that fired.
    expect((error as Error).stack).toContain(`${site}:`);
    expect(rpc.waiting).toBe(0);

    // The server answers late; one handler at a time, so that late reply reaches the client
    // before the reply to the next call, which must be that call's own.
    release.open();
    expect(await rpc.call(queue.name, { id: 2 })).toEqual({ id: 2 });
    expect(handled).toEqual([1, 2]);
    expect(rpc.waiting).toBe(0);
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 1 });
  });

  it("the client's default timeout applies, and a call's own timeout overrides it", async () => {
    const { queue } = await serverQueue();
    const rpc = await rpcClient({ timeout: 100 });
    // Nobody serves the queue.
    expect(await rejectionOf(rpc.call(queue.name, {}))).toBeInstanceOf(TimeoutError);
    await queue.serve(async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { slow: true };
    });
    expect(await rpc.call(queue.name, {}, { timeout: 10_000 })).toEqual({ slow: true });
  });

  it('a fractional timeout does not break the client', async () => {
    const { queue } = await serverQueue();
    await queue.serve(() => ({ ok: true }));
    const rpc = await rpcClient();

    // RabbitMQ takes only whole milliseconds as an expiration: sending '1500.5' would make it
    // close the client's channel. Refusing the timeout up front or rounding it are both fine.
    const outcome = await rpc.call(queue.name, {}, { timeout: 1_500.5 }).then(
      (reply) => reply,
      (error: unknown) => error,
    );
    if (outcome instanceof Error) expect(outcome).toBeInstanceOf(RangeError);
    else expect(outcome).toEqual({ ok: true });
    expect(rpc.channel.isOpen).toBe(true);
    expect(await rpc.call(queue.name, {})).toEqual({ ok: true });
  });

  it('a timeout longer than a timer can hold is refused with a RangeError before sending', async () => {
    const { queue } = await serverQueue();
    await queue.serve(async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { ok: true };
    });
    const rpc = await rpcClient();

    // Node clamps a timer over 2^31 - 1 ms to 1 ms: such a timeout would expire at once.
    await expect(rpc.call(queue.name, {}, { timeout: 2 ** 31 })).rejects.toBeInstanceOf(RangeError);
    expect(await counts(queue)).toMatchObject({ messageCount: 0 });
    expect(await rpc.call(queue.name, {}, { timeout: 2 ** 31 - 1 })).toEqual({ ok: true });
  });

  it('an aborted call rejects with an AbortError; an already aborted one sends nothing', async () => {
    const { queue } = await serverQueue();
    const rpc = await rpcClient();

    const controller = new AbortController();
    const pending = watch(rpc.call(queue.name, { n: 1 }, { signal: controller.signal }));
    await waitFor(
      async () => (await counts(queue))?.messageCount === 1,
      5_000,
      'the request in the queue',
    );
    controller.abort(new Error('changed my mind'));
    const error = await rejectionReason(pending);
    expect(error).toBeInstanceOf(AbortError);
    expect(error).toMatchObject({ code: 'ABORTED' });
    expect((error as AbortError).cause).toEqual(new Error('changed my mind'));
    expect(rpc.waiting).toBe(0);

    await drain(queue);
    const early = await rejectionOf(
      rpc.call(queue.name, { n: 2 }, { signal: AbortSignal.abort() }),
    );
    expect(early).toBeInstanceOf(AbortError);
    // Confirmed publishes on another channel go after anything this client could have sent.
    await (await openChannel(true)).exchange('').publish('marker', queue.name);
    expect(await drain(queue)).toEqual(['marker']);
  });

  it('a call to a queue that does not exist rejects with NO_ROUTE at once', async () => {
    const rpc = await rpcClient({ timeout: 20_000 });
    const error = await within(
      rejectionOf(rpc.call(uniqueName('rpc-nobody'), { hello: 1 })),
      10_000,
      'the unroutable request coming back',
    );
    expect(error).toBeInstanceOf(MessageReturnedError);
    expect(error).toMatchObject({ code: 'NO_ROUTE', replyCode: 312 });
    expect(rpc.waiting).toBe(0);

    // The client is still usable.
    const { queue } = await serverQueue();
    await queue.serve(() => ({ here: true }));
    expect(await rpc.call(queue.name, {})).toEqual({ here: true });
  });

  it('a request nobody takes expires in its queue when its call times out', async () => {
    const channel = await openChannel();
    // Not exclusive: the request must be able to sit there, consumed by nobody.
    const queue = await channel.declareQueue(uniqueName('rpc-expire'));
    deleteAfterTest(connection, 'queue', queue.name);
    const rpc = await rpcClient();

    // Routed (not returned: that would be a MessageReturnedError), then not answered.
    const error = await rejectionOf(rpc.call(queue.name, { late: true }, { timeout: 200 }));
    expect(error).toBeInstanceOf(TimeoutError);
    await waitFor(
      async () => (await counts(queue))?.messageCount === 0,
      5_000,
      'the request to expire',
    );
    // A server that comes later finds nothing to answer.
    const seen: unknown[] = [];
    await queue.serve((request) => {
      seen.push(request.data);
    });
    expect(await rpc.call(queue.name, { fresh: true })).toBeNull();
    expect(seen).toEqual([{ fresh: true }]);
  });
});

describe('closing and cancelling', () => {
  it('closing the client rejects its pending calls with a ChannelError', async () => {
    const { queue } = await serverQueue();
    const rpc = await connection.rpcClient();
    const calls = [1, 2, 3].map((n) => watch(rpc.call(queue.name, { n })));
    await waitFor(
      async () => (await counts(queue))?.messageCount === 3,
      5_000,
      'the requests in the queue',
    );
    expect(rpc.waiting).toBe(3);

    await within(rpc.close(), 5_000, 'closing the client');
    for (const call of calls) {
      const error = await within(rejectionReason(call), 5_000, 'the call rejecting');
      expect(error).toBeInstanceOf(ChannelError);
      expect(error).toMatchObject({ code: 'CHANNEL_CLOSED' });
    }
    expect(rpc.waiting).toBe(0);
    expect(rpc.channel.isOpen).toBe(false);
    // A call on a closed client rejects too.
    expect(await rejectionOf(rpc.call(queue.name, {}))).toBeInstanceOf(ChannelError);
    expect(rpc.waiting).toBe(0);
  });

  it("closing the client's connection rejects its pending calls with a ChannelError", async () => {
    const { queue } = await serverQueue();
    const own = await connect(url);
    const rpc = await own.rpcClient();
    const call = watch(rpc.call(queue.name, { n: 1 }));
    await waitFor(
      async () => (await counts(queue))?.messageCount === 1,
      5_000,
      'the request in the queue',
    );

    await within(own.close(), 5_000, 'closing the connection');
    const error = await within(rejectionReason(call), 5_000, 'the call rejecting');
    expect(error).toBeInstanceOf(ChannelError);
    expect(rpc.waiting).toBe(0);
  });

  it('a reply to a client that has closed is dropped, and the server goes on', async () => {
    const { queue } = await serverQueue(Ping);
    const release = gate();
    const handled: number[] = [];
    const consumer = await queue.serve(async (request) => {
      if (request.data.id === 1) await release.opened;
      handled.push(request.data.id);
      return request.data.id;
    });
    const { errors } = reports(consumer);
    const gone = await connection.rpcClient();
    const call = watch(gone.call(queue.name, { id: 1 }));
    await waitFor(() => consumer.active === 1, 5_000, 'the handler running');
    await gone.close();
    expect(await rejectionReason(call)).toBeInstanceOf(ChannelError);

    release.open();
    const rpc = await rpcClient();
    expect(await rpc.call(queue.name, { id: 2 })).toBe(2);
    expect(handled).toEqual([1, 2]);
    expect(errors).toEqual([]);
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 1 });
  });

  it('cancelling the serving consumer stops serving; a running handler still replies', async () => {
    const { queue } = await serverQueue(Ping);
    const release = gate();
    const handled: number[] = [];
    const consumer = await queue.serve(async (request) => {
      await release.opened;
      handled.push(request.data.id);
      return request.data.id;
    });
    const rpc = await rpcClient();

    const running = rpc.call(queue.name, { id: 1 });
    await waitFor(() => consumer.active === 1, 5_000, 'the handler running');
    const cancelled = consumer.cancel();
    await waitFor(
      async () => (await counts(queue))?.consumerCount === 0,
      5_000,
      'the consumer gone from the queue',
    );
    release.open();
    expect(await running).toBe(1);
    await cancelled;
    expect(consumer.cancelled).toBe(true);

    // Nobody serves now: the next request waits in the queue until it expires.
    const error = await rejectionOf(rpc.call(queue.name, { id: 2 }, { timeout: 300 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(handled).toEqual([1]);
  });
});
