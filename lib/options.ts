/**
 * Connection options, and the AMQP URL that can carry most of them:
 * `amqp://user:password@host:port/vhost?heartbeat=30&connection_name=worker`.
 *
 * URLs follow RabbitMQ's AMQP URI specification
 * (https://www.rabbitmq.com/docs/uri-spec) and its query parameters
 * (https://www.rabbitmq.com/docs/uri-query-parameters), with one deliberate
 * difference: a URL without a path, or with the path `/` alone, means the
 * default vhost `/` (the specification reads `/` as the empty vhost name).
 * The vhost `/` can also be written `/%2F`.
 *
 * Everything is checked here, before anything touches a socket, and no error
 * message ever contains the password.
 *
 * @packageDocumentation
 */
import { constants as bufferConstants } from 'node:buffer';
import { isIPv6 } from 'node:net';
import type tls from 'node:tls';
import type { SaslMechanism } from './engine/sasl.js';
import { DEFAULT_MAX_BODY_SIZE } from './protocol/assembler.js';
import { writeTable } from './protocol/field-table.js';
import type { FieldTable } from './protocol/field-types.js';
import { FRAME_MIN_SIZE } from './protocol/spec.js';
import { ByteWriter } from './protocol/writer.js';

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
   * in {@link describeEndpoint}.
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
   * Extra client properties, a plain object of field-table values, sent with
   * the ones warren announces (product, version, platform, capabilities).
   * @default {}
   */
  clientProperties?: FieldTable;
}

/** The options of a connection with every default applied: what {@link resolveOptions} returns. */
export interface ResolvedOptions {
  /** The broker's host name or IP address (an IPv6 address without brackets). */
  readonly hostname: string;
  /** The broker's TCP port. */
  readonly port: number;
  /** The user name to log in with. */
  readonly username: string;
  /** The password to log in with. */
  readonly password: string;
  /** The virtual host to open. */
  readonly vhost: string;
  /** The `tls.connect` options when TLS is on (an empty object for Node's defaults); `undefined` when off. */
  readonly tls: tls.ConnectionOptions | undefined;
  /** The heartbeat interval wanted, in seconds; 0 for none. */
  readonly heartbeat: number;
  /** The largest frame wanted, in bytes; 0 for no limit from our side. */
  readonly frameMax: number;
  /** The most channels wanted; 0 for as many as the broker allows. */
  readonly channelMax: number;
  /** How long connecting may take, in milliseconds. */
  readonly connectionTimeout: number;
  /** The connection's name, or `undefined` for none. */
  readonly connectionName: string | undefined;
  /** The SASL mechanism, or `undefined` to pick PLAIN or AMQPLAIN from the broker's offer. */
  readonly mechanism: SaslMechanism | undefined;
  /** The largest message body accepted, in bytes. */
  readonly maxBodySize: number;
  /** Extra client properties (a shallow copy of the caller's). */
  readonly clientProperties: FieldTable;
}

const DEFAULT_HOSTNAME = 'localhost';
const DEFAULT_PORT = 5672;
const DEFAULT_TLS_PORT = 5671;
const DEFAULT_USERNAME = 'guest';
const DEFAULT_PASSWORD = 'guest';
const DEFAULT_VHOST = '/';
const DEFAULT_HEARTBEAT = 60;
const DEFAULT_FRAME_MAX = 131_072;
const DEFAULT_CHANNEL_MAX = 0;
const DEFAULT_CONNECTION_TIMEOUT = 10_000;

const MECHANISMS: readonly SaslMechanism[] = ['PLAIN', 'AMQPLAIN', 'EXTERNAL'];

const EXAMPLE_URL = 'amqp://user:password@host:5672/vhost';

/** Appended to messages about URLs whose user name or password may hold an unescaped delimiter. */
const ENCODING_HINT =
  'a user name, password or vhost containing any of / ? # @ : [ ] % must be percent-encoded ' +
  '(encodeURIComponent)';

/** The range of a numeric option. `zero`, when set, says what 0 means outside the range. */
interface Limit {
  readonly min: number;
  readonly max: number;
  readonly zero?: string;
}

