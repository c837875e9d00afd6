/**
 * Connection options: each one declared once, in {@link ConnectOptions} (its
 * type and documentation) and in its row of `OPTIONS` (its check, default,
 * limits and URL query parameter), and resolved with what a URL says
 * (url.ts) and the `hosts` list (host.ts) into what `connect` needs.
 *
 * Everything is checked here, before anything touches a socket, and no error
 * message ever contains the password.
 *
 * @packageDocumentation
 */
import { constants as bufferConstants } from 'node:buffer';
import type tls from 'node:tls';
import type { CredentialsProvider } from './connector.js';
import {
  DEFAULT_MAX_BUFFERED_DELIVERY_BYTES,
  DEFAULT_MAX_BUFFERED_PUBLISH_BYTES,
} from './engine/engine.js';
import type { SaslMechanism } from './engine/sasl.js';
import { checkHostname, formatHost, type HostAddress, MAX_PORT, parseHostPort } from './host.js';
import { checkLogger, type Logger } from './log.js';
import { DEFAULT_MAX_BODY_SIZE } from './protocol/assembler.js';
import { writeTable } from './protocol/field-table.js';
import type { FieldTable } from './protocol/field-types.js';
import { FRAME_MIN_SIZE } from './protocol/spec.js';
import { ByteWriter } from './protocol/writer.js';
import { type RecoveryOptions, type ResolvedRecovery, resolveRecovery } from './recovery.js';
import { parseUrl } from './url.js';

// The URL's own helper, kept importable from here where the tools have always found it.
export { redactUrl } from './url.js';

/**
 * How to reach and log in to RabbitMQ, and what to ask of the connection.
 * Pass it to `connect(options)`, or with a URL as `connect(url, options)`,
 * where every option given here overrides what the URL says.
 */
export interface ConnectOptions {
  /**
   * The broker's host name or IP address. Write an IPv6 address without
   * brackets (`'::1'`); brackets belong in URLs only.
   * @default 'localhost'
   */
  hostname?: string;
  /**
   * The broker's TCP port, from 1 to 65535.
   * @default 5672, or 5671 when TLS is on
   */
  port?: number;
  /**
   * The user name to log in with.
   * @default 'guest'
   */
  username?: string;
  /**
   * The password to log in with. It never appears in an error message or
   * in a connection's description.
   * @default 'guest'
   */
  password?: string;
  /**
   * The virtual host to open. In an options object it is written as is:
   * `'/'` is the default vhost, `'a/b'` the vhost named `a/b`.
   * @default '/'
   */
  vhost?: string;
  /**
   * TLS. `true` turns it on with Node's defaults, which verify the broker's
   * certificate against the trusted CAs and its host name; an object turns it
   * on with those `tls.connect` options (`ca`, `cert`, `key`, `servername`,
   * `rejectUnauthorized`, …).
   *
   * With an `amqps://` URL, TLS is on whatever this says, and an object here
   * supplies its options; `false` contradicts the URL and is a `TypeError`.
   * With an `amqp://` URL, `true` or an object is a `TypeError` (use
   * `amqps://`): warren never connects in plaintext when TLS was asked for.
   * @default on for an `amqps://` URL, off otherwise
   */
  tls?: boolean | tls.ConnectionOptions;
  /**
   * The heartbeat interval wanted, in seconds, from 0 to 65535; `0` turns
   * heartbeats off. The broker's wish and this one are negotiated: the smaller
   * non-zero value wins.
   * @default 60
   */
  heartbeat?: number;
  /**
   * The largest frame wanted, in bytes: `0` (no limit from our side, so the
   * broker's limit applies) or from 4096 to 2^32-1. Larger bodies are sent in
   * several frames.
   * @default 131072
   */
  frameMax?: number;
  /**
   * The most channels wanted on this connection, from 0 to 65535; `0` means as
   * many as the broker allows.
   * @default 0
   */
  channelMax?: number;
  /**
   * How long connecting may take, in milliseconds, from 1 to 2^31-1: the TCP
   * connection, the TLS handshake and the AMQP handshake together.
   * @default 10000
   */
  connectionTimeout?: number;
  /**
   * A name for this connection, sent as the `connection_name` client property:
   * the management UI and `rabbitmqctl list_connections` show it.
   * @default undefined (no name)
   */
  connectionName?: string;
  /**
   * The SASL mechanism to log in with: `'PLAIN'` or `'AMQPLAIN'` (user name and
   * password), or `'EXTERNAL'` (the identity of the TLS client certificate).
   * @default PLAIN or else AMQPLAIN, whichever the broker offers
   */
  mechanism?: SaslMechanism;
  /**
   * The largest message body accepted from the broker, in bytes, from 1 to the
   * largest `Buffer` this Node.js can hold. A delivery announcing a larger body
   * is a protocol error that closes the connection: it guards against running
   * out of memory.
   * @default 134217728 (128 MiB)
   */
  maxBodySize?: number;
  /**
   * How many bytes of deliveries may wait for a handler, on all the
   * connection's consumers together, from 1 to 2^53-1: each delivery counts
   * its body plus 512 bytes. Beyond it, warren stops reading the socket, so
   * that TCP holds the broker back, and reads again once they are down to
   * half of it. This bounds memory where prefetch does not: `noAck`
   * consumers, and consumers without `prefetch`. Meanwhile nothing else
   * arrives on the connection either (replies, confirms): a handler that
   * waits for the broker on the same connection must not let that much wait
   * (use `prefetch`, or another connection).
   * @default 67108864 (64 MiB)
   */
  maxBufferedDeliveryBytes?: number;
  /**
   * How many bytes may wait to be written to the socket, from 1 to 2^53-1:
   * publishes not yet sent, acks, everything. A publish that would go beyond
   * it rejects with an `AmqpError` of code `PUBLISH_BUFFER_FULL` and is not
   * sent (a publish into an empty buffer always goes, however large). An
   * awaited publish never meets it: it resolves once the socket takes more.
   * It stops a loop of unawaited publishes from filling memory.
   * @default 134217728 (128 MiB)
   */
  maxBufferedPublishBytes?: number;
  /**
   * Extra client properties, a plain object of field-table values, sent with
   * the ones warren announces (product, version, platform, capabilities).
   * @default {}
   */
  clientProperties?: FieldTable;
}

