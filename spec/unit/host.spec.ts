/**
 * The one `host[:port]` grammar, read through its two doors: the authority of
 * an AMQP URL and an entry of the `hosts` option. Whatever one accepts the
 * other accepts with the same host name and port; whatever one refuses the
 * other refuses with the same error.
 */
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { Connector } from '../../lib/connector.js';
import {
  type ConnectCallOptions,
  describeEndpoint,
  resolveConnectOptions,
  resolveOptions,
} from '../../lib/options.js';
import { thrown } from './helpers.js';

type Outcome =
  | { readonly hostname: string; readonly port: number }
  | { readonly error: string; readonly message: string };

/** Runs `fn`; its address, or its error's class and message with `where` written as `X`. */
function outcome(fn: () => { hostname: string; port: number }, where: string): Outcome {
  try {
    const { hostname, port } = fn();
    return { hostname, port };
  } catch (error) {
    if (!(error instanceof TypeError || error instanceof RangeError)) throw error;
    const message = error.message
      .replaceAll(where, 'X')
      // The URL's own check of spaces adds a hint that is about URLs alone.
      .replace('; percent-encode it (encodeURIComponent)', '');
    return { error: error.constructor.name, message };
  }
}

/** The authority read from a URL. */
function throughUrl(authority: string): Outcome {
  return outcome(() => resolveOptions(`amqp://${authority}/`), 'the AMQP URL');
}

/** The same text read as a hosts entry, with the default host and port as the connection's own. */
function throughHosts(entry: string): Outcome {
  return outcome(() => resolveConnectOptions({ hosts: [entry] }).hosts[1] as never, 'hosts[0]');
}

const accepted: [string, string, number][] = [
  ['rabbit', 'rabbit', 5672],
  ['rabbit:5673', 'rabbit', 5673],
  ['rabbit.example.com', 'rabbit.example.com', 5672],
  ['rabbit.example.com.', 'rabbit.example.com.', 5672],
  ['RaBBit', 'RaBBit', 5672],
  ['my_rabbit-1', 'my_rabbit-1', 5672],
  ['ho%61st:10000', 'hoast', 10000],
  ['caf%C3%A9.example', 'café.example', 5672],
  ['café.example', 'café.example', 5672],
  ['10.0.0.2:1', '10.0.0.2', 1],
  ['192.0.2.1:65535', '192.0.2.1', 65535],
  ['255.255.255.255', '255.255.255.255', 5672],
  ['host:00080', 'host', 80],
  ['host:', 'host', 5672],
  [':5673', 'localhost', 5673],
  ['[::1]', '::1', 5672],
  ['[::1]:5674', '::1', 5674],
  ['[::1]:', '::1', 5672],
  ['[2001:db8::7]:5673', '2001:db8::7', 5673],
  ['[FE80::1]', 'FE80::1', 5672],
  ['[::ffff:192.0.2.1]', '::ffff:192.0.2.1', 5672],
  ['[fe80::1%25eth0]:5672', 'fe80::1%eth0', 5672],
  ['[fe80::1%25en0.1]', 'fe80::1%en0.1', 5672],
  ['[fe80::1%2525]', 'fe80::1%25', 5672],
];

