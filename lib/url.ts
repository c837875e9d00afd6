/**
 * The AMQP URL, `amqp://user:password@host:port/vhost?heartbeat=30`, as text:
 * its parts, percent-decoded; what its query parameters mean is for
 * options.ts to say.
 *
 * URLs follow RabbitMQ's AMQP URI specification
 * (https://www.rabbitmq.com/docs/uri-spec), with one deliberate difference: a
 * URL without a path, or with the path `/` alone, means the default vhost `/`
 * (the specification reads `/` as the empty vhost name). The vhost `/` can
 * also be written `/%2F`. The host and port follow the grammar of host.ts,
 * which the `hosts` option shares.
 *
 * No error message quotes the user info, and so none holds the password.
 *
 * @packageDocumentation
 */
import { decodePercent, hasSpaceOrControl, parseHostPort } from './host.js';
import type { ConnectOptions } from './options.js';

/** What a URL says; a part is absent when the URL leaves it to the options or the defaults. */
export interface UrlParts
  extends Pick<ConnectOptions, 'hostname' | 'port' | 'username' | 'password' | 'vhost'> {
  /** Whether the scheme is `amqps:`. */
  secure: boolean;
  /** The query parameters, names and values percent-decoded, each name once. */
  query: ReadonlyMap<string, string>;
}

/** How messages name the URL. */
const WHERE = 'the AMQP URL';

const EXAMPLE_URL = 'amqp://user:password@host:5672/vhost';

/** Appended to messages about URLs whose user name or password may hold an unescaped delimiter. */
const ENCODING_HINT =
  'a user name, password or vhost containing any of / ? # @ : [ ] % must be percent-encoded ' +
  '(encodeURIComponent)';

/**
 * Parses an AMQP URL. Error messages name the part at fault and never quote
 * the user info.
 *
 * @throws TypeError for a malformed URL, RangeError for a port out of range
 */
export function parseUrl(input: string): UrlParts {
  const text = input.trim();
  if (text === '') throw new TypeError(`${WHERE} is empty; expected a URL like ${EXAMPLE_URL}`);
  if (hasSpaceOrControl(text)) {
    throw new TypeError(
      `${WHERE} contains a space or a control character; percent-encode it (encodeURIComponent)`,
    );
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
      `${WHERE} has an "@" after the host; ${ENCODING_HINT}, and "@" in a vhost or ` +
        'query value as %40',
    );
  }

  // Authority: [username[:password]@]host[:port]
  const at = authority.indexOf('@');
  if (at !== authority.lastIndexOf('@')) {
    throw new TypeError(`${WHERE} has more than one "@" before the host: ${ENCODING_HINT}`);
  }
  let username: string | undefined;
  let password: string | undefined;
  if (at >= 0) {
    const userInfo = authority.slice(0, at);
    const colon = userInfo.indexOf(':');
    username = decodePercent(
      colon < 0 ? userInfo : userInfo.slice(0, colon),
      `the user name in ${WHERE}`,
    );
    if (colon >= 0) password = decodePercent(userInfo.slice(colon + 1), `the password in ${WHERE}`);
  }
  const { hostname, port } = parseHostPort(authority.slice(at + 1), WHERE);

  if (tail.includes('#')) {
    throw new TypeError(`an AMQP URL has no fragment ("#…"); ${ENCODING_HINT}`);
  }
  const question = tail.indexOf('?');
  const path = question < 0 ? tail : tail.slice(0, question);

  // Path: absent, "/" or "/vhost". Unlike the URI spec, "/" means the default vhost.
  let vhost: string | undefined;
  if (path !== '' && path !== '/') {
    const segment = path.slice(1);
    if (segment.includes('/')) {
      throw new TypeError(
        'the vhost in an AMQP URL is a single path segment: write a "/" in a vhost name as %2F, ' +
          'as in amqp://host/a%2Fb',
      );
    }
    vhost = decodePercent(segment, `the vhost in ${WHERE}`);
  }

  const query = question < 0 ? new Map<string, string>() : parseQuery(tail.slice(question + 1));
  return {
    secure: scheme === 'amqps',
    query,
    ...(hostname === undefined ? {} : { hostname }),
    ...(port === undefined ? {} : { port }),
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(vhost === undefined ? {} : { vhost }),
  };
}

/**
 * Parses `name=value&…`; `+` is a space, as in HTML forms and
 * `URLSearchParams`. A name without `=` has the empty value.
 */
function parseQuery(query: string): Map<string, string> {
  const parameters = new Map<string, string>();
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodePercent(
      (eq < 0 ? pair : pair.slice(0, eq)).replaceAll('+', ' '),
      `a query parameter name in ${WHERE}`,
    );
    if (parameters.has(name)) {
      throw new TypeError(`query parameter ${name} appears more than once in ${WHERE}`);
    }
    const value = decodePercent(
      (eq < 0 ? '' : pair.slice(eq + 1)).replaceAll('+', ' '),
      `the value of query parameter ${name} in ${WHERE}`,
    );
    parameters.set(name, value);
  }
  return parameters;
}

/**
 * The URL with its password replaced by `***`, for messages and logs:
 * `amqp://user:***@host/vhost`. A URL without a password comes back unchanged.
 *
 * It works on any string, also one that is not a valid URL: everything from
 * the first `:` after `//` up to the last `@` is hidden. For a URL that
 * {@link parseUrl} accepts, that is exactly the password; in a malformed one
 * (a password with an unescaped `/`, `?`, `#` or `@`), it may hide more than
 * the password, never less.
 */
export function redactUrl(url: string): string {
  const slashes = url.indexOf('://');
  const begin = slashes < 0 ? 0 : slashes + 3;
  // A URL that parseUrl accepts has at most one '@', the one ending the user
  // info; in any other string, the last '@' is the safe guess.
  const at = url.lastIndexOf('@');
  if (at < begin) return url;
  const colon = url.indexOf(':', begin);
  if (colon < 0 || colon > at) return url;
  return `${url.slice(0, colon + 1)}***${url.slice(at)}`;
}

/** The first index of any character of `chars` in `text`, or `text.length`. */
function indexOfAny(text: string, chars: string): number {
  for (let i = 0; i < text.length; i++) {
    if (chars.includes(text[i] as string)) return i;
  }
  return text.length;
}