/** Options of {@link connect}: the connection's options, recovery, and a signal to abort connecting. */
export interface ConnectCallOptions extends ConnectOptions {
  /** Aborts connecting (the socket and the handshake). */
  signal?: AbortSignal;
  /**
   * More brokers to try, in turn, after the URL's (or `hostname`'s), each
   * written as the host and port of an AMQP URL: `'host'`, `'host:port'`,
   * `'192.0.2.1:5672'`, `'[::1]:5672'`, `'[fe80::1%25eth0]'`, percent-encoding
   * allowed. A part left out is the connection's own: `'host'` has its port,
   * `':5673'` its host. The first connect tries each once; recovery goes round
   * them.
   * @default []
   */
  hosts?: readonly string[];
  /** Automatic recovery after a lost connection; `false` turns it off. @default on, with {@link RecoveryOptions}' defaults */
  recovery?: RecoveryOptions | false;
  /**
   * Called before every connection attempt, the first and each reconnect,
   * for credentials that expire (OAuth 2 tokens): its `password` (and
   * `username`, when given) replace the configured ones.
   */
  credentials?: CredentialsProvider;
  /**
   * Where warren logs what happens to the connection, its channels and its
   * consumers: any object with `debug`, `info`, `warn` and `error` methods,
   * such as a pino logger or `console` (winston through a one-line adapter:
   * see {@link Logger}). Each line is `logger[level]({ event, ...fields }, message)`;
   * {@link LogFields} lists the events. With a logger, the process warnings
   * warren emits otherwise (an unhandled returned message, a listener that
   * threw, …) go to it instead, and every handler failure and invalid message
   * is logged. No line holds a password.
   * @default undefined (no logging; process warnings as before)
   */
  logger?: Logger;
}

/**
 * How one option is checked, what it is when nobody gives it, and the URL
 * query parameter that can set it.
 */
