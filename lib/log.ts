/**
 * The `logger` option: what warren logs, at which level, with which fields,
 * and the one function every entity calls to log it ({@link Log.write}).
 *
 * Each line is one call `logger[level]({ event, ...fields }, message)`:
 * pino merges the object into its JSON line and takes the message as `msg`;
 * console prints both. Without a logger, the events that were process
 * warnings before the option existed are still process warnings, word for
 * word; the others cost a branch.
 *
 * No line holds a password: warren's own messages never quote one, URLs are
 * written without it, and every text of a line is scrubbed of the user info
 * of any `amqp://user:password@` URL it may quote (an application's error
 * message, say).
 *
 * @packageDocumentation
 */
import type { IncomingMessage } from './incoming-message.js';
import { describe, describeMessage } from './protocol/describe.js';
import { AmqpError } from './protocol/errors.js';

/**
 * What a `logger` given to `connect()` must have: the four level methods of
 * pino, console and most loggers. warren calls
 * `logger[level](record, message)`: `record` holds the event name
 * (`record.event`) and its fields, `message` is a line of text starting with
 * `warren:`. A logger that throws never breaks warren: the first throw is
 * reported as a process warning (`WARREN_LOGGER_THREW`), later ones are
 * ignored.
 *
 * winston reads an object first argument as the message itself: adapt it
 * with `(record, message) => winstonLogger.info(message, record)` per level
 * (see the Logger section of docs/observability.md).
 */
export interface Logger {
  /** Channels and consumers opening and closing. */
  debug(record: LogRecord, message: string): void;
  /** The connection opening, recovering, unblocking and closing as asked. */
  info(record: LogRecord, message: string): void;
  /** Losses, blocks, returned and invalid messages, channel errors. */
  warn(record: LogRecord, message: string): void;
  /** Handler failures, and the connection closing for good against the application's will. */
  error(record: LogRecord, message: string): void;
}

/** A level of {@link Logger}. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * An error as a log line carries it: plain data every logger renders
 * (an `Error` object turns into `{}` in JSON).
 */
export interface LoggedError {
  /** The error's class name (`ConnectionError`, `TypeError`, …), or the type of a thrown non-error. */
  readonly type: string;
  /** Its message, without credentials: at most 1024 characters (4096 for what the application threw). */
  readonly message: string;
  /** Its warren code (`CONNECTION_FORCED`, `NOT_FOUND`, …), for an `AmqpError`. */
  readonly code?: string;
  /** Its stack, with its cause, for an error of the application's (not warren's own). */
  readonly stack?: string;
}

/** The fields a consumer's lines share: which message, from where. */
export interface DeliveryFields {
  /** The queue consumed from. */
  readonly queue: string;
  /** The consumer's tag. */
  readonly consumerTag: string;
  /** The message's delivery tag on its channel. */
  readonly deliveryTag: number;
  /** Whether the broker had delivered it before. */
  readonly redelivered: boolean;
  /** Which attempt at handling it this is, from 1 (see `IncomingMessage.attempt`). */
  readonly attempt: number;
  /** The exchange it was published to (`''` for the default exchange). */
  readonly exchange: string;
  /** The routing key it was published with. */
  readonly routingKey: string;
  /** Its `messageId` property, when it has one. */
  readonly messageId: string | undefined;
}

/** One issue of an invalid message, as a log line carries it. */
export interface LoggedIssue {
  /** Where in the body, as `items.0.sku`; `(body)` for the body itself. */
  readonly path: string;
  /** What is wrong there. */
  readonly message: string;
}

/** The field of a line about a channel. */
export interface ChannelFields {
  /** The channel's number on its connection. */
  readonly channel: number;
}

/** The fields of a line about a consumer. */
export interface ConsumerFields extends ChannelFields {
  /** The queue it consumes from. */
  readonly queue: string;
  /** Its consumer tag. */
  readonly consumerTag: string;
}

/** The field of a line about a failure. */
export interface ErrorFields {
  /** What went wrong. */
  readonly err: LoggedError;
}

