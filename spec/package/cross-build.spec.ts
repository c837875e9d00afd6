/**
 * The built package, as an application loads it: an application (or two of its dependencies)
 * that loads both warren's ESM build and its CJS build gets two copies of every class, and
 * `instanceof` must still recognise an error from either copy. Needs `npm run build` first
 * (CI builds before it tests); run it with `npx vitest run --project package`.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

type Warren = typeof import('../../lib/index.js');

const dist = join(import.meta.dirname, '..', '..', 'dist');
let esm: Warren;
let cjs: Warren;

beforeAll(async () => {
  for (const file of ['index.js', 'index.cjs']) {
    if (!existsSync(join(dist, file))) {
      throw new Error(`dist/${file} is missing: run \`npm run build\` before this test`);
    }
  }
  esm = (await import(pathToFileURL(join(dist, 'index.js')).href)) as Warren;
  cjs = createRequire(import.meta.url)(join(dist, 'index.cjs')) as Warren;
});

/** One error of each kind the checks below use, made by `warren`. */
function errorsOf(warren: Warren) {
  const connection = new warren.ConnectionError('CONNECTION_LOST', 'the socket ended');
  return {
    amqp: new warren.AmqpError('CHANNEL_LIMIT', 'every channel is in use'),
    connection,
    channel: warren.ChannelError.fromConnection(connection),
    timeout: new warren.TimeoutError('the call timed out'),
    abort: new warren.AbortError('the call was aborted', undefined),
    replay: new warren.ReplayInterruptedError(
      'orders.dead',
      new warren.AbortError('the replay was aborted', undefined),
      { moved: 0, skipped: 0, failed: 0, failures: [] },
      0,
    ),
  };
}

describe('two copies of warren in one process', () => {
  it('are two copies: the ESM and the CJS build have distinct classes', () => {
    expect(esm.AmqpError).not.toBe(cjs.AmqpError);
    expect(esm.ChannelError).not.toBe(cjs.ChannelError);
    expect(Object.getPrototypeOf(new esm.TimeoutError('x'))).not.toBe(cjs.TimeoutError.prototype);
  });

  for (const [made, checked] of [
    ['ESM', 'CJS'],
    ['CJS', 'ESM'],
  ] as const) {
    describe(`an error from the ${made} build, checked with the ${checked} build's classes`, () => {
      const maker = (): Warren => (made === 'ESM' ? esm : cjs);
      const checker = (): Warren => (checked === 'ESM' ? esm : cjs);

      it('is an instance of AmqpError, and of Error', () => {
        const { AmqpError } = checker();
        for (const error of Object.values(errorsOf(maker()))) {
          expect(error instanceof AmqpError).toBe(true);
          expect(error instanceof Error).toBe(true);
        }
      });

      it('is an instance of its own class and its ancestors', () => {
        const { ChannelError, ClosedError, ConnectionError, TimeoutError, AbortError } = checker();
        const errors = errorsOf(maker());
        expect(errors.channel instanceof ChannelError).toBe(true);
        expect(errors.channel instanceof ClosedError).toBe(true);
        expect(errors.connection instanceof ConnectionError).toBe(true);
        expect(errors.connection instanceof ClosedError).toBe(true);
        expect(errors.timeout instanceof TimeoutError).toBe(true);
        expect(errors.abort instanceof AbortError).toBe(true);
        expect(errors.replay instanceof checker().ReplayInterruptedError).toBe(true);
        // The cause of a channel that went down with its connection, too.
        expect(errors.channel.cause instanceof ConnectionError).toBe(true);
      });

      it('is not an instance of a sibling or a subclass', () => {
        const { ChannelError, ClosedError, ConnectionError, TimeoutError, AbortError } = checker();
        const errors = errorsOf(maker());
        expect(errors.channel instanceof ConnectionError).toBe(false);
        expect(errors.connection instanceof ChannelError).toBe(false);
        expect(errors.timeout instanceof AbortError).toBe(false);
        expect(errors.abort instanceof TimeoutError).toBe(false);
        expect(errors.abort instanceof checker().ReplayInterruptedError).toBe(false);
        expect(errors.replay instanceof AbortError).toBe(false);
        expect(errors.timeout instanceof ClosedError).toBe(false);
        // A plain AmqpError is none of its subclasses.
        for (const subclass of [ChannelError, ConnectionError, ClosedError, TimeoutError]) {
          expect(errors.amqp instanceof subclass).toBe(false);
        }
      });
    });
  }

  it('recognises a real failure of the other build: a refused connection', async () => {
    // Port 1 on the loopback: nothing listens, so the connect fails at once with CONNECTION_REFUSED.
    const error = await esm.connect('amqp://127.0.0.1:1', { recovery: false }).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error instanceof cjs.ConnectionError).toBe(true);
    expect(error instanceof cjs.ChannelError).toBe(false);
    expect((error as InstanceType<Warren['ConnectionError']>).code).toBe('CONNECTION_REFUSED');
  });

  it('does not take other values for warren errors', () => {
    for (const warren of [esm, cjs]) {
      for (const value of [
        new Error('plain'),
        new TypeError('bad argument'),
        Object.assign(new Error('look-alike'), { code: 'TIMEOUT', name: 'TimeoutError' }),
        { code: 'CHANNEL_CLOSED', message: 'a plain object' },
        { [Symbol('warren.error.AmqpError')]: true },
        null,
        undefined,
        'TIMEOUT',
        42,
      ]) {
        expect(value instanceof warren.AmqpError).toBe(false);
        expect(value instanceof warren.TimeoutError).toBe(false);
        expect(value instanceof warren.ChannelError).toBe(false);
      }
    }
  });

  it("checks an application's own subclass by its prototype chain", () => {
    class OrderError extends esm.AmqpError {}
    const own = new OrderError('CHANNEL_LIMIT', 'an application error');
    expect(own instanceof OrderError).toBe(true);
    expect(own instanceof esm.AmqpError).toBe(true);
    expect(own instanceof cjs.AmqpError).toBe(true);
    expect(own instanceof cjs.ChannelError).toBe(false);
    // warren's errors are not the application's subclass.
    expect(new esm.AmqpError('CHANNEL_LIMIT', 'x') instanceof OrderError).toBe(false);
    expect(new cjs.AmqpError('CHANNEL_LIMIT', 'x') instanceof OrderError).toBe(false);
  });
});