type OptionSpec<T> = {
  /** Checks a value given in an options object (never `undefined`) and returns it. */
  readonly check: (value: unknown, name: string) => T;
  /** The value when neither the options nor the URL give one; `undefined` for none. */
  readonly default: T | undefined;
} & (
  | { readonly query?: undefined }
  | {
      /** The name of the URL query parameter that sets the option. */
      readonly query: string;
      /** Reads the option from the parameter's decoded text. */
      readonly read: (text: string, parameter: string) => T;
    }
);

/** A spec for every option, with the option's type: an option missing here is a type error. */
type OptionSpecs = {
  readonly [K in keyof ConnectOptions]-?: OptionSpec<NonNullable<ConnectOptions[K]>>;
};

type OptionName = keyof ConnectOptions;

const MECHANISMS: readonly SaslMechanism[] = ['PLAIN', 'AMQPLAIN', 'EXTERNAL'];

/** A string option; in a URL query, its decoded text as is. */
const text = {
  check(value: unknown, name: string): string {
    if (typeof value === 'string') return value;
    throw new TypeError(`${name} must be a string, got ${typeName(value)}`);
  },
  read: (value: string): string => value,
};

/**
 * An integer option from `min` to `max`; `zero`, when given, says what 0
 * means outside that range. In a URL query, decimal digits.
 */
function integer(min: number, max: number, zero?: string) {
  const allowed = (value: number): boolean =>
    Number.isInteger(value) &&
    ((value === 0 && zero !== undefined) || (value >= min && value <= max));
  const range =
    zero === undefined
      ? `an integer from ${min} to ${max}`
      : `0 (${zero}) or an integer from ${min} to ${max}`;
  return {
    check(value: unknown, name: string): number {
      if (typeof value !== 'number') {
        throw new TypeError(`${name} must be a number, got ${typeName(value)}`);
      }
      if (!allowed(value)) throw new RangeError(`${name} must be ${range}, got ${value}`);
      return value;
    },
    read(value: string, parameter: string): number {
      const number = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
      if (!allowed(number)) {
        throw new RangeError(
          `query parameter ${parameter} must be ${range}, got ${JSON.stringify(value)}`,
        );
      }
      return number;
    },
  };
}

/** The SASL mechanism: its exact name in an options object, any case in a URL query. */
const mechanism = {
  check(value: unknown, name: string): SaslMechanism {
    if (typeof value !== 'string') {
      throw new TypeError(`${name} must be a string, got ${typeName(value)}`);
    }
    if (!isMechanism(value)) {
      throw new RangeError(
        `${name} must be one of ${MECHANISMS.join(', ')}, got ${JSON.stringify(value)}`,
      );
    }
    return value;
  },
  read(value: string, parameter: string): SaslMechanism {
    const name = value.toUpperCase();
    if (!isMechanism(name)) {
      throw new RangeError(
        `query parameter ${parameter} must be one of ${MECHANISMS.join(', ')} ` +
          `(in any case), got ${JSON.stringify(value)}`,
      );
    }
    return name;
  },
};

/**
 * Every option: how it is checked, its default, its limits and its URL
 * query parameter. The defaults here are the `@default`s of
 * {@link ConnectOptions}; keep the two in step.
 */