/** The fields of a line about something closed: warren's code, and the broker's reply if it sent one. */
export interface ReplyFields {
  /** The error's code: `CONNECTION_FORCED`, `NOT_FOUND`, `CONNECTION_LOST`, … */
  readonly code: string;
  /** The broker's reply code (320, 404, …), when the broker closed it. */
  readonly replyCode: number | undefined;
  /** The broker's reply text, when the broker closed it. */
  readonly replyText: string | undefined;
}

/**
 * Every event warren logs, by name, with the fields of its record (besides
 * `event`), and its level first in each description. Names and fields are
 * stable: fields may be added, never renamed.
 */
export interface LogFields {
  /** `info`: the connection is open. */
  'warren.connection.opened': {
    /** Where it is connected, as a URL without the password: `amqp://user@host:5672/%2F`. */
    readonly url: string;
    /** The broker's host name (one of `hosts`, when it has several). */
    readonly host: string;
    /** The broker's port. */
    readonly port: number;
    /** The virtual host. */
    readonly vhost: string;
    /** The `connectionName` option, if given. */
    readonly connectionName: string | undefined;
  };
  /**
   * `warn`: `connect()` could not connect to one of its hosts; it tries the
   * next, if any, else rejects.
   */
  'warren.connection.connectFailed': ErrorFields & {
    /** The host tried, as `host:port`. */
    readonly host: string;
  };
  /**
   * `warn`: the connection was lost (the network, a missed heartbeat, the
   * broker closing it), and recovery begins. A loss recovery does not
   * answer is `warren.connection.failed`.
   */
  'warren.connection.lost': ReplyFields & ErrorFields;
  /** `info`: recovery tries to connect again. */
  'warren.connection.reconnecting': {
    /** The attempt's number since the loss, from 1. */
    readonly attempt: number;
    /** Where it goes, as `host:port`. */
    readonly host: string;
    /** The pause before it, in ms. */
    readonly delay: number;
    /** Why: the loss, or the failure of the previous attempt. */
    readonly cause: LoggedError;
  };
  /** `info`: recovery is done: channels, topology and consumers are back. */
  'warren.connection.recovered': {
    /** How many attempts it took. */
    readonly attempts: number;
    /** Where it is connected now, as `host:port`. */
    readonly host: string;
    /** How long the connection was down, in ms. */
    readonly duration: number;
  };
  /** `warn`: recovery could not bring something back (deleted elsewhere, locked); it went on. */
  'warren.connection.recoveryFailure': ErrorFields & {
    /** What: `queue 'q'`, `consumer … on queue 'q'`, `channel 3`, … (as the `recoveryFailure` event). */
    readonly entity: string;
  };
  /** `info`: the application closed the connection. */
  'warren.connection.closed': Record<never, never>;
  /**
   * `error`: the connection closed for good, not by the application: the
   * broker refused or closed it with recovery off, or recovery gave up
   * (`code` `RECOVERY_FAILED`).
   */
  'warren.connection.failed': ReplyFields & ErrorFields;
  /** `warn`: the broker blocked the connection (a memory or disk alarm); publishes wait. */
  'warren.connection.blocked': {
    /** The broker's reason. */
    readonly reason: string;
  };
  /** `info`: the broker unblocked the connection. */
  'warren.connection.unblocked': Record<never, never>;
  /** `debug`: a channel opened. */
  'warren.channel.opened': ChannelFields;
  /** `debug`: the application closed a channel. */
  'warren.channel.closed': ChannelFields;
  /** `warn`: the broker closed a channel (a soft error such as NOT_FOUND). */
  'warren.channel.error': ChannelFields &
    ReplyFields & {
      /** The method that caused it, such as `queue.declare`. */
      readonly method: string | undefined;
      /** Whether the channel reopens (its `reopen` option). */
      readonly reopening: boolean;
    };
  /**
   * `warn`: the broker returned a mandatory message and the channel has no
   * return handler nor `return` listener; once per exchange and routing key.
   */
  'warren.channel.returned': ChannelFields & {
    /** The exchange it was published to. */
    readonly exchange: string;
    /** The routing key it was published with. */
    readonly routingKey: string;
    /** The broker's reply code: 312 (NO_ROUTE) or 313 (NO_CONSUMERS). */
    readonly replyCode: number;
    /** The broker's reply text. */
    readonly replyText: string;
    /** The message's `messageId`, if it has one. */
    readonly messageId: string | undefined;
  };
  /**
   * `warn`: a message over `maxBodySize` was refused (its body skipped), and
   * nothing listens for `refused`.
   */
  'warren.message.tooLarge': ErrorFields & {
    /** Who refused it: `consumer <tag>` or `channel <number>`. */
    readonly where: string;
    /** How it came: `basic.deliver`, `basic.get-ok` or `basic.return`. */
    readonly method: string;
    /** The exchange it was published to. */
    readonly exchange: string;
    /** The routing key it was published with. */
    readonly routingKey: string;
    /** Its body size, in bytes. */
    readonly bodySize: number;
    /** The limit: the connection's `maxBodySize`. */
    readonly maxBodySize: number;
    /** Its delivery tag; undefined for a returned message. */
    readonly deliveryTag: number | undefined;
    /** Whether warren rejected it without requeue (else it was dropped). */
    readonly rejected: boolean;
  };
  /** `debug`: a consumer started. */
  'warren.consumer.started': ConsumerFields;
  /** `debug`: the application cancelled a consumer. */
  'warren.consumer.cancelled': ConsumerFields;
  /** `warn`: a consumer stopped without `cancel()`: the broker cancelled it, or its channel closed. */
  'warren.consumer.stopped': ConsumerFields & ErrorFields;
  /**
   * `error`: a handler threw or rejected; the message went to the failure
   * policy. `err.stack` says where.
   */
  'warren.consumer.failed': DeliveryFields & ErrorFields;
  /** `warn`: a message did not match the queue's schema (or was not JSON); it was not retried. */
  'warren.consumer.invalid': DeliveryFields &
    ErrorFields & {
      /** The first 10 issues. */
      readonly issues: readonly LoggedIssue[];
      /** How many issues there are in all (none when the body was not JSON). */
      readonly issueCount: number;
    };
  /** `warn`: an `onFailure` handler threw or left the message unsettled; warren settled it. */
  'warren.consumer.failureHandlerFailed': {
    /** The queue consumed from. */
    readonly queue: string;
    /** The consumer's tag. */
    readonly consumerTag: string;
    /** The message's delivery tag. */
    readonly deliveryTag: number;
    /** What went wrong, and what warren did with the message instead. */
    readonly problem: string;
  };
  /** `warn`: a consumer could not settle a message on the handler's behalf. */
  'warren.consumer.settleFailed': ErrorFields & {
    /** The queue consumed from. */
    readonly queue: string;
    /** The consumer's tag. */
    readonly consumerTag: string;
    /** The message's delivery tag. */
    readonly deliveryTag: number;
  };
  /** `warn`: an application callback (an event listener, a return handler, …) threw. */
  'warren.callback.threw': ErrorFields & {
    /** Which: `a close listener`, `the return handler`, … */
    readonly callback: string;
  };
  /**
   * `warn`: the dead-letter worker met a queue whose dead-letter exchange it
   * does not know; once per queue.
   */
  'warren.deadLetter.unknownExchange': {
    /** The queue's name. */
    readonly queue: string;
  };
}