const refused: [string, typeof TypeError | typeof RangeError, RegExp][] = [
  ['host:0', RangeError, /port in X must be from 1 to 65535, got "0"/],
  ['host:65536', RangeError, /port .*got "65536"/],
  ['host:70000', RangeError, /port/],
  ['host:99999999999999999999', RangeError, /port/],
  ['host:56x2', TypeError, /port in X is not a number/],
  ['host:-1', TypeError, /port .*not a number/],
  ['host:+1', TypeError, /port .*not a number/],
  ['host:%35', TypeError, /port .*not a number/],
  ['host:5672:5673', TypeError, /more than one ":".*\[::1\]:5672/],
  ['a:b:c', TypeError, /more than one ":"/],
  ['::1', TypeError, /put an IPv6 address in "\[\]"/],
  ['::1:5672', TypeError, /IPv6 address in "\[\]"/],
  ['[zzz]:5672', TypeError, /"\[\]" in X is not an IPv6 address/],
  ['[not-v6]', TypeError, /not an IPv6 address/],
  ['[]', TypeError, /not an IPv6 address/],
  ['[1::2::3]', TypeError, /not an IPv6 address/],
  ['[192.0.2.1]', TypeError, /not an IPv6 address/],
  ['[v1.future]', TypeError, /not an IPv6 address/],
  ['[%3A%3A1]', TypeError, /not an IPv6 address/],
  ['[::1', TypeError, /lacks its closing "\]"/],
  ['[::1]x', TypeError, /only ":" and a port may follow an IPv6 address/],
  ['[::1][::2]', TypeError, /only ":" and a port/],
  ['[fe80::1%eth0]', TypeError, /zone in X is written "%25"/],
  ['[fe80::1%25]', TypeError, /zone .*"%25"/],
  ['[fe80::1%25%zz]', TypeError, /zone in X is not valid percent-encoding/],
  ['[fe80::1%25a%20b]', TypeError, /zone in X may hold only/],
  ['ho%st', TypeError, /host in X is not valid percent-encoding/],
  ['host%ff', TypeError, /host .*UTF-8/],
  ['ho%20st', TypeError, /host in X is not a host name/],
  ['ho%3Ast', TypeError, /not a host name/],
  ['ho%2Fst', TypeError, /not a host name/],
  ['a!b', TypeError, /not a host name/],
  ['ho~st', TypeError, /not a host name/],
  ['host]', TypeError, /not a host name/],
  ['ho[st', TypeError, /not a host name/],
  ['a..b', TypeError, /empty label/],
  ['.host', TypeError, /empty label/],
  ['.', TypeError, /empty label/],
  ['127.1', TypeError, /ends in a number, so it must be an IPv4 address/],
  ['1.2.3.4.5', TypeError, /IPv4/],
  ['1.2.3.4.', TypeError, /IPv4/],
  ['999.1.1.1', TypeError, /IPv4/],
  ['01.2.3.4', TypeError, /IPv4/],
  ['0x7f.1', TypeError, /IPv4/],
  ['host.0x10', TypeError, /IPv4/],
  ['1234', TypeError, /IPv4/],
  ['ho st', TypeError, /space or a control character/],
  ['host\u0000', TypeError, /control character/],
];

describe('host[:port]: the URL and the hosts option read it alike', () => {
  test.each(accepted)('%j is %s port %d', (text, hostname, port) => {
    expect(throughUrl(text)).toEqual({ hostname, port });
    expect(throughHosts(text)).toEqual({ hostname, port });
  });

  test.each(refused)('%j is refused', (text, type, pattern) => {
    const url = throughUrl(text);
    const hosts = throughHosts(text);
    expect(url).toEqual(hosts);
    expect(url).toMatchObject({ error: type.name });
    expect((url as { message: string }).message).toMatch(pattern);
  });

  test('only an entry that names neither host nor port is refused by hosts alone', () => {
    // A URL may leave both to the options and defaults (the URI spec's "amqp://");
    // a hosts entry that names nothing would only repeat the connection's own address.
    for (const text of ['', ':']) {
      expect(throughUrl(text)).toEqual({ hostname: 'localhost', port: 5672 });
      expect(throughHosts(text)).toEqual({
        error: 'TypeError',
        message: 'X names neither a host nor a port',
      });
    }
  });
});

/** Text that a host might be made of, good and bad: escapes, brackets, colons, dots, digits. */
const hostUnit = fc.constantFrom(
  ..."aZ09-._~!$&'()*+,;=:[]%é ",
  '%25',
  '%2e',
  '%3A',
  '%C3%A9',
  '%zz',
  '%ff',
  '0x',
  '255',
  '256',
  '::',
  '\u0000',
);
const zone = fc.stringMatching(/^[A-Za-z0-9.-]{1,8}$/);
const port = fc.oneof(
  fc.constant(''),
  fc.constant(':'),
  fc.integer({ min: 0, max: 70_000 }).map((n) => `:${n}`),
  fc.stringMatching(/^:0{0,3}[0-9]{1,6}$/),
  fc.string({ unit: fc.constantFrom(...'0159:x+-%[] '), maxLength: 6 }).map((p) => `:${p}`),
);
const host = fc.oneof(
  fc.constant(''),
  fc.domain(),
  fc.ipV4(),
  fc.ipV4Extended(),
  fc.ipV6().map((address) => `[${address}]`),
  fc.tuple(fc.ipV6(), zone).map(([address, z]) => `[${address}%25${z}]`),
  fc.tuple(fc.ipV6(), zone).map(([address, z]) => `[${address}%${z}]`),
  fc.ipV6(),
  fc.string({ unit: hostUnit, maxLength: 10 }),
  fc.string({ unit: hostUnit, maxLength: 10 }).map((text) => `[${text}]`),
);
/** host[:port] texts; never "/", "?", "#" or "@", which end or begin the authority of a URL. */
const authority = fc.tuple(host, port).map(([h, p]) => h + p);