const OPTIONS = {
  hostname: {
    check(value: unknown, name: string): string {
      const hostname = text.check(value, name);
      checkHostname(hostname, name);
      return hostname;
    },
    default: 'localhost',
  },
  // With TLS on, the default port is 5671 instead: see resolveFrom.
  port: { check: integer(1, MAX_PORT).check, default: 5672 },
  username: { check: text.check, default: 'guest' },
  password: { check: text.check, default: 'guest' },
  vhost: { check: text.check, default: '/' },
  tls: {
    check(value: unknown, name: string): boolean | tls.ConnectionOptions {
      if (typeof value === 'boolean') return value;
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        return value as tls.ConnectionOptions;
      }
      throw new TypeError(
        `${name} must be true, false or an object of tls.connect options, got ${typeName(value)}`,
      );
    },
    default: false,
  },
  heartbeat: { ...integer(0, 0xffff), default: 60, query: 'heartbeat' },
  frameMax: {
    ...integer(FRAME_MIN_SIZE, 0xffff_ffff, 'no limit'),
    default: 131_072,
    query: 'frame_max',
  },
  channelMax: { ...integer(0, 0xffff), default: 0, query: 'channel_max' },
  // setTimeout fires at once (with a warning) for longer delays.
  connectionTimeout: {
    ...integer(1, 0x7fff_ffff),
    default: 10_000,
    query: 'connection_timeout',
  },
  connectionName: { ...text, default: undefined, query: 'connection_name' },
  mechanism: { ...mechanism, default: undefined, query: 'auth_mechanism' },
  maxBodySize: {
    check: integer(1, bufferConstants.MAX_LENGTH).check,
    default: DEFAULT_MAX_BODY_SIZE,
  },
  maxBufferedDeliveryBytes: {
    check: integer(1, Number.MAX_SAFE_INTEGER).check,
    default: DEFAULT_MAX_BUFFERED_DELIVERY_BYTES,
  },
  maxBufferedPublishBytes: {
    check: integer(1, Number.MAX_SAFE_INTEGER).check,
    default: DEFAULT_MAX_BUFFERED_PUBLISH_BYTES,
  },
  clientProperties: {
    check(value: unknown, name: string): FieldTable {
      if (!isPlainObject(value)) {
        throw new TypeError(`${name} must be a plain object, got ${typeName(value)}`);
      }
      // Encoding it once finds every value a field table cannot hold, naming its key path.
      writeTable(new ByteWriter(1024), value as FieldTable, name);
      return value as FieldTable;
    },
    default: {},
  },
} satisfies OptionSpecs;

const OPTION_NAMES = Object.keys(OPTIONS) as OptionName[];

/** The URL query parameters: the option each one sets, and how it reads the text. */
const QUERY_PARAMETERS = new Map<
  string,
  { readonly option: OptionName; readonly read: (text: string, parameter: string) => unknown }
>();
for (const option of OPTION_NAMES) {
  const spec: OptionSpec<unknown> = OPTIONS[option];
  if (spec.query !== undefined) QUERY_PARAMETERS.set(spec.query, { option, read: spec.read });
}

/** RabbitMQ's TLS query parameters, which warren takes through the `tls` option instead. */
const TLS_QUERY_PARAMETERS = new Set([
  'cacertfile',
  'certfile',
  'keyfile',
  'verify',
  'fail_if_no_peer_cert',
  'server_name_indication',
  'password',
  'depth',
]);

const DEFAULT_TLS_PORT = 5671;

/** The options without a default, which stay `undefined` when nobody gives them. */
type WithoutDefault = {
  [K in OptionName]-?: undefined extends (typeof OPTIONS)[K]['default'] ? K : never;
}[OptionName];

/**
 * The options of a connection with every default applied: what
 * {@link resolveOptions} returns. `tls` is the `tls.connect` options when TLS
 * is on (an empty object for Node's defaults) and `undefined` when off;
 * `clientProperties` is a shallow copy of the caller's.
 */
export type ResolvedOptions = {
  readonly [K in OptionName]-?: K extends 'tls'
    ? tls.ConnectionOptions | undefined
    : K extends WithoutDefault
      ? NonNullable<ConnectOptions[K]> | undefined
      : NonNullable<ConnectOptions[K]>;
};

/** @internal Everything {@link connect} needs, checked: what {@link resolveConnectOptions} returns. */
export interface ResolvedConnectOptions {
  /** The connection's options. */
  readonly options: ResolvedOptions;
  /** Where to connect, in turn: the options' own host and port first, then the `hosts` entries. */
  readonly hosts: readonly HostAddress[];
  /** The recovery options with defaults applied, or `null` when recovery is off. */
  readonly recovery: ResolvedRecovery | null;
  /** The credentials provider, if any. */
  readonly credentials: CredentialsProvider | undefined;
  /** The signal that aborts connecting, if any. */
  readonly signal: AbortSignal | undefined;
  /** Where to log, if anywhere. */
  readonly logger: Logger | undefined;
}

