/**
 * The `logger` option as a user of the package types it (`npm run test:types`):
 * console, pino-shaped and winston-shaped loggers fit; an object without the
 * four methods does not; a record narrows by its `event`.
 */
import { type Connection, connect, type Logger, type LogRecord } from 'warren';

declare const connection: Connection;

// console fits as it is.
const fromConsole: Logger = console;
void connect({ logger: console });

/** The shape of pino's level methods: an object and a message, or a message alone. */
interface PinoLogFn {
  <T extends object>(obj: T, msg?: string, ...args: unknown[]): void;
  (obj: unknown, msg?: string, ...args: unknown[]): void;
  (msg: string, ...args: unknown[]): void;
}
declare const pinoLike: Record<'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal', PinoLogFn>;
void connect('amqp://localhost', { logger: pinoLike });

/** The shape of winston's level methods, which return the logger. */
interface WinstonLogMethod {
  (message: string, ...meta: unknown[]): WinstonLike;
  (message: unknown): WinstonLike;
  (infoObject: object): WinstonLike;
}
interface WinstonLike {
  debug: WinstonLogMethod;
  info: WinstonLogMethod;
  warn: WinstonLogMethod;
  error: WinstonLogMethod;
}
declare const winstonLike: WinstonLike;
// The adapter docs/logging.md shows: message first, the record as metadata.
const forWinston: Logger = {
  debug: (record, message) => winstonLike.debug(message, record),
  info: (record, message) => winstonLike.info(message, record),
  warn: (record, message) => winstonLike.warn(message, record),
  error: (record, message) => winstonLike.error(message, record),
};
void connect({ logger: forWinston });

// @ts-expect-error an object without error (and warn) is not a logger
void connect({ logger: { debug() {}, info() {} } });

// A record narrows by its event name.
function fieldsOf(record: LogRecord): string | number | undefined {
  switch (record.event) {
    case 'warren.connection.reconnecting':
      return record.delay;
    case 'warren.consumer.failed':
      return `${record.queue} ${record.deliveryTag} ${record.attempt} ${record.err.message}`;
    case 'warren.channel.error':
      // @ts-expect-error a channel error has no delay
      return record.delay;
    default:
      return undefined;
  }
}

// What a connection hands code built on warren: the logger, or undefined.
const given: Logger | undefined = connection.logger;
void [fromConsole, fieldsOf, given];
