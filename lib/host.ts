/**
 * The one grammar of a broker address, `host[:port]`, read the same way in
 * the authority of an AMQP URL (`amqp://user:pw@host:port/`) and in an entry
 * of the `hosts` option (`'host:port'`):
 *
 * - a host name: letters (of any script), digits, `-`, `.` and `_`,
 *   percent-encoding allowed (`ho%61st` is `hoast`); no empty label, but a
 *   final dot is allowed;
 * - an IPv4 address: a host whose last label is a number (decimal, or hex
 *   after `0x`) must be four decimal numbers from 0 to 255, as `192.0.2.1`
 *   (no `127.1`, no leading zeros, no hex), so that no name is read as an
 *   address by the resolver;
 * - an IPv6 address in brackets, `[::1]`, with an optional zone written
 *   `%25` and the zone, as in RFC 6874: `[fe80::1%25eth0]`;
 * - then an optional `:` and a port, decimal digits from 1 to 65535 (an empty
 *   port is no port).
 *
 * Either part may be empty: the caller fills it in (the URL from the options
 * and defaults, a `hosts` entry from the connection's own address).
 *
 * Error messages name the part at fault and where it was written; they never
 * quote the text, which in a mistyped URL may hold a password. Only a port
 * made of digits alone is quoted.
 *
 * @packageDocumentation
 */
import { isIPv4, isIPv6 } from 'node:net';

/** One broker address. */
export interface HostAddress {
  /** The host name or IP address; an IPv6 address without brackets. */
  readonly hostname: string;
  /** The TCP port. */
  readonly port: number;
}

/** What a `host[:port]` text gives; a part is absent when the text leaves it empty. */
export interface HostPort {
  hostname?: string;
  port?: number;
}

/** The largest TCP port. */
export const MAX_PORT = 0xffff;

/** An example for messages about IPv6 addresses. */
const IPV6_EXAMPLE = '[::1]:5672';

/**
 * Parses `host[:port]`. `where` names the text in error messages: `'the AMQP
 * URL'`, `'hosts[1]'`.
 *
 * @throws TypeError for a malformed host or port, RangeError for a port out of range
 */
export function parseHostPort(text: string, where: string): HostPort {
  if (hasSpaceOrControl(text)) {
    throw new TypeError(`${where} contains a space or a control character`);
  }
  const delimiter = /[/?#@]/.exec(text)?.[0];
  if (delimiter !== undefined) {
    // Only a hosts entry gets here: a URL's authority ends before these.
    throw new TypeError(
      `${where} has a "${delimiter}": write it as host or host:port, and give user name, ` +
        'password and vhost in the URL or the options',
    );
  }

  let hostText: string;
  let portText: string | undefined;
  let hostname: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw new TypeError(`the IPv6 address in ${where} lacks its closing "]"`);
    const after = text.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) {
      throw new TypeError(`in ${where}, only ":" and a port may follow an IPv6 address in "[]"`);
    }
    portText = after === '' ? undefined : after.slice(1);
    hostText = text.slice(1, close);
    hostname = bracketedAddress(hostText, where);
  } else {
    const colon = text.indexOf(':');
    if (colon >= 0 && text.includes(':', colon + 1)) {
      throw new TypeError(
        `the host part of ${where} has more than one ":": put an IPv6 address in "[]", ` +
          `as in ${IPV6_EXAMPLE}`,
      );
    }
    portText = colon < 0 ? undefined : text.slice(colon + 1);
    hostText = colon < 0 ? text : text.slice(0, colon);
    if (hostText !== '') {
      const subject = `the host in ${where}`;
      hostname = decodePercent(hostText, subject);
      checkName(hostname, subject);
    }
  }

  const parsed: HostPort = {};
  if (hostname !== undefined) parsed.hostname = hostname;
  if (portText !== undefined && portText !== '') parsed.port = parsePort(portText, where);
  return parsed;
}

/**
 * Checks a host name or IP address as an option gives it: written as is
 * (not percent-encoded), and an IPv6 address without brackets, optionally
 * with a zone (`fe80::1%eth0`). `subject` names it in messages.
 *
 * @throws TypeError when it is none of a host name, an IPv4 and an IPv6 address
 */
