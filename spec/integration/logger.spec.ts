/**
 * The `logger` option against RabbitMQ, with a logger that records every
 * call: what each event logs (level, event name, fields), that the process
 * warnings warren emits otherwise go to the logger instead, that no line of
 * a connect / lose / recover / close cycle or of a refused connect holds the
 * password, that a logger that throws breaks nothing, that `console` serves
 * as a logger, and that a logger without its four methods is refused
 * before anything connects.
 */
import { Console } from 'node:console';
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, inject, it, onTestFinished } from 'vitest';
import { z } from 'zod';
import {
  type ConnectCallOptions,
  type Connection,
  connect,
  deadLetter,
  type LogEvent,
  type LogFields,
  type Logger,
  type LogLevel,
  type LogRecord,
  Message,
} from '../../lib/index.js';
import { channelError, uniqueName, waitFor } from '../support/amqp-helpers.js';
import { connectionPid, rejectionOf } from '../support/fault-helpers.js';
import { rabbitmqctl } from '../support/test-broker.js';

const url = inject('amqpUrl');

/** One call warren made to the logger. */
interface Line {
  readonly level: LogLevel;
  readonly record: LogRecord;
  readonly message: string;
}

/** A logger that keeps every line, for the tests to look at. */
class RecordingLogger implements Logger {
  readonly lines: Line[] = [];
  readonly debug = (record: LogRecord, message: string) => this.#keep('debug', record, message);
  readonly info = (record: LogRecord, message: string) => this.#keep('info', record, message);
  readonly warn = (record: LogRecord, message: string) => this.#keep('warn', record, message);
  readonly error = (record: LogRecord, message: string) => this.#keep('error', record, message);

  #keep(level: LogLevel, record: LogRecord, message: string): void {
    this.lines.push({ level, record, message });
  }

  /** The lines of `event`, in order. */
  of<E extends LogEvent>(
    event: E,
  ): { level: LogLevel; record: { event: E } & LogFields[E]; message: string }[] {
    return this.lines.filter((line) => line.record.event === event) as never;
  }

  /** Waits for the `count`-th line of `event`, and returns the lines of `event`. */
  async until<E extends LogEvent>(event: E, count = 1) {
    await waitFor(() => this.of(event).length >= count, 10_000, `${count} × ${event}`);
    return this.of(event);
  }
}

let warnings: (Error & { code?: string })[];
const onWarning = (warning: Error) => warnings.push(warning);

beforeEach(() => {
  warnings = [];
  process.on('warning', onWarning);
});

afterEach(() => {
  process.off('warning', onWarning);
});

/** The codes of the process warnings emitted so far in the test (they come on the next tick). */
async function warningCodes(): Promise<(string | undefined)[]> {
  await new Promise((resolve) => setImmediate(resolve));
  return warnings.map((warning) => warning.code);
}

/** Connects with `logger`, and closes the connection when the test ends. */
async function connectWith(
  logger: Logger,
  options: ConnectCallOptions = {},
  to: string = url,
): Promise<Connection> {
  const connection = await connect(to, { ...options, logger });
  onTestFinished(() => connection.close());
  return connection;
}

/** Runs rabbitmqctl against the broker the tests use. */
/** The broker's URL with another user and password. */
function urlAs(username: string, password: string): string {
  const changed = new URL(url);
  changed.username = username;
  changed.password = password;
  return changed.toString();
}

// Tests that call rabbitmqctl: each call starts an Erlang VM, seconds apiece on a loaded machine.
const RABBITMQCTL_TESTS = { timeout: 180_000 };