/** The name of an event warren logs: `warren.<what>.<happened>`. */
export type LogEvent = keyof LogFields;

/** What a {@link Logger} receives first: the event's name and its fields. */
export type LogRecord = {
  [E in LogEvent]: {
    /** The event's name: which fields the record has. */
    readonly event: E;
  } & LogFields[E];
}[LogEvent];

/** How one event is logged, and what it was before the option (a process warning), if anything. */
interface EventSpec<E extends LogEvent> {
  readonly level: LogLevel;
  readonly message: (fields: LogFields[E]) => string;
  /** Without a logger: a process warning with this code, and this text (else `message`'s). */
  readonly warning?: {
    readonly code: string;
    readonly text?: (fields: LogFields[E]) => string;
  };
}

/** The events the entities log through {@link Log.write}; the workers log theirs themselves. */
type EntityLogEvent = Exclude<LogEvent, 'warren.deadLetter.unknownExchange'>;

const reply = (f: { replyCode: number | undefined; replyText: string | undefined }): string =>
  f.replyCode === undefined ? '' : ` (${f.replyCode} ${f.replyText})`;

const EVENTS: { readonly [E in EntityLogEvent]: EventSpec<E> } = {
  'warren.connection.opened': {
    level: 'info',
    message: (f) =>
      `warren: connected to ${f.url}${f.connectionName === undefined ? '' : ` as '${f.connectionName}'`}`,
  },
  'warren.connection.connectFailed': {
    level: 'warn',
    message: (f) => `warren: could not connect to ${f.host}: ${f.err.message}`,
  },
  'warren.connection.lost': {
    level: 'warn',
    message: (f) => `warren: connection lost, recovering: ${f.err.message}`,
  },
  'warren.connection.reconnecting': {
    level: 'info',
    message: (f) =>
      `warren: reconnecting to ${f.host} in ${f.delay} ms (attempt ${f.attempt}) after: ${f.cause.message}`,
  },
  'warren.connection.recovered': {
    level: 'info',
    message: (f) =>
      `warren: connection recovered after ${f.attempts} attempt${f.attempts === 1 ? '' : 's'} in ${f.duration} ms`,
  },
  'warren.connection.recoveryFailure': {
    level: 'warn',
    message: (f) => `warren: recovery could not bring back ${f.entity}: ${f.err.message}`,
  },
  'warren.connection.closed': {
    level: 'info',
    message: () => 'warren: connection closed by the application',
  },
  'warren.connection.failed': {
    level: 'error',
    message: (f) => `warren: connection closed for good: ${f.err.message}`,
  },
  'warren.connection.blocked': {
    level: 'warn',
    message: (f) => `warren: the broker blocked the connection: ${f.reason}`,
  },
  'warren.connection.unblocked': {
    level: 'info',
    message: () => 'warren: the broker unblocked the connection',
  },
  'warren.channel.opened': { level: 'debug', message: (f) => `warren: channel ${f.channel} open` },
  'warren.channel.closed': {
    level: 'debug',
    message: (f) => `warren: channel ${f.channel} closed by the application`,
  },
  'warren.channel.error': {
    level: 'warn',
    message: (f) =>
      `warren: the broker closed channel ${f.channel}${reply(f)}${f.reopening ? '; reopening' : ''}`,
  },
  'warren.channel.returned': {
    level: 'warn',
    message: (f) =>
      `warren: the broker returned a mandatory message (exchange '${f.exchange}', routing key '${f.routingKey}': ${f.replyCode} ${f.replyText}) and channel ${f.channel} has no return handler; further returns for this exchange and routing key are not reported`,
    warning: { code: 'WARREN_UNHANDLED_RETURN' },
  },
  'warren.message.tooLarge': {
    level: 'warn',
    message: (f) =>
      `warren: ${f.where} refused a message of ${f.bodySize} bytes (over maxBodySize ${f.maxBodySize}) from exchange '${f.exchange}', routing key '${f.routingKey}'; it was ${f.rejected ? 'rejected without requeue' : 'dropped'}`,
    warning: {
      code: 'WARREN_MESSAGE_TOO_LARGE',
      text: (f) => `warren: ${f.where} has no 'refused' listener: ${f.err.message}`,
    },
  },
  'warren.consumer.started': {
    level: 'debug',
    message: (f) =>
      `warren: consumer ${f.consumerTag} started on queue '${f.queue}' (channel ${f.channel})`,
  },
  'warren.consumer.cancelled': {
    level: 'debug',
    message: (f) => `warren: consumer ${f.consumerTag} of queue '${f.queue}' cancelled`,
  },
  'warren.consumer.stopped': {
    level: 'warn',
    message: (f) =>
      `warren: consumer ${f.consumerTag} of queue '${f.queue}' stopped: ${f.err.message}`,
  },
  'warren.consumer.failed': {
    level: 'error',
    message: (f) =>
      `warren: the handler of consumer ${f.consumerTag} failed on message ${f.deliveryTag} of queue '${f.queue}' (attempt ${f.attempt}): ${f.err.message}`,
    warning: {
      code: 'WARREN_CONSUMER_ERROR',
      text: (f) =>
        `warren: the handler of consumer ${f.consumerTag} failed and the consumer has no 'error' listener: ${f.err.stack ?? f.err.message}`,
    },
  },
  'warren.consumer.invalid': {
    level: 'warn',
    message: (f) =>
      `warren: consumer ${f.consumerTag} rejected an invalid message (${f.deliveryTag}) of queue '${f.queue}': ${f.err.message}`,
    warning: {
      code: 'WARREN_INVALID_MESSAGE',
      text: (f) =>
        `warren: consumer ${f.consumerTag} rejected an invalid message and has no 'invalid' listener: ${f.err.message}`,
    },
  },
  'warren.consumer.failureHandlerFailed': {
    level: 'warn',
    message: (f) => `warren: the onFailure handler of consumer ${f.consumerTag} ${f.problem}`,
    warning: { code: 'WARREN_FAILURE_HANDLER_FAILED' },
  },
  'warren.consumer.settleFailed': {
    level: 'warn',
    message: (f) =>
      `warren: consumer ${f.consumerTag} could not settle message ${f.deliveryTag}: ${f.err.message}`,
    warning: {
      code: 'WARREN_SETTLE_FAILED',
      text: (f) =>
        `warren: consumer ${f.consumerTag} could not settle message ${f.deliveryTag}: ${f.err.stack ?? f.err.message}`,
    },
  },
  'warren.callback.threw': {
    level: 'warn',
    message: (f) => `warren: ${f.callback} threw: ${f.err.message}`,
    // The warning has no fields to carry the stack: its text does.
    warning: {
      code: 'WARREN_CALLBACK_THREW',
      text: (f) => `warren: ${f.callback} threw: ${f.err.stack ?? f.err.message}`,
    },
  },
};