/**
 * Resolves the options of a connection: `resolveOptions(url?, options?)` or
 * `resolveOptions(options)`. The URL's parts come first, then every option
 * the options object gives overrides them, then defaults fill the rest.
 *
 * Properties of the options object that are not {@link ConnectOptions} are
 * ignored, so an object carrying more (such as an abort signal) can be passed
 * as is; a property whose value is `undefined` counts as not given.
 *
 * @param urlOrOptions an `amqp://` or `amqps://` URL (a string or a `URL`), or the options
 * @param options options that override the URL's
 * @returns the options with defaults applied; a frozen object
 * @throws TypeError for a malformed URL, an unknown query parameter, an option of the
 *   wrong type, or contradictory TLS settings; the message names the part or option
 * @throws RangeError for a number out of range or an unknown SASL mechanism
 */
export function resolveOptions(
  urlOrOptions?: string | URL | ConnectOptions,
  options?: ConnectOptions,
): ResolvedOptions {
  const { url, given } = splitArguments(urlOrOptions, options);
  return resolveFrom(url, given);
}

/**
 * @internal Resolves the arguments of {@link connect}: the connection's options as
 * {@link resolveOptions} does, then the `hosts` list, the recovery options,
 * the credentials provider and the signal, each checked.
 *
 * @throws TypeError / RangeError for anything malformed, before any socket is opened
 */
export function resolveConnectOptions(
  urlOrOptions?: string | URL | ConnectCallOptions,
  options?: ConnectCallOptions,
): ResolvedConnectOptions {
  const { url, given } = splitArguments(urlOrOptions, options);
  const resolved = resolveFrom(url, given);
  const { hosts, recovery, credentials, signal, logger } = given;
  const checkedRecovery = resolveRecovery(recovery as RecoveryOptions | false | undefined);
  const checkedHosts = resolveHosts(hosts, { hostname: resolved.hostname, port: resolved.port });
  if (credentials !== undefined && typeof credentials !== 'function') {
    throw new TypeError('credentials must be a function that returns { username?, password }');
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`signal must be an AbortSignal, got ${typeName(signal)}`);
  }
  return Object.freeze({
    options: resolved,
    hosts: checkedHosts,
    recovery: checkedRecovery,
    credentials: credentials as CredentialsProvider | undefined,
    signal,
    logger: checkLogger(logger),
  });
}

/**
 * A one-line description of where the options lead, without the password:
 * `amqp://guest@localhost:5672/%2F` (`amqps://` when TLS is on; the user name
 * and vhost are percent-encoded as in a URL; no user name with EXTERNAL,
 * where the client certificate names the user).
 */
export function describeEndpoint(options: ResolvedOptions): string {
  const scheme = options.tls === undefined ? 'amqp' : 'amqps';
  // With EXTERNAL the certificate says who logs in, not the user name.
  const user = options.mechanism === 'EXTERNAL' ? '' : `${encodeURIComponent(options.username)}@`;
  return `${scheme}://${user}${formatHost(options.hostname)}:${options.port}/${encodeURIComponent(options.vhost)}`;
}

/** Tells the URL from the options object, and checks that the options are an object. */
function splitArguments(
  urlOrOptions: unknown,
  options: unknown,
): { url: string | undefined; given: Record<string, unknown> } {
  let url: string | undefined;
  let given = options;
  if (typeof urlOrOptions === 'string') {
    url = urlOrOptions;
  } else if (isUrlLike(urlOrOptions)) {
    url = urlOrOptions.href;
  } else if (typeof urlOrOptions === 'object' && urlOrOptions !== null) {
    if (options !== undefined) {
      throw new TypeError(
        'options were given twice: pass connect(options), or connect(url, options) with a URL first',
      );
    }
    given = urlOrOptions;
  } else if (urlOrOptions !== undefined) {
    throw new TypeError(
      `the first argument must be an AMQP URL (a string or a URL) or an options object, got ${typeName(urlOrOptions)}`,
    );
  }
  if (given === undefined) return { url, given: {} };
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw new TypeError(`options must be an object, got ${typeName(given)}`);
  }
  return { url, given: given as Record<string, unknown> };
}