describe('the connection', () => {
  it('logs opening (where, without the password) and closing, and channels at debug', async () => {
    const logger = new RecordingLogger();
    const name = uniqueName('logged');
    const connection = await connect(url, { logger, connectionName: name });
    const channel = await connection.openChannel();
    await channel.close();
    await connection.close();

    const broker = new URL(url);
    const [opened] = logger.of('warren.connection.opened');
    expect(opened?.level).toBe('info');
    expect(opened?.record).toMatchObject({
      event: 'warren.connection.opened',
      host: broker.hostname,
      port: Number(broker.port || 5672),
      vhost: '/',
      connectionName: name,
    });
    expect(opened?.record.url).toMatch(/^amqp:\/\/[^:@]*@/);
    expect(opened?.message).toContain(`as '${name}'`);
    expect(logger.of('warren.channel.opened')).toEqual([
      expect.objectContaining({
        level: 'debug',
        record: { event: 'warren.channel.opened', channel: channel.id },
      }),
    ]);
    expect(logger.of('warren.channel.closed').map((line) => line.level)).toEqual(['debug']);
    expect(logger.of('warren.connection.closed')).toEqual([
      {
        level: 'info',
        record: { event: 'warren.connection.closed' },
        message: 'warren: connection closed by the application',
      },
    ]);
    expect(logger.of('warren.connection.failed')).toEqual([]);
    expect(logger.of('warren.channel.error')).toEqual([]);
  });

  it('logs a connect that fails, at warn, and rejects as without a logger', async () => {
    const logger = new RecordingLogger();
    const error = await rejectionOf(connect(urlAs('guest', `wrong-${randomUUID()}`), { logger }));

    expect(error).toMatchObject({ code: 'ACCESS_REFUSED' });
    const [failed] = logger.of('warren.connection.connectFailed');
    expect(failed?.level).toBe('warn');
    expect(failed?.record.err).toMatchObject({ type: 'ConnectionError', code: 'ACCESS_REFUSED' });
    expect(logger.of('warren.connection.opened')).toEqual([]);
  });

  it('refuses a logger without its four methods, naming the one missing, before connecting', async () => {
    const { debug, info, error } = new RecordingLogger();
    await expect(connect(url, { logger: { debug, info, error } as never })).rejects.toThrow(
      new TypeError(
        'logger has no warn method: it needs debug, info, warn and error (pino, console, …)',
      ),
    );
    await expect(connect(url, { logger: 'console' as never })).rejects.toBeInstanceOf(TypeError);
    await expect(connect(url, { logger: null as never })).rejects.toThrow(
      /logger must be an object/,
    );
  });
});

describe('channels and messages', () => {
  it('logs a mandatory message returned to a channel without a return handler, instead of a warning', async () => {
    const logger = new RecordingLogger();
    const connection = await connectWith(logger);
    const channel = await connection.openChannel();
    const routingKey = uniqueName('nowhere');

    await channel
      .exchange('')
      .publish(new Message('lost', { messageId: 'm-1' }), routingKey, { mandatory: true });

    const [returned] = await logger.until('warren.channel.returned');
    expect(returned?.level).toBe('warn');
    expect(returned?.record).toEqual({
      event: 'warren.channel.returned',
      channel: channel.id,
      exchange: '',
      routingKey,
      replyCode: 312,
      replyText: 'NO_ROUTE',
      messageId: 'm-1',
    });
    expect(await warningCodes()).toEqual([]);
  });

  it('logs a channel the broker closes, with its reply', async () => {
    const logger = new RecordingLogger();
    const connection = await connectWith(logger);
    const channel = await connection.openChannel();

    await channelError(channel.declareQueue(uniqueName('missing'), { passive: true }));

    const [closed] = await logger.until('warren.channel.error');
    expect(closed?.level).toBe('warn');
    expect(closed?.record).toMatchObject({
      event: 'warren.channel.error',
      code: 'NOT_FOUND',
      replyCode: 404,
      method: 'queue.declare',
      reopening: false,
    });
    expect(closed?.record.replyText).toContain('NOT_FOUND');
    expect(logger.of('warren.channel.closed')).toEqual([]);
    expect(connection.isOpen).toBe(true);
  });
});