const LIMITS = {
  port: { min: 1, max: 0xffff },
  heartbeat: { min: 0, max: 0xffff },
  frameMax: { min: FRAME_MIN_SIZE, max: 0xffff_ffff, zero: 'no limit' },
  channelMax: { min: 0, max: 0xffff },
  // setTimeout fires at once (with a warning) for longer delays.
  connectionTimeout: { min: 1, max: 0x7fff_ffff },
  maxBodySize: { min: 1, max: bufferConstants.MAX_LENGTH },
} as const satisfies Record<string, Limit>;

function inRange(value: number, limit: Limit): boolean {
  if (!Number.isInteger(value)) return false;
  if (value === 0 && limit.zero !== undefined) return true;
  return value >= limit.min && value <= limit.max;
}

function rangeText(limit: Limit): string {
  const range = `an integer from ${limit.min} to ${limit.max}`;
  return limit.zero === undefined ? range : `0 (${limit.zero}) or ${range}`;
}

/** The query parameters an AMQP URL may carry, and the option each one sets. */
const QUERY_PARAMETERS = {
  heartbeat: 'heartbeat',
  frame_max: 'frameMax',
  channel_max: 'channelMax',
  connection_timeout: 'connectionTimeout',
  auth_mechanism: 'mechanism',
  connection_name: 'connectionName',
} as const;

type QueryParameter = keyof typeof QUERY_PARAMETERS;

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

function isQueryParameter(name: string): name is QueryParameter {
  return Object.hasOwn(QUERY_PARAMETERS, name);
}

/** What a URL says; a field is absent when the URL leaves it to the options or the defaults. */
interface UrlParts {
  tls: boolean;
  hostname?: string;
  port?: number;
  username?: string;
  password?: string;
  vhost?: string;
  heartbeat?: number;
  frameMax?: number;
  channelMax?: number;
  connectionTimeout?: number;
  mechanism?: SaslMechanism;
  connectionName?: string;
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
  let url: string | undefined;
  let given: unknown = options;
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
  if (
    given !== undefined &&
    (typeof given !== 'object' || given === null || Array.isArray(given))
  ) {
    throw new TypeError(`options must be an object, got ${typeName(given)}`);
  }

  const fromUrl = url === undefined ? undefined : parseUrl(url);
  const o = checkOptions((given ?? {}) as Record<string, unknown>);