/** The most characters of an error message a line holds. */
const MESSAGE_LIMIT = 1024;
/** The most issues of an invalid message a line lists. */
const ISSUES_LIMIT = 10;

/**
 * @internal Where an entity logs: the connection's logger, or (without one)
 * the process warnings warren has always emitted. One per connection.
 */
export class Log {
  readonly #logger: Logger | undefined;
  #threw = false;
  /** The logger as code built on warren may call it: its calls never throw. */
  readonly guarded: Logger | undefined;

  constructor(logger: Logger | undefined) {
    this.#logger = logger;
    this.guarded =
      logger === undefined
        ? undefined
        : {
            debug: (record, message) => this.#call('debug', record, message),
            info: (record, message) => this.#call('info', record, message),
            warn: (record, message) => this.#call('warn', record, message),
            error: (record, message) => this.#call('error', record, message),
          };
  }

  /** Whether a logger was given: an event then always goes to it. */
  get enabled(): boolean {
    return this.#logger !== undefined;
  }

  /**
   * Logs `event`. Without a logger, an event that used to be a process
   * warning still is one (unless `warnWithoutLogger` is false: the
   * application listens for it), and any other is dropped. `fields` may be
   * a function, for fields that cost something to make (an error's stack):
   * it is called only when the line is written.
   */
  write<E extends EntityLogEvent>(
    event: E,
    fields: LogFields[E] | (() => LogFields[E]),
    warnWithoutLogger = true,
  ): void {
    const spec = EVENTS[event] as EventSpec<E>;
    const warning = this.#logger === undefined ? spec.warning : undefined;
    if (this.#logger === undefined && (warning === undefined || !warnWithoutLogger)) return;
    const made = typeof fields === 'function' ? fields() : fields;
    if (warning !== undefined) {
      const text = (warning.text ?? spec.message)(made);
      process.emitWarning(scrubCredentials(text), { code: warning.code });
      return;
    }
    const record = { event, ...made } as LogRecord;
    this.#call(spec.level, record, scrubCredentials(spec.message(made)));
  }

  #call(level: LogLevel, record: LogRecord, message: string): void {
    try {
      (this.#logger as Logger)[level](record, message);
    } catch (error) {
      if (this.#threw) return;
      this.#threw = true;
      process.emitWarning(
        `warren: the logger threw (${describeMessage(error, 200)}); later throws are ignored. The line was: ${message}`,
        { code: 'WARREN_LOGGER_THREW' },
      );
    }
  }
}

/** @internal A log without a logger: process warnings only, for code that has no connection at hand. */
export const WARNINGS_ONLY = new Log(undefined);

/**
 * @internal `error` as plain data for a log line; never throws, whatever `error` is. `thrown`:
 * the application threw it (a handler, a listener), so its stack says where to look.
 */
export function loggedError(error: unknown, thrown = false): LoggedError {
  // A thrown value in full, as the process warnings have always shown it.
  const message = scrubCredentials(describeMessage(error, thrown ? undefined : MESSAGE_LIMIT));
  let isError: boolean;
  try {
    isError = error instanceof Error;
  } catch {
    // A Proxy whose traps throw.
    isError = false;
  }
  if (!isError) return { type: error === null ? 'null' : typeof error, message };
  const code = error instanceof AmqpError ? { code: error.code } : {};
  const stack = thrown ? { stack: scrubCredentials(describe(error)) } : {};
  return { type: nameOf(error as Error), message, ...code, ...stack };
}

/** @internal Which message a consumer's line is about. */
export function deliveryFields(
  queue: string,
  consumerTag: string,
  message: IncomingMessage<unknown>,
): DeliveryFields {
  return {
    queue,
    consumerTag,
    deliveryTag: message.deliveryTag,
    redelivered: message.redelivered,
    attempt: message.attempt,
    exchange: message.exchange,
    routingKey: message.routingKey,
    messageId: message.properties.messageId,
  };
}

/** @internal The first issues of an invalid message, as text. */
export function loggedIssues(
  issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[],
): LoggedIssue[] {
  return issues.slice(0, ISSUES_LIMIT).map((issue) => ({
    path: issue.path.length === 0 ? '(body)' : issue.path.map(String).join('.'),
    message: issue.message.slice(0, 200),
  }));
}

/** An error's class name, for a hostile value too. */
function nameOf(error: Error): string {
  try {
    const name: unknown = error.name;
    return typeof name === 'string' ? name.slice(0, 100) : 'Error';
  } catch {
    return 'Error';
  }
}

/** `amqp://user:password@host` written `amqp://user:***@host`, wherever it is in `text`. */
export function scrubCredentials(text: string): string {
  return text.replace(/(amqps?:\/\/[^\s:/@]*):[^\s/@]*@/gi, '$1:***@');
}

/**
 * @internal Checks the `logger` option: an object with the four level methods.
 * @throws TypeError naming the first method missing
 */
export function checkLogger(value: unknown): Logger | undefined {
  if (value === undefined) return undefined;
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) {
    throw new TypeError(
      `logger must be an object with debug, info, warn and error methods (pino, console, …), got ${value === null ? 'null' : typeof value}`,
    );
  }
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    if (typeof (value as Record<string, unknown>)[level] !== 'function') {
      throw new TypeError(
        `logger has no ${level} method: it needs debug, info, warn and error (pino, console, …)`,
      );
    }
  }
  return value as Logger;
}