/**
 * One instance of each exported error class of `warren`, by its exported
 * name. A class exported later and missing here fails the check below.
 */
function oneOfEach(warren: Warren): Record<string, Error> {
  const returned = (
    warren.ReturnedMessage as unknown as {
      create(content: object): import('../../lib/index.js').ReturnedMessage;
    }
  ).create({
    replyCode: 312,
    replyText: 'NO_ROUTE',
    exchange: 'x',
    routingKey: 'k',
    properties: {},
    body: Buffer.from('lost'),
  });
  const connection = new warren.ConnectionError('CONNECTION_LOST', 'the socket ended');
  const channel = warren.ChannelError.fromConnection(connection);
  const Closed = warren.ClosedError as unknown as new (code: string, message: string) => Error;
  return {
    AmqpError: new warren.AmqpError('CHANNEL_LIMIT', 'every channel is in use'),
    ProtocolError: new warren.ProtocolError('FRAME_ERROR', 'a bad frame'),
    ClosedError: new Closed('CONNECTION_CLOSED', 'closed'),
    ConnectionError: connection,
    ChannelError: channel,
    AbortError: new warren.AbortError('the call was aborted', undefined),
    TimeoutError: new warren.TimeoutError('the call timed out'),
    PublishNackedError: new warren.PublishNackedError(),
    PublishUnconfirmedError: new warren.PublishUnconfirmedError(channel),
    DisconnectedError: new warren.DisconnectedError('the connection is down'),
    MessageReturnedError: new warren.MessageReturnedError(returned),
    RemoteError: new warren.RemoteError('it failed', undefined),
    MessageValidationError: new warren.MessageValidationError('the body is wrong', []),
    UnknownMessageTypeError: new warren.UnknownMessageTypeError('order.shipped', 'type', ['a']),
    MessageTooLargeError: new warren.MessageTooLargeError(
      { method: 'basic.deliver', exchange: 'x', routingKey: 'k', rejected: true },
      { bodySize: 2048, maxBodySize: 1024, properties: {} },
    ),
    ReplayInterruptedError: new warren.ReplayInterruptedError(
      'orders.dead',
      new warren.AbortError('the replay was aborted', undefined),
      { moved: 1, skipped: 0, failed: 0, failures: [] },
      0,
    ),
  };
}

describe('the names of the error classes, in both builds', () => {
  for (const build of ['ESM', 'CJS'] as const) {
    const warren = (): Warren => (build === 'ESM' ? esm : cjs);

    it(`${build}: every exported error class is in the list checked below`, () => {
      const exported = Object.entries(warren())
        .filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error)
        .map(([name]) => name)
        .sort();
      expect(exported).toEqual(Object.keys(oneOfEach(warren())).sort());
    });

    it(`${build}: each class, and each error, is named as exported; String(error) says so`, () => {
      const exports = warren() as unknown as Record<string, { name: string }>;
      for (const [name, error] of Object.entries(oneOfEach(warren()))) {
        expect(exports[name]?.name).toBe(name);
        expect(error.name).toBe(name);
        expect(String(error)).toBe(`${name}: ${error.message}`);
        expect(error.stack?.startsWith(`${name}: `)).toBe(true);
      }
    });
  }

  it("leaves an application's subclass its own name", () => {
    for (const warren of [esm, cjs]) {
      class OrderError extends warren.ChannelError {}
      expect(new OrderError('CHANNEL_CLOSED', 'x').name).toBe('OrderError');
    }
  });
});