describe('property: one grammar', () => {
  test('what the URL accepts, the hosts option accepts with the same host and port, and vice versa; both refuse alike', () => {
    fc.assert(
      fc.property(authority, (text) => {
        if (text === '' || text === ':') return; // the one exception, tested above
        expect(throughHosts(text)).toEqual(throughUrl(text));
      }),
      { numRuns: 2_000 },
    );
  });

  test('well-formed addresses are accepted and read back as written', () => {
    const address = fc.oneof(
      fc.domain().map((name) => ({ text: name, hostname: name })),
      fc.ipV4().map((ip) => ({ text: ip, hostname: ip })),
      fc.ipV6().map((ip) => ({ text: `[${ip}]`, hostname: ip })),
      fc
        .tuple(fc.ipV6(), zone)
        .map(([ip, z]) => ({ text: `[${ip}%25${z}]`, hostname: `${ip}%${z}` })),
    );
    fc.assert(
      fc.property(address, fc.integer({ min: 1, max: 65_535 }), ({ text, hostname }, p) => {
        expect(throughUrl(`${text}:${p}`)).toEqual({ hostname, port: p });
        expect(throughHosts(`${text}:${p}`)).toEqual({ hostname, port: p });
        expect(throughHosts(text)).toEqual({ hostname, port: 5672 });
      }),
    );
  });

  test('a host the URL accepts is a hostname option, and describeEndpoint writes it back', () => {
    fc.assert(
      fc.property(authority, (text) => {
        const read = throughUrl(text);
        if (!('hostname' in read)) return;
        const options = resolveOptions({ hostname: read.hostname, port: read.port });
        expect(resolveOptions(describeEndpoint(options))).toMatchObject(read);
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('the hosts option', () => {
  const hostsOf = (url: string | undefined, options: ConnectCallOptions) =>
    (url === undefined
      ? resolveConnectOptions(options)
      : resolveConnectOptions(url, options)
    ).hosts.map(({ hostname, port }) => `${hostname} ${port}`);

  test('comes after the connection’s own address, and takes its missing parts from it', () => {
    expect(hostsOf('amqp://a:6000', { hosts: ['b', 'c:7000', ':8000', '[::1]'] })).toEqual([
      'a 6000',
      'b 6000',
      'c 7000',
      'a 8000',
      '::1 6000',
    ]);
    expect(hostsOf('amqps://a', { hosts: ['b'] })).toEqual(['a 5671', 'b 5671']);
    expect(hostsOf(undefined, { hostname: 'a', port: 1234, hosts: ['b'] })).toEqual([
      'a 1234',
      'b 1234',
    ]);
    expect(hostsOf(undefined, {})).toEqual(['localhost 5672']);
    expect(hostsOf(undefined, { hosts: [] })).toEqual(['localhost 5672']);
  });

  test.each([
    ['a string', 'rabbit:5672', /hosts must be an array of strings.*got string/],
    ['null', null, /hosts must be an array .*got null/],
    [
      'an entry not a string',
      ['a', 42],
      /hosts\[1\] must be a string like 'host:5672', got number/,
    ],
    // biome-ignore lint/suspicious/noSparseArray: a hole is what this case is about
    ['a hole', [, 'a'], /hosts\[0\] must be a string/],
    ['an empty entry', ['a', ''], /hosts\[1\] names neither a host nor a port/],
  ])('refuses %s', (_name, hosts, pattern) => {
    const error = thrown(() => resolveConnectOptions({ hosts: hosts as never }));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(pattern);
  });

  const SECRET = 's3cr3t-PW';
  test.each([
    [`user:${SECRET}@host`, /hosts\[0\] has a "@"/],
    [`amqp://user:${SECRET}@host:5672/`, /hosts\[0\] has a "\/"/],
    [`user:${SECRET}`, /port in hosts\[0\] is not a number/],
    [`${SECRET}:${SECRET}`, /port in hosts\[0\] is not a number/],
    [`[${SECRET}]`, /not an IPv6 address/],
    [`host?password=${SECRET}`, /has a "\?"/],
    [`${SECRET}%zz`, /percent-encoding/],
    [`${SECRET} x`, /space/],
  ])('never quotes an entry that may hold a password: %s', (entry, pattern) => {
    const error = thrown(() => resolveConnectOptions({ hosts: [entry] })) as Error;
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(pattern);
    expect(inspect(error)).not.toContain('cr3t');
  });

  test('the connector names the next host as host:port, IPv6 in brackets', () => {
    const { options, hosts } = resolveConnectOptions('amqp://[::1]:5673', { hosts: ['b'] });
    const connector = new Connector(options, hosts, {}, undefined);
    expect(connector.nextHost).toBe('[::1]:5673');
  });
});