export function checkHostname(hostname: string, subject: string): void {
  if (hostname === '') throw new TypeError(`${subject} must not be empty`);
  if (hostname.startsWith('[')) {
    throw new TypeError(
      `${subject} takes an IPv6 address without brackets (brackets belong in URLs only)`,
    );
  }
  if (hostname.includes(':')) {
    if (!isIPv6(hostname)) {
      throw new TypeError(`${subject} has a ":" but is not an IPv6 address`);
    }
    return;
  }
  checkName(hostname, subject);
}

/**
 * The host as a URL writes it: an IPv6 address in brackets with its zone's
 * `%` as `%25`, a host name percent-encoded where needed. {@link parseHostPort}
 * reads it back to the same host name.
 */
export function formatHost(hostname: string): string {
  return hostname.includes(':')
    ? `[${hostname.replaceAll('%', '%25')}]`
    : encodeURIComponent(hostname);
}

/** `host:port` for messages and events, with an IPv6 address in brackets: `[::1]:5672`. */
export function hostPortText(address: HostAddress): string {
  const host = address.hostname.includes(':') ? `[${address.hostname}]` : address.hostname;
  return `${host}:${address.port}`;
}

/**
 * Percent-decodes one part of a URL or hosts entry; `subject` names it in the
 * error, which never quotes it.
 */
export function decodePercent(text: string, subject: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new TypeError(
      `${subject} is not valid percent-encoding: "%" must start an escape such as %25, and ` +
        'the escapes must spell UTF-8',
    );
  }
}

/** Whether `text` holds an ASCII space or control character, which no part of a URL may hold unescaped. */
export function hasSpaceOrControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** The text between `[` and `]`: an IPv6 address, then optionally `%25` and a zone. */
function bracketedAddress(text: string, where: string): string {
  const percent = text.indexOf('%');
  const address = percent < 0 ? text : text.slice(0, percent);
  // The address itself is never percent-encoded (RFC 3986); its zone may be.
  if (!/^[0-9A-Fa-f:.]+$/.test(address) || !isIPv6(address)) {
    throw new TypeError(`the text in "[]" in ${where} is not an IPv6 address`);
  }
  if (percent < 0) return address;
  if (!text.startsWith('%25', percent) || text.length === percent + 3) {
    throw new TypeError(
      `the IPv6 zone in ${where} is written "%25" and the zone, as in [fe80::1%25eth0]`,
    );
  }
  const zoned = `${address}%${decodePercent(text.slice(percent + 3), `the IPv6 zone in ${where}`)}`;
  if (!isIPv6(zoned)) {
    throw new TypeError(
      `the IPv6 zone in ${where} may hold only letters, digits, "-", "." and ":"`,
    );
  }
  return zoned;
}

/** Checks a host name (decoded) or IPv4 address. */
function checkName(name: string, subject: string): void {
  if (!/^[\p{L}\p{M}\p{N}._-]+$/u.test(name)) {
    throw new TypeError(
      `${subject} is not a host name, which may hold only letters, digits, "-", "." and "_"`,
    );
  }
  const labels = name.endsWith('.') ? name.slice(0, -1).split('.') : name.split('.');
  if (labels.includes('')) {
    throw new TypeError(`${subject} has an empty label: ".." or a "." at its start`);
  }
  // Name resolvers read a name that ends in a number (decimal, or hex after
  // 0x) as an IPv4 address, in forms such as 127.1, 0177.0.0.1 or 0x7f.1;
  // only the plain dotted form is taken.
  if (/^(?:[0-9]+|0x[0-9a-f]*)$/i.test(labels[labels.length - 1] as string) && !isIPv4(name)) {
    throw new TypeError(
      `${subject} ends in a number, so it must be an IPv4 address: four numbers from 0 to ` +
        '255 without leading zeros, as in 192.0.2.1',
    );
  }
}

/** Parses a port: decimal digits, from 1 to 65535. */
function parsePort(text: string, where: string): number {
  if (!/^[0-9]+$/.test(text)) throw new TypeError(`the port in ${where} is not a number`);
  const port = Number(text);
  if (port < 1 || port > MAX_PORT) {
    throw new RangeError(
      `the port in ${where} must be from 1 to ${MAX_PORT}, got ${JSON.stringify(text)}`,
    );
  }
  return port;
}