describe('consumers', () => {
  it('logs a handler failure at error with the message, the consumer and the stack, each time', async () => {
    const logger = new RecordingLogger();
    const connection = await connectWith(logger);
    const channel = await connection.openChannel();
    const queue = await channel.declareQueue('', { exclusive: true });
    const consumer = await queue.consume(() => {
      throw new Error('the handler broke');
    });
    await channel.exchange('').publish(new Message('work', { messageId: 'w-1' }), queue.name);

    // retry-once: requeued once, then rejected.
    const failures = await logger.until('warren.consumer.failed', 2);
    expect(failures.map((line) => line.level)).toEqual(['error', 'error']);
    expect(failures[0]?.record).toMatchObject({
      queue: queue.name,
      consumerTag: consumer.tag,
      redelivered: false,
      attempt: 1,
      exchange: '',
      routingKey: queue.name,
      messageId: 'w-1',
      err: { type: 'Error', message: 'the handler broke' },
    });
    expect(failures[0]?.record.deliveryTag).toBeGreaterThan(0);
    expect(failures[0]?.record.err.stack).toContain('logger.spec.ts');
    expect(failures[1]?.record.redelivered).toBe(true);
    expect(failures[0]?.message).toContain('the handler broke');
    expect(logger.of('warren.consumer.started')).toEqual([
      expect.objectContaining({
        level: 'debug',
        record: {
          event: 'warren.consumer.started',
          channel: channel.id,
          queue: queue.name,
          consumerTag: consumer.tag,
        },
      }),
    ]);
    await consumer.cancel();
    expect(logger.of('warren.consumer.cancelled').map((line) => line.level)).toEqual(['debug']);
    // Without an 'error' listener and without a logger, this would have been WARREN_CONSUMER_ERROR.
    expect(await warningCodes()).toEqual([]);
  });

  it('logs an invalid message at warn with its first issues, listener or not', async () => {
    const logger = new RecordingLogger();
    const connection = await connectWith(logger);
    const channel = await connection.openChannel();
    const Order = z.object({ id: z.number(), sku: z.string() });
    const queue = await channel.declareQueue(uniqueName('orders'), {
      exclusive: true,
      schema: Order,
    });
    const handled: unknown[] = [];
    const consumer = await queue.consume((message) => {
      handled.push(message.body);
      message.ack();
    });
    // The application's listener hears it, and the log has it all the same.
    const heard: string[] = [];
    consumer.on('invalid', (error) => heard.push(error.code));
    await channel.exchange('').publish({ id: 'seven' }, queue.name);

    const [invalid] = await logger.until('warren.consumer.invalid');
    expect(invalid?.level).toBe('warn');
    expect(invalid?.record).toMatchObject({
      queue: queue.name,
      redelivered: false,
      issueCount: 2,
      err: { type: 'MessageValidationError', code: 'MESSAGE_INVALID' },
    });
    expect(invalid?.record.issues.map((issue) => issue.path)).toEqual(['id', 'sku']);
    expect(handled).toEqual([]);
    expect(heard).toEqual(['MESSAGE_INVALID']);
    expect(await warningCodes()).toEqual([]);
  });
});

describe('the workers', () => {
  it("log through the connection's logger: a dead-letter exchange the worker does not know", async () => {
    const logger = new RecordingLogger();
    const connection = await connectWith(logger);
    const channel = await connection.openChannel();
    // Without an x-dead-letter-exchange argument that the handle knows.
    const queue = await channel.declareQueue(uniqueName('no-dlx'), { exclusive: true });
    await queue.consume(
      () => {
        throw new Error('fails');
      },
      { onFailure: deadLetter() },
    );
    await channel.exchange('').publish('doomed', queue.name);

    const [unknown] = await logger.until('warren.deadLetter.unknownExchange');
    expect(unknown?.level).toBe('warn');
    expect(unknown?.record).toEqual({
      event: 'warren.deadLetter.unknownExchange',
      queue: queue.name,
    });
    expect(unknown?.message).toContain('has no x-dead-letter-exchange argument');
    expect(await warningCodes()).toEqual([]);
  });
});