  let tlsOptions: tls.ConnectionOptions | undefined;
  if (fromUrl?.tls === true) {
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

  return Object.freeze({
    hostname: o.hostname ?? fromUrl?.hostname ?? DEFAULT_HOSTNAME,
    port: o.port ?? fromUrl?.port ?? (tlsOptions === undefined ? DEFAULT_PORT : DEFAULT_TLS_PORT),
    username: o.username ?? fromUrl?.username ?? DEFAULT_USERNAME,
    password: o.password ?? fromUrl?.password ?? DEFAULT_PASSWORD,
    vhost: o.vhost ?? fromUrl?.vhost ?? DEFAULT_VHOST,
    tls: tlsOptions,
    heartbeat: o.heartbeat ?? fromUrl?.heartbeat ?? DEFAULT_HEARTBEAT,
    frameMax: o.frameMax ?? fromUrl?.frameMax ?? DEFAULT_FRAME_MAX,
    channelMax: o.channelMax ?? fromUrl?.channelMax ?? DEFAULT_CHANNEL_MAX,
    connectionTimeout:
      o.connectionTimeout ?? fromUrl?.connectionTimeout ?? DEFAULT_CONNECTION_TIMEOUT,
    connectionName: o.connectionName ?? fromUrl?.connectionName,
    mechanism: o.mechanism ?? fromUrl?.mechanism,
    maxBodySize: o.maxBodySize ?? DEFAULT_MAX_BODY_SIZE,
    clientProperties: { ...o.clientProperties },
  });
}

/**
 * The URL with its password replaced by `***`, for messages and logs:
 * `amqp://user:***@host/vhost`. A URL without a password comes back unchanged.
 *
 * It works on any string, also one that is not a valid URL: everything from
 * the first `:` after `//` up to the last `@` is hidden. For a URL that
 * {@link resolveOptions} accepts, that is exactly the password; in a
 * malformed one (a password with an unescaped `/`, `?`, `#` or `@`), it may
 * hide more than the password, never less.
 */
export function redactUrl(url: string): string {
  const slashes = url.indexOf('://');
  const begin = slashes < 0 ? 0 : slashes + 3;
  // A URL that resolveOptions accepts has at most one '@', the one ending the
  // user info; in any other string, the last '@' is the safe guess.
  const at = url.lastIndexOf('@');
  if (at < begin) return url;
  const colon = url.indexOf(':', begin);
  if (colon < 0 || colon > at) return url;
  return `${url.slice(0, colon + 1)}***${url.slice(at)}`;
}

/**
 * A one-line description of where the options lead, without the password:
 * `amqp://guest@localhost:5672/%2F` (`amqps://` when TLS is on; the user name
 * and vhost are percent-encoded as in a URL; no user name with EXTERNAL,
 * where the client certificate names the user).
 */
export function describeEndpoint(options: ResolvedOptions): string {
  const scheme = options.tls === undefined ? 'amqp' : 'amqps';
  const host = options.hostname.includes(':')
    ? `[${options.hostname.replaceAll('%', '%25')}]`
    : encodeURIComponent(options.hostname);
  // With EXTERNAL the certificate says who logs in, not the user name.
  const user = options.mechanism === 'EXTERNAL' ? '' : `${encodeURIComponent(options.username)}@`;
  return `${scheme}://${user}${host}:${options.port}/${encodeURIComponent(options.vhost)}`;
}

/** The options the caller gave, checked; absent ones are `undefined`. */
interface GivenOptions {
  hostname: string | undefined;
  port: number | undefined;
  username: string | undefined;
  password: string | undefined;
  vhost: string | undefined;
  tls: boolean | tls.ConnectionOptions | undefined;
  heartbeat: number | undefined;
  frameMax: number | undefined;
  channelMax: number | undefined;
  connectionTimeout: number | undefined;
  connectionName: string | undefined;
  mechanism: SaslMechanism | undefined;
  maxBodySize: number | undefined;
  clientProperties: FieldTable | undefined;
}

/** Checks each option of `o` that is given. Reads each property once. */
function checkOptions(o: Record<string, unknown>): GivenOptions {
  const {
    hostname,
    port,
    username,
    password,
    vhost,
    tls: tlsOption,
    heartbeat,
    frameMax,
    channelMax,
    connectionTimeout,
    connectionName,
    mechanism,
    maxBodySize,
    clientProperties,
  } = o;
  const checked: GivenOptions = {
    hostname: optionalString('hostname', hostname),
    port: optionalInteger('port', port, LIMITS.port),
    username: optionalString('username', username),
    password: optionalString('password', password),
    vhost: optionalString('vhost', vhost),
    tls: undefined,
    heartbeat: optionalInteger('heartbeat', heartbeat, LIMITS.heartbeat),
    frameMax: optionalInteger('frameMax', frameMax, LIMITS.frameMax),
    channelMax: optionalInteger('channelMax', channelMax, LIMITS.channelMax),
    connectionTimeout: optionalInteger(
      'connectionTimeout',
      connectionTimeout,
      LIMITS.connectionTimeout,
    ),
    connectionName: optionalString('connectionName', connectionName),
    mechanism: undefined,
    maxBodySize: optionalInteger('maxBodySize', maxBodySize, LIMITS.maxBodySize),
    clientProperties: undefined,
  };
  if (checked.hostname !== undefined) {
    if (checked.hostname === '') throw new TypeError('hostname must not be empty');
    if (checked.hostname.startsWith('[')) {
      throw new TypeError(
        'hostname takes an IPv6 address without brackets (brackets belong in URLs only)',
      );
    }
  }
  if (tlsOption !== undefined) {
    if (typeof tlsOption === 'boolean') {
      checked.tls = tlsOption;
    } else if (typeof tlsOption === 'object' && tlsOption !== null && !Array.isArray(tlsOption)) {
      checked.tls = tlsOption as tls.ConnectionOptions;
    } else {
      throw new TypeError(
        `tls must be true, false or an object of tls.connect options, got ${typeName(tlsOption)}`,
      );
    }
  }
  if (mechanism !== undefined) {
    if (typeof mechanism !== 'string') {
      throw new TypeError(`mechanism must be a string, got ${typeName(mechanism)}`);
    }
    if (!isMechanism(mechanism)) {
      throw new RangeError(
        `mechanism must be one of ${MECHANISMS.join(', ')}, got ${JSON.stringify(mechanism)}`,
      );
    }
    checked.mechanism = mechanism;
  }
  if (clientProperties !== undefined) {
    if (!isPlainObject(clientProperties)) {
      throw new TypeError(
        `clientProperties must be a plain object, got ${typeName(clientProperties)}`,
      );
    }
    // Encoding it once finds every value a field table cannot hold, naming its key path.
    writeTable(new ByteWriter(1024), clientProperties as FieldTable, 'clientProperties');
    checked.clientProperties = clientProperties as FieldTable;
  }
  return checked;
}

function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  throw new TypeError(`${name} must be a string, got ${typeName(value)}`);
}