/** The URL's parts, then the options given, then the defaults; the URL is checked first. */
function resolveFrom(url: string | undefined, given: Record<string, unknown>): ResolvedOptions {
  const fromUrl = url === undefined ? undefined : optionsFromUrl(url);
  const o = checkOptions(given);

  let tlsOptions: tls.ConnectionOptions | undefined;
  if (fromUrl?.secure === true) {
    if (o.tls === false) {
      throw new TypeError(
        'tls: false contradicts the amqps:// URL; use an amqp:// URL for a plaintext connection',
      );
    }
    tlsOptions = typeof o.tls === 'object' ? { ...o.tls } : {};
  } else if (fromUrl !== undefined) {
    if (o.tls === true || typeof o.tls === 'object') {
      throw new TypeError(
        'the tls option asks for TLS but the URL is amqp:// (plaintext); use an amqps:// URL',
      );
    }
  } else if (o.tls === true) {
    tlsOptions = {};
  } else if (typeof o.tls === 'object') {
    tlsOptions = { ...o.tls };
  }

  const resolved: Record<string, unknown> = {};
  for (const name of OPTION_NAMES) {
    resolved[name] = o[name] ?? fromUrl?.options[name] ?? OPTIONS[name].default;
  }
  resolved.tls = tlsOptions;
  resolved.port =
    o.port ??
    fromUrl?.options.port ??
    (tlsOptions === undefined ? OPTIONS.port.default : DEFAULT_TLS_PORT);
  resolved.clientProperties = { ...o.clientProperties };
  // The loop set every option of the table, which has every option.
  return Object.freeze(resolved) as ResolvedOptions;
}

/** What a URL says, as options: its parts, and its query parameters read by their options. */
function optionsFromUrl(url: string): { secure: boolean; options: ConnectOptions } {
  const { secure, query, ...parts } = parseUrl(url);
  const options: Record<string, unknown> = { ...parts };
  for (const [parameter, value] of query) {
    const known = QUERY_PARAMETERS.get(parameter);
    if (known === undefined) {
      const hint = TLS_QUERY_PARAMETERS.has(parameter)
        ? ': pass TLS settings in the tls option'
        : `; warren knows ${[...QUERY_PARAMETERS.keys()].join(', ')}`;
      throw new TypeError(
        `unknown query parameter ${JSON.stringify(parameter)} in the AMQP URL${hint}`,
      );
    }
    options[known.option] = known.read(value, parameter);
  }
  return { secure, options: options as ConnectOptions };
}

/** Checks each option of `given` that is given, reading each property once. */
function checkOptions(given: Record<string, unknown>): ConnectOptions {
  const checked: Record<string, unknown> = {};
  for (const name of OPTION_NAMES) {
    const value = given[name];
    if (value !== undefined) checked[name] = OPTIONS[name].check(value, name);
  }
  return checked as ConnectOptions;
}

/**
 * The `hosts` option: `main` (the options' own address), then each entry,
 * whose missing host or port is `main`'s.
 */
function resolveHosts(entries: unknown, main: HostAddress): HostAddress[] {
  const hosts = [main];
  if (entries === undefined) return hosts;
  if (!Array.isArray(entries)) {
    throw new TypeError(
      `hosts must be an array of strings like 'host:5672', got ${typeName(entries)}`,
    );
  }
  for (let i = 0; i < entries.length; i++) {
    const entry: unknown = entries[i];
    const where = `hosts[${i}]`;
    if (typeof entry !== 'string') {
      throw new TypeError(`${where} must be a string like 'host:5672', got ${typeName(entry)}`);
    }
    const { hostname, port } = parseHostPort(entry, where);
    if (hostname === undefined && port === undefined) {
      throw new TypeError(`${where} names neither a host nor a port`);
    }
    hosts.push({ hostname: hostname ?? main.hostname, port: port ?? main.port });
  }
  return hosts;
}

function isMechanism(name: string): name is SaslMechanism {
  return (MECHANISMS as readonly string[]).includes(name);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A `URL`, also from another realm, or a legacy `url.parse` result: anything with an `href`. */
function isUrlLike(value: unknown): value is { readonly href: string } {
  if (value instanceof URL) return true;
  if (typeof value !== 'object' || value === null) return false;
  const { href, protocol } = value as { href?: unknown; protocol?: unknown };
  return typeof href === 'string' && typeof protocol === 'string';
}

/** The type of a value for an error message; never the value itself. */
function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