describe('a logger that throws', () => {
  it('breaks nothing: the connection works, and one process warning says so', async () => {
    const throwing: Logger = {
      debug: () => {
        throw new Error('debug is broken');
      },
      info: () => {
        throw new Error('info is broken');
      },
      warn: () => {
        throw new Error('warn is broken');
      },
      error: () => {
        throw new Error('error is broken');
      },
    };
    const connection = await connectWith(throwing);
    const channel = await connection.openChannel({ confirm: true });
    const queue = await channel.declareQueue('', { exclusive: true });
    await channel.exchange('').publish('still works', queue.name);
    await channel
      .exchange('')
      .publish('returned', uniqueName('nowhere'), { mandatory: true })
      .catch(() => {});
    const message = await waitFor(() => queue.get());
    message.ack();
    await channel.close();
    await connection.close();

    expect(message.text()).toBe('still works');
    expect(await warningCodes()).toEqual(['WARREN_LOGGER_THREW']);
    expect(warnings[0]?.message).toContain('info is broken');
    expect(connection.logger).toBeDefined();
    expect(() =>
      connection.logger?.error({ event: 'warren.connection.closed' }, 'x'),
    ).not.toThrow();
  });
});

describe('console as the logger', () => {
  it('prints each line with its record', async () => {
    const sink = new PassThrough();
    const chunks: string[] = [];
    sink.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
    const logger = new Console({ stdout: sink, stderr: sink });
    const connection = await connect(url, { logger });
    await connection.close();
    await new Promise((resolve) => setImmediate(resolve));

    const printed = chunks.join('');
    expect(printed).toContain("event: 'warren.connection.opened'");
    expect(printed).toContain('warren: connected to amqp://');
    expect(printed).toContain('warren: connection closed by the application');
  });
});

describe('recovery, and credentials', RABBITMQCTL_TESTS, () => {
  it('logs a connection the broker closes: lost, a reconnect attempt, recovered; no line holds the password', async () => {
    const user = uniqueName('logger-user');
    const password = `pw-${randomUUID()}`;
    await rabbitmqctl('add_user', user, password);
    onTestFinished(async () => {
      await rabbitmqctl('delete_user', user);
    });
    await rabbitmqctl('set_permissions', '-p', '/', user, '.*', '.*', '.*');
    const logger = new RecordingLogger();
    const name = uniqueName('logger-recovers');
    const withPassword = urlAs(user, password);
    const connection = await connectWith(
      logger,
      { connectionName: name, recovery: { initialDelay: 10, maxDelay: 100 } },
      withPassword,
    );
    const channel = await connection.openChannel();
    const queue = await channel.declareQueue('', { exclusive: true });
    // A handler failure whose error quotes the URL, password and all.
    await queue.consume(() => {
      throw new Error(`cannot reach ${withPassword}`);
    });
    await channel.exchange('').publish('work', queue.name);
    await logger.until('warren.consumer.failed');

    await rabbitmqctl('close_connection', await connectionPid(rabbitmqctl, name), 'logger test');

    const [lost] = await logger.until('warren.connection.lost');
    expect(lost?.level).toBe('warn');
    expect(lost?.record).toMatchObject({ code: 'CONNECTION_FORCED', replyCode: 320 });
    expect(lost?.record.replyText).toContain('logger test');
    const [recovered] = await logger.until('warren.connection.recovered');
    expect(recovered?.level).toBe('info');
    expect(recovered?.record.attempts).toBeGreaterThanOrEqual(1);
    const [attempt] = logger.of('warren.connection.reconnecting');
    expect(attempt?.level).toBe('info');
    expect(attempt?.record).toMatchObject({
      attempt: 1,
      cause: { code: 'CONNECTION_FORCED' },
    });
    expect(attempt?.record.delay).toBeGreaterThanOrEqual(0);
    await connection.close();
    // And a connect the broker refuses, with a wrong password in the URL.
    const wrong = `wrong-${randomUUID()}`;
    await rejectionOf(connect(urlAs(user, wrong), { logger }));

    const events = logger.lines.map((line) => line.record.event);
    expect(events).toContain('warren.connection.closed');
    expect(events).toContain('warren.connection.connectFailed');
    const failure = logger.of('warren.consumer.failed')[0];
    expect(failure?.record.err.message).toContain(`${user}:***@`);
    for (const line of logger.lines) {
      for (const text of [
        line.message,
        JSON.stringify(line.record),
        inspect(line.record, { depth: null }),
      ]) {
        expect(text).not.toContain(password);
        expect(text).not.toContain(wrong);
      }
    }
  });
});