function optionalInteger(name: string, value: unknown, limit: Limit): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') {
    throw new TypeError(`${name} must be a number, got ${typeName(value)}`);
  }
  if (!inRange(value, limit)) {
    throw new RangeError(`${name} must be ${rangeText(limit)}, got ${value}`);
  }
  return value;
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

/** The first index of any character of `chars` in `text`, or `text.length`. */
function indexOfAny(text: string, chars: string): number {
  for (let i = 0; i < text.length; i++) {
    if (chars.includes(text[i] as string)) return i;
  }
  return text.length;
}

/**
 * Parses an AMQP URL. Error messages name the part at fault and never quote
 * the user info.
 */
function parseUrl(input: string): UrlParts {
  const text = input.trim();
  if (text === '') throw new TypeError(`the AMQP URL is empty; expected a URL like ${EXAMPLE_URL}`);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) {
      throw new TypeError(
        'the AMQP URL contains a space or a control character; percent-encode it (encodeURIComponent)',
      );
    }
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    throw new TypeError(`an AMQP URL must start with amqp:// or amqps://, as in ${EXAMPLE_URL}`);
  }
  if (scheme !== 'amqp' && scheme !== 'amqps') {
    throw new TypeError(
      `unsupported URL scheme "${scheme}:": use amqp: or amqps:, as in ${EXAMPLE_URL}`,
    );
  }
  const afterScheme = text.slice(scheme.length + 1);
  if (!afterScheme.startsWith('//')) {
    throw new TypeError(`an AMQP URL has "//" after "${scheme}:", as in ${EXAMPLE_URL}`);
  }
  const rest = afterScheme.slice(2);
  const authorityEnd = indexOfAny(rest, '/?#');
  const authority = rest.slice(0, authorityEnd);
  const tail = rest.slice(authorityEnd);
  // An '@' after the host most likely ends user info that a '/', '?' or '#'
  // in the password cut short, leaving pieces of the password in the port,
  // path or query. Refusing it before anything else is looked at keeps those
  // pieces out of every message below, and out of a vhost name.
  if (tail.includes('@')) {
    throw new TypeError(
      `the AMQP URL has an "@" after the host; ${ENCODING_HINT}, and "@" in a vhost or ` +
        'query value as %40',
    );
  }

  const parts: UrlParts = { tls: scheme === 'amqps' };

  // Authority: [username[:password]@]host[:port]
  const at = authority.indexOf('@');
  if (at !== authority.lastIndexOf('@')) {
    throw new TypeError(`the AMQP URL has more than one "@" before the host: ${ENCODING_HINT}`);
  }
  let hostPort = authority;
  if (at >= 0) {
    const userInfo = authority.slice(0, at);
    hostPort = authority.slice(at + 1);
    const colon = userInfo.indexOf(':');
    parts.username = decode(colon < 0 ? userInfo : userInfo.slice(0, colon), 'the user name');
    if (colon >= 0) parts.password = decode(userInfo.slice(colon + 1), 'the password');
  }

  let portText: string | undefined;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close < 0) throw new TypeError('the IPv6 address in the AMQP URL lacks its closing "]"');
    const after = hostPort.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) {
      throw new TypeError('in an AMQP URL, only ":" and a port may follow an IPv6 address in "[]"');
    }
    portText = after === '' ? undefined : after.slice(1);
    const address = decode(hostPort.slice(1, close), 'the IPv6 address');
    if (!isIPv6(address)) {
      throw new TypeError(
        `${JSON.stringify(address)} in "[]" in the AMQP URL is not an IPv6 address`,
      );
    }
    parts.hostname = address;
  } else {
    const colon = hostPort.indexOf(':');
    if (colon >= 0 && hostPort.includes(':', colon + 1)) {
      throw new TypeError(
        'the host part of the AMQP URL has more than one ":": put an IPv6 address in "[]", ' +
          'as in amqp://[::1]:5672/',
      );
    }
    portText = colon < 0 ? undefined : hostPort.slice(colon + 1);
    const hostname = decode(colon < 0 ? hostPort : hostPort.slice(0, colon), 'the host');
    if (hostname !== '') parts.hostname = hostname;
  }
  if (portText !== undefined && portText !== '') {
    if (!/^[0-9]+$/.test(portText)) {
      throw new TypeError('the port in the AMQP URL is not a number');
    }
    const port = Number(portText);
    if (!inRange(port, LIMITS.port)) {
      throw new RangeError(
        `the port in the AMQP URL must be from 1 to 65535, got ${JSON.stringify(portText)}`,
      );
    }
    parts.port = port;
  }

  const hash = tail.indexOf('#');
  if (hash >= 0) {
    throw new TypeError(`an AMQP URL has no fragment ("#…"); ${ENCODING_HINT}`);
  }
  const question = tail.indexOf('?');
  const path = question < 0 ? tail : tail.slice(0, question);

  // Path: absent, "/" or "/vhost". Unlike the URI spec, "/" means the default vhost.
  if (path !== '' && path !== '/') {
    const segment = path.slice(1);
    if (segment.includes('/')) {
      throw new TypeError(
        'the vhost in an AMQP URL is a single path segment: write a "/" in a vhost name as %2F, ' +
          'as in amqp://host/a%2Fb',
      );
    }
    parts.vhost = decode(segment, 'the vhost');
  }

  if (question >= 0) parseQuery(tail.slice(question + 1), parts);
  return parts;
}

/** Parses `name=value&…` into `parts`; `+` is a space, as in HTML forms and `URLSearchParams`. */
function parseQuery(query: string, parts: UrlParts): void {
  const seen = new Set<string>();
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decode(
      (eq < 0 ? pair : pair.slice(0, eq)).replaceAll('+', ' '),
      'a query parameter name',
    );
    if (!isQueryParameter(name)) {
      const known = Object.keys(QUERY_PARAMETERS).join(', ');
      const hint = TLS_QUERY_PARAMETERS.has(name)
        ? ': pass TLS settings in the tls option'
        : `; warren knows ${known}`;
      throw new TypeError(`unknown query parameter ${JSON.stringify(name)} in the AMQP URL${hint}`);
    }
    if (seen.has(name)) {
      throw new TypeError(`query parameter ${name} appears more than once in the AMQP URL`);
    }
    seen.add(name);
    const value = decode(
      (eq < 0 ? '' : pair.slice(eq + 1)).replaceAll('+', ' '),
      `the value of query parameter ${name}`,
    );
    if (name === 'connection_name') {
      parts.connectionName = value;
    } else if (name === 'auth_mechanism') {
      const mechanism = value.toUpperCase();
      if (!isMechanism(mechanism)) {
        throw new RangeError(
          `query parameter auth_mechanism must be one of ${MECHANISMS.join(', ')} ` +
            `(in any case), got ${JSON.stringify(value)}`,
        );
      }
      parts.mechanism = mechanism;
    } else {
      const option = QUERY_PARAMETERS[name];
      const limit: Limit = LIMITS[option];
      const number = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
      if (!inRange(number, limit)) {
        throw new RangeError(
          `query parameter ${name} must be ${rangeText(limit)}, got ${JSON.stringify(value)}`,
        );
      }
      parts[option] = number;
    }
  }
}

/** Percent-decodes one part of a URL; `what` names it in the error, which never quotes it. */
function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new TypeError(
      `${what} in the AMQP URL is not valid percent-encoding: "%" must start an escape such as ` +
        '%25, and the escapes must spell UTF-8',
    );
  }
}
