import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  type ConnectOptions,
  describeEndpoint,
  resolveConnectOptions,
  resolveOptions,
} from '../../lib/options.js';
import { redactUrl } from '../../lib/url.js';
import { thrown } from './helpers.js';

/** A password distinctive enough that finding it (or a piece of it) in a message is no accident. */
const SECRET = 's3cr3t-PW';
/** SECRET with every character percent-encoded. */
const SECRET_ENCODED = [...SECRET]
  .map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)
  .join('');

/** Fails if `text` holds the secret, any recognisable piece of it, or its encoded form. */
function expectNoSecret(text: string): void {
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain('cr3t');
  expect(text.toUpperCase()).not.toContain(SECRET_ENCODED);
  expect(text.toUpperCase()).not.toContain('%63%72%33%74'); // "cr3t" encoded
}

/** Expects `fn` to throw `type` with a message matching `pattern`, and nothing of the secret anywhere in the error. */
function expectError(
  fn: () => unknown,
  type: typeof TypeError | typeof RangeError,
  pattern: RegExp,
): Error {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(type);
  const e = error as Error;
  expect(e.message).toMatch(pattern);
  expectNoSecret(e.message);
  expectNoSecret(inspect(e, { depth: 5 }));
  return e;
}

const DEFAULTS = {
  hostname: 'localhost',
  port: 5672,
  username: 'guest',
  password: 'guest',
  vhost: '/',
  tls: undefined,
  heartbeat: 60,
  frameMax: 131_072,
  channelMax: 0,
  connectionTimeout: 10_000,
  connectionName: undefined,
  mechanism: undefined,
  maxBodySize: 128 * 1024 * 1024,
  maxBufferedDeliveryBytes: 64 * 1024 * 1024,
  maxBufferedPublishBytes: 128 * 1024 * 1024,
  clientProperties: {},
};

/** The parts of a resolved URL that the URI spec's examples talk about. */
function endpoint(url: string) {
  const { hostname, port, username, password, vhost } = resolveOptions(url);
  return { hostname, port, username, password, vhost };
}

describe('resolveOptions: defaults', () => {
  test('no arguments gives every default', () => {
    expect(resolveOptions()).toEqual(DEFAULTS);
  });

  test('an empty options object, and undefined options, give every default', () => {
    expect(resolveOptions({})).toEqual(DEFAULTS);
    expect(resolveOptions(undefined, {})).toEqual(DEFAULTS);
    expect(resolveOptions(undefined, undefined)).toEqual(DEFAULTS);
  });

  test('every default is the one ConnectOptions documents with @default', () => {
    const source = readFileSync(new URL('../../lib/options.ts', import.meta.url), 'utf8');
    const declaration = source.slice(source.indexOf('export interface ConnectOptions {'));
    // Each option's doc comment: the first word after @default, then the `name?:` it documents.
    const documented = new Map<string, string>();
    for (const [, value, name] of declaration.matchAll(
      /@default (\S+).*\n(?:\s*\*.*\n)*?\s*\*\/\n\s*(\w+)\?:/g,
    )) {
      if (!documented.has(name as string)) documented.set(name as string, value as string);
    }
    // How a default is written: a string quoted, an object as JSON; two are told in prose.
    const prose: Record<string, string> = { tls: 'on', mechanism: 'PLAIN' };
    for (const [name, value] of Object.entries(resolveOptions())) {
      const written =
        prose[name] ??
        (typeof value === 'string' ? `'${value}'` : (JSON.stringify(value) ?? 'undefined'));
      expect(documented.get(name)?.replace(/,$/, ''), name).toBe(written);
    }
  });

  test('the result is frozen', () => {
    expect(Object.isFrozen(resolveOptions('amqp://host'))).toBe(true);
  });
});

describe('resolveOptions: the URI spec examples (Appendix A), under warren rules', () => {
  // Warren's one deviation: a path of "/" alone means the default vhost "/", not "".
  const examples: [string, Partial<ReturnType<typeof endpoint>>][] = [
    [
      'amqp://user:pass@host:10000/vhost',
      { username: 'user', password: 'pass', hostname: 'host', port: 10000, vhost: 'vhost' },
    ],
    [
      'amqp://user%61:%61pass@ho%61st:10000/v%2fhost',
      { username: 'usera', password: 'apass', hostname: 'hoast', port: 10000, vhost: 'v/host' },
    ],
    ['amqp://', {}],
    ['amqp://:@/', { username: '', password: '' }], // spec: vhost ""; warren: "/"
    ['amqp://user@', { username: 'user' }],
    ['amqp://user:pass@', { username: 'user', password: 'pass' }],
    ['amqp://host', { hostname: 'host' }],
    ['amqp://:10000', { port: 10000 }],
    ['amqp:///vhost', { vhost: 'vhost' }],
    ['amqp://host/', { hostname: 'host' }], // spec: vhost ""; warren: "/"
    ['amqp://host/%2f', { hostname: 'host', vhost: '/' }],
    ['amqp://[::1]', { hostname: '::1' }],
  ];
  const defaults = {
    hostname: 'localhost',
    port: 5672,
    username: 'guest',
    password: 'guest',
    vhost: '/',
  };

  test.each(examples)('%s', (url, expected) => {
    expect(endpoint(url)).toEqual({ ...defaults, ...expected });
  });
});

describe('resolveOptions: URL parts', () => {
  test('amqps: turns TLS on, with port 5671 by default', () => {
    const resolved = resolveOptions('amqps://host/');
    expect(resolved.tls).toEqual({});
    expect(resolved.port).toBe(5671);
    expect(resolveOptions('amqps://host:6000/').port).toBe(6000);
    expect(resolveOptions('amqp://host/').tls).toBeUndefined();
  });

  test('the scheme is case-insensitive', () => {
    expect(resolveOptions('AMQP://host').hostname).toBe('host');
    expect(resolveOptions('AmQpS://host').tls).toEqual({});
  });

  test('the vhost / can be written %2F or %2f, and other escapes decode', () => {
    expect(endpoint('amqp://host/%2F').vhost).toBe('/');
    expect(endpoint('amqp://host/%2F%2F').vhost).toBe('//');
    expect(endpoint('amqp://host/a%2Fb').vhost).toBe('a/b');
    expect(endpoint('amqp://host/caf%C3%A9').vhost).toBe('café');
    expect(endpoint('amqp://host/a+b').vhost).toBe('a+b'); // "+" is a space only in the query
    expect(endpoint('amqp://host?heartbeat=5').vhost).toBe('/');
  });

  test('user name and password decode every escape, and keep sub-delimiters as they are', () => {
    const url = `amqp://a%40b%3Ac:p%2Fq%3Fr%23s%25t%3A:u!$&'()*+,;=@host`;
    expect(endpoint(url)).toMatchObject({ username: 'a@b:c', password: "p/q?r#s%t::u!$&'()*+,;=" });
  });

  test('the password runs from the first ":" to the "@"', () => {
    expect(endpoint('amqp://user:pa:ss@host')).toMatchObject({
      username: 'user',
      password: 'pa:ss',
    });
  });

  test('an empty port means the default port', () => {
    expect(endpoint('amqp://host:/').port).toBe(5672);
    expect(endpoint('amqps://host:').port).toBe(5671);
  });

  test('ports at the ends of the range', () => {
    expect(endpoint('amqp://host:1').port).toBe(1);
    expect(endpoint('amqp://host:65535').port).toBe(65535);
    expect(endpoint('amqp://host:00080').port).toBe(80);
  });

  test('IPv6 literals lose their brackets and keep a zone', () => {
    expect(endpoint('amqp://[::1]:5673/')).toMatchObject({ hostname: '::1', port: 5673 });
    expect(endpoint('amqp://user:pw@[2001:db8::7]/vh')).toMatchObject({
      hostname: '2001:db8::7',
      username: 'user',
      vhost: 'vh',
    });
    expect(endpoint('amqp://[fe80::1%25eth0]:5672').hostname).toBe('fe80::1%eth0');
    expect(endpoint('amqp://[::ffff:192.0.2.1]').hostname).toBe('::ffff:192.0.2.1');
  });

  test('IPv4 addresses are host names', () => {
    expect(endpoint('amqp://192.0.2.1:5673')).toMatchObject({ hostname: '192.0.2.1', port: 5673 });
  });

  test('surrounding whitespace is trimmed (as from an environment file)', () => {
    expect(endpoint('  amqp://host/vh\n').hostname).toBe('host');
  });

  test('a URL object', () => {
    const url = new URL('amqp://host:1234/vh');
    url.username = 'us er';
    url.password = 'p@ss/w:rd';
    expect(endpoint(url.href)).toEqual(resolveOptionsEndpoint(url));
    expect(resolveOptionsEndpoint(url)).toEqual({
      hostname: 'host',
      port: 1234,
      username: 'us er',
      password: 'p@ss/w:rd',
      vhost: 'vh',
    });
    expect(resolveOptions(new URL('amqps://host')).tls).toEqual({});
    expect(resolveOptions(new URL('amqp://[::1]:5673')).hostname).toBe('::1');
  });

  test('an object with href and protocol (another realm’s URL, a url.parse result) is a URL', () => {
    const like = { href: 'amqp://u:p@host:1234/vh', protocol: 'amqp:' } as unknown as URL;
    expect(resolveOptions(like)).toMatchObject({ hostname: 'host', port: 1234, username: 'u' });
  });
});

function resolveOptionsEndpoint(url: URL) {
  const { hostname, port, username, password, vhost } = resolveOptions(url);
  return { hostname, port, username, password, vhost };
}

describe('resolveOptions: query parameters', () => {
  test('heartbeat, in seconds', () => {
    expect(resolveOptions('amqp://host?heartbeat=30').heartbeat).toBe(30);
    expect(resolveOptions('amqp://host/?heartbeat=0').heartbeat).toBe(0);
    expect(resolveOptions('amqp://host/?heartbeat=65535').heartbeat).toBe(65535);
  });

  test('frame_max', () => {
    expect(resolveOptions('amqp://host/?frame_max=0').frameMax).toBe(0);
    expect(resolveOptions('amqp://host/?frame_max=4096').frameMax).toBe(4096);
    expect(resolveOptions('amqp://host/?frame_max=4294967295').frameMax).toBe(0xffff_ffff);
  });

  test('channel_max', () => {
    expect(resolveOptions('amqp://host/?channel_max=0').channelMax).toBe(0);
    expect(resolveOptions('amqp://host/?channel_max=2047').channelMax).toBe(2047);
    expect(resolveOptions('amqp://host/?channel_max=65535').channelMax).toBe(65535);
  });

  test('connection_timeout, in milliseconds', () => {
    expect(resolveOptions('amqp://host/?connection_timeout=1').connectionTimeout).toBe(1);
    expect(resolveOptions('amqp://host/?connection_timeout=2500').connectionTimeout).toBe(2500);
    expect(resolveOptions('amqp://host/?connection_timeout=2147483647').connectionTimeout).toBe(
      2 ** 31 - 1,
    );
  });

  test('auth_mechanism, in any case', () => {
    expect(resolveOptions('amqp://host/?auth_mechanism=PLAIN').mechanism).toBe('PLAIN');
    expect(resolveOptions('amqp://host/?auth_mechanism=amqplain').mechanism).toBe('AMQPLAIN');
    expect(resolveOptions('amqps://host/?auth_mechanism=External').mechanism).toBe('EXTERNAL');
  });

  test('connection_name, decoded, with "+" as a space', () => {
    expect(resolveOptions('amqp://host/?connection_name=worker').connectionName).toBe('worker');
    expect(resolveOptions('amqp://host/?connection_name=my+worker%21%26%3D').connectionName).toBe(
      'my worker!&=',
    );
    expect(resolveOptions('amqp://host/?connection_name=a%40b').connectionName).toBe('a@b');
    expect(resolveOptions('amqp://host/?connection_name=').connectionName).toBe('');
    expect(resolveOptions('amqp://host/?connection_name').connectionName).toBe('');
  });

  test('several parameters, and empty pieces between them', () => {
    const resolved = resolveOptions(
      'amqp://u:p@host/vh?&heartbeat=5&frame_max=8192&&channel_max=10&connection_timeout=3000' +
        '&auth_mechanism=plain&connection_name=n&',
    );
    expect(resolved).toMatchObject({
      heartbeat: 5,
      frameMax: 8192,
      channelMax: 10,
      connectionTimeout: 3000,
      mechanism: 'PLAIN',
      connectionName: 'n',
      vhost: 'vh',
    });
  });

  test('parameter names may be percent-encoded', () => {
    expect(resolveOptions('amqp://host/?frame%5Fmax=8192').frameMax).toBe(8192);
  });
});

describe('resolveOptions: options override the URL', () => {
  test('every option overrides its URL part', () => {
    const url =
      'amqp://user:pass@host:1000/vh?heartbeat=5&frame_max=8192&channel_max=10' +
      '&connection_timeout=3000&auth_mechanism=plain&connection_name=from-url';
    const options: ConnectOptions = {
      hostname: 'other',
      port: 2000,
      username: 'u2',
      password: 'p2',
      vhost: 'v2',
      heartbeat: 0,
      frameMax: 0,
      channelMax: 0,
      connectionTimeout: 1,
      mechanism: 'AMQPLAIN',
      connectionName: 'from-options',
      maxBodySize: 1024,
      maxBufferedDeliveryBytes: 2048,
      maxBufferedPublishBytes: 4096,
      clientProperties: { team: 'blue' },
    };
    expect(resolveOptions(url, options)).toEqual({ ...options, tls: undefined });
  });

  test('options not given keep what the URL says', () => {
    expect(
      resolveOptions('amqp://user:pass@host:1000/vh?heartbeat=5', { vhost: 'v2' }),
    ).toMatchObject({
      username: 'user',
      password: 'pass',
      hostname: 'host',
      port: 1000,
      vhost: 'v2',
      heartbeat: 5,
    });
  });

  test('an option whose value is undefined counts as not given', () => {
    const options = { hostname: undefined, port: undefined } as unknown as ConnectOptions;
    expect(resolveOptions('amqp://host:1000', options)).toMatchObject({
      hostname: 'host',
      port: 1000,
    });
  });

  test('properties that are not options are ignored', () => {
    const options = { signal: new AbortController().signal, heartbeat: 7 } as ConnectOptions;
    expect(resolveOptions('amqp://host', options).heartbeat).toBe(7);
  });

  test('options alone', () => {
    expect(
      resolveOptions({ hostname: 'h', port: 1, username: '', password: '', vhost: 'a/b' }),
    ).toMatchObject({ hostname: 'h', port: 1, username: '', password: '', vhost: 'a/b' });
  });

  test('hostname: a host name, an IPv4 address, or an IPv6 address without brackets', () => {
    for (const hostname of ['h', 'rabbit.example.', 'my_rabbit', 'café.example', '192.0.2.1']) {
      expect(resolveOptions({ hostname }).hostname).toBe(hostname);
    }
    for (const hostname of ['::1', '2001:db8::7', 'fe80::1%eth0']) {
      expect(resolveOptions({ hostname }).hostname).toBe(hostname);
    }
  });

  test('options values at the ends of their ranges', () => {
    const low = resolveOptions({
      port: 1,
      heartbeat: 0,
      frameMax: 4096,
      channelMax: 0,
      connectionTimeout: 1,
      maxBodySize: 1,
    });
    expect(low).toMatchObject({ port: 1, heartbeat: 0, frameMax: 4096, connectionTimeout: 1 });
    const high = resolveOptions({
      port: 65535,
      heartbeat: 65535,
      frameMax: 2 ** 32 - 1,
      channelMax: 65535,
      connectionTimeout: 2 ** 31 - 1,
    });
    expect(high).toMatchObject({ port: 65535, frameMax: 2 ** 32 - 1, channelMax: 65535 });
  });

  test('each mechanism', () => {
    for (const mechanism of ['PLAIN', 'AMQPLAIN', 'EXTERNAL'] as const) {
      expect(resolveOptions({ mechanism }).mechanism).toBe(mechanism);
    }
  });

  test('clientProperties is copied, so later changes to the caller’s object do not leak in', () => {
    const clientProperties = { team: 'blue', nested: { a: 1 }, none: null };
    const resolved = resolveOptions({ clientProperties });
    clientProperties.team = 'red';
    expect(resolved.clientProperties).toEqual({ team: 'blue', nested: { a: 1 }, none: null });
    expect(resolveOptions({ clientProperties: Object.create(null) }).clientProperties).toEqual({});
  });
});

describe('resolveOptions: TLS', () => {
  const ca = 'ca-certificate';

  test('amqps: with no tls option, or tls: true, uses Node defaults', () => {
    expect(resolveOptions('amqps://host').tls).toEqual({});
    expect(resolveOptions('amqps://host', { tls: true }).tls).toEqual({});
  });

  test('amqps: with a tls object takes its options (a copy)', () => {
    const tlsOptions = { ca, servername: 'broker.example' };
    const resolved = resolveOptions('amqps://host', { tls: tlsOptions });
    expect(resolved.tls).toEqual(tlsOptions);
    expect(resolved.tls).not.toBe(tlsOptions);
    expect(resolved.port).toBe(5671);
  });

  test('amqps: with tls: false is a TypeError', () => {
    expectError(
      () => resolveOptions(`amqps://u:${SECRET}@host`, { tls: false }),
      TypeError,
      /amqps/,
    );
  });

  test('amqp: given explicitly with tls: true or a tls object is a TypeError', () => {
    expectError(
      () => resolveOptions(`amqp://u:${SECRET}@host`, { tls: true }),
      TypeError,
      /use an amqps:\/\/ URL/,
    );
    expectError(
      () => resolveOptions(`amqp://u:${SECRET}@host`, { tls: { ca } }),
      TypeError,
      /use an amqps:\/\/ URL/,
    );
    expectError(
      () => resolveOptions(new URL('amqp://host'), { tls: {} }),
      TypeError,
      /use an amqps:\/\/ URL/,
    );
  });

  test('amqp: with tls: false is plaintext', () => {
    expect(resolveOptions('amqp://host', { tls: false }).tls).toBeUndefined();
  });

  test('options alone: tls true or an object turns TLS on, with port 5671 unless given', () => {
    expect(resolveOptions({ tls: true })).toMatchObject({ tls: {}, port: 5671 });
    expect(resolveOptions({ tls: { ca } })).toMatchObject({ tls: { ca }, port: 5671 });
    expect(resolveOptions({ tls: true, port: 5000 })).toMatchObject({ tls: {}, port: 5000 });
    expect(resolveOptions({ tls: false })).toMatchObject({ tls: undefined, port: 5672 });
    expect(resolveOptions(undefined, { tls: true }).port).toBe(5671);
  });
});

describe('resolveOptions: URL errors, none of which shows the password', () => {
  const user = `user:${SECRET}`;
  const cases: [string, string, typeof TypeError | typeof RangeError, RegExp][] = [
    ['bad scheme', `http://${user}@host/`, TypeError, /scheme "http:"/],
    ['bad scheme, amqp-ish', `amqpx://${user}@host/`, TypeError, /scheme "amqpx:"/],
    ['no scheme', `//${user}@host/`, TypeError, /must start with amqp:\/\//],
    ['no scheme, user info first', `${user}@host`, TypeError, /scheme "user:"/],
    ['no "//"', `amqp:${user}@host/`, TypeError, /"\/\/"/],
    ['one "/"', `amqp:/${user}@host/`, TypeError, /"\/\/"/],
    ['empty', '', TypeError, /empty/],
    ['blank', '   ', TypeError, /empty/],
    ['a space inside', `amqp://${user}@ho st/`, TypeError, /space/],
    ['a control character inside', `amqp://${user}@host/\u0000`, TypeError, /control/],
    ['port not a number', `amqp://${user}@host:56x2/`, TypeError, /port .*not a number/],
    ['port negative', `amqp://${user}@host:-1/`, TypeError, /port .*not a number/],
    ['port zero', `amqp://${user}@host:0/`, RangeError, /port .*1 to 65535, got "0"/],
    ['port too big', `amqp://${user}@host:65536/`, RangeError, /port .*got "65536"/],
    ['port huge', `amqp://${user}@host:99999999999999999999/`, RangeError, /port/],
    ['IPv6 unclosed', `amqp://${user}@[::1/`, TypeError, /"\]"/],
    ['IPv6 junk after', `amqp://${user}@[::1]x/`, TypeError, /IPv6/],
    ['IPv6 not an address', `amqp://${user}@[not-v6]/`, TypeError, /not an IPv6 address/],
    ['IPv6 without brackets', `amqp://${user}@::1/`, TypeError, /IPv6 address in "\[\]"/],
    ['two "@"', `amqp://us@er:${SECRET}@host/`, TypeError, /more than one "@"/],
    ['"@" in the password', `amqp://user:${SECRET}@x@host/`, TypeError, /more than one "@"/],
    ['bad escape in password', `amqp://${user}%zz@host/`, TypeError, /password .*percent/],
    ['bad UTF-8 in password', `amqp://${user}%ff@host/`, TypeError, /password .*UTF-8/],
    ['bad escape in user', `amqp://us%er:${SECRET}@host/`, TypeError, /user name .*percent/],
    ['bad escape in host', `amqp://${user}@ho%st/`, TypeError, /host .*percent/],
    ['bad escape in vhost', `amqp://${user}@host/v%`, TypeError, /vhost .*percent/],
    ['vhost with "/"', `amqp://${user}@host/a/b`, TypeError, /single path segment.*%2F/],
    ['vhost "//"', `amqp://${user}@host//`, TypeError, /single path segment/],
    ['fragment', `amqp://${user}@host/vh#frag`, TypeError, /fragment/],
    ['unknown parameter', `amqp://${user}@host/?heartbeet=5`, TypeError, /"heartbeet"/],
    ['unknown parameter, case', `amqp://${user}@host/?Heartbeat=5`, TypeError, /"Heartbeat"/],
    ['TLS parameter', `amqps://${user}@host/?cacertfile=/ca.pem`, TypeError, /tls option/],
    ['"password" parameter', `amqp://${user}@host/?password=${SECRET}`, TypeError, /"password"/],
    ['bad escape in name', `amqp://${user}@host/?a%zz=1`, TypeError, /query parameter name/],
    [
      'bad escape in value',
      `amqp://${user}@host/?connection_name=%zz`,
      TypeError,
      /connection_name .*percent/,
    ],
    [
      'repeated parameter',
      `amqp://${user}@host/?heartbeat=5&heartbeat=6`,
      TypeError,
      /more than once/,
    ],
    ['heartbeat negative', `amqp://${user}@host/?heartbeat=-1`, RangeError, /heartbeat .*"-1"/],
    ['heartbeat text', `amqp://${user}@host/?heartbeat=abc`, RangeError, /heartbeat .*"abc"/],
    ['heartbeat fraction', `amqp://${user}@host/?heartbeat=1.5`, RangeError, /heartbeat/],
    ['heartbeat exponent', `amqp://${user}@host/?heartbeat=1e3`, RangeError, /heartbeat/],
    ['heartbeat hex', `amqp://${user}@host/?heartbeat=0x10`, RangeError, /heartbeat/],
    ['heartbeat empty', `amqp://${user}@host/?heartbeat=`, RangeError, /heartbeat .*got ""/],
    ['heartbeat no value', `amqp://${user}@host/?heartbeat`, RangeError, /heartbeat/],
    ['heartbeat spaced', `amqp://${user}@host/?heartbeat=+5`, RangeError, /heartbeat/],
    ['heartbeat too big', `amqp://${user}@host/?heartbeat=65536`, RangeError, /0 to 65535/],
    ['frame_max too small', `amqp://${user}@host/?frame_max=4095`, RangeError, /frame_max .*4096/],
    ['frame_max too big', `amqp://${user}@host/?frame_max=4294967296`, RangeError, /frame_max/],
    ['channel_max too big', `amqp://${user}@host/?channel_max=65536`, RangeError, /channel_max/],
    [
      'connection_timeout 0',
      `amqp://${user}@host/?connection_timeout=0`,
      RangeError,
      /connection_timeout .*1 to/,
    ],
    [
      'connection_timeout too big',
      `amqp://${user}@host/?connection_timeout=2147483648`,
      RangeError,
      /connection_timeout/,
    ],
    [
      'auth_mechanism unknown',
      `amqp://${user}@host/?auth_mechanism=CRAM-MD5`,
      RangeError,
      /auth_mechanism .*PLAIN, AMQPLAIN, EXTERNAL.*"CRAM-MD5"/,
    ],
    ['auth_mechanism empty', `amqp://${user}@host/?auth_mechanism=`, RangeError, /auth_mechanism/],
  ];

  test.each(cases)('%s', (_name, url, type, pattern) => {
    expectError(() => resolveOptions(url), type, pattern);
  });

  test.each(cases)('%s, with the password fully percent-encoded', (_name, url, type) => {
    const encoded = url.replace(SECRET, SECRET_ENCODED);
    expectError(() => resolveOptions(encoded), type, /./);
  });

  test.each(cases)('%s, as a URL object when one can be made', (_name, url, type) => {
    let object: URL;
    try {
      object = new URL(url);
    } catch {
      return;
    }
    if (object.href !== url) return; // WHATWG rewrote it; the string cases cover that input
    expectError(() => resolveOptions(object), type, /./);
  });

  // A "/", "?" or "#" left unescaped in a password cuts the user info short, so
  // pieces of the password land in the port, the path or the query.
  const unescaped: [string, string, RegExp][] = [
    ['"/" in the password', 'amqp://user:s3cr3t/PW@host/', /"@" after the host.*%40/],
    ['"?" in the password', 'amqp://user:s3cr3t?PW@host/', /"@" after the host/],
    ['"#" in the password', 'amqp://user:s3cr3t#PW@host/', /"@" after the host/],
    ['"/" after digits', 'amqp://user:123/s3cr3t-PW@host/', /"@" after the host/],
    ['"/" after digits, one segment', 'amqp://user:123/s3cr3t-PW@host', /"@" after the host/],
    ['"?" after digits', 'amqp://user:123?s3cr3t-PW@host/', /"@" after the host/],
    ['"?" and a known name', 'amqp://user:1?heartbeat=s3cr3t-PW@host', /"@" after the host/],
    ['a bad "port" first', 'amqp://user:99999?s3cr3t-PW@host', /"@" after the host/],
    ['"@" and "/" in the password', 'amqp://user:s3@cr3t/PW@host', /"@" after the host/],
    ['"@" and "?" in the password', 'amqp://user:s3@cr3t?x=y@host', /"@" after the host/],
    ['"/" in the user name', 'amqp://us/er:s3cr3t-PW@host/', /"@" after the host/],
    ['":" and "/" in the password', 'amqp://user:s3:cr3t/PW@host', /"@" after the host/],
    ['"@" in a vhost', `amqp://user:${SECRET}@host/v@h`, /"@" after the host/],
    ['"@" in a query value', `amqp://user:${SECRET}@host/?connection_name=a@b`, /%40/],
  ];

  test.each(unescaped)('%s', (_name, url, pattern) => {
    const error = thrown(() => resolveOptions(url)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(pattern);
    expectNoSecret(error.message);
    expectNoSecret(inspect(error));
  });
});

describe('resolveOptions: option errors, none of which shows the password', () => {
  const cases: [string, unknown, typeof TypeError | typeof RangeError, RegExp][] = [
    ['hostname', 5, TypeError, /hostname must be a string, got number/],
    ['hostname', '', TypeError, /hostname must not be empty/],
    ['hostname', '[::1]', TypeError, /hostname .*without brackets/],
    ['hostname', 'ho st', TypeError, /hostname is not a host name/],
    ['hostname', 'ho%61st', TypeError, /hostname is not a host name/],
    ['hostname', 'a..b', TypeError, /hostname has an empty label/],
    ['hostname', '127.1', TypeError, /hostname ends in a number, so it must be an IPv4 address/],
    ['hostname', 'zz:1', TypeError, /hostname has a ":" but is not an IPv6 address/],
    ['hostname', '::1%', TypeError, /not an IPv6 address/],
    ['port', '5672', TypeError, /port must be a number, got string/],
    ['port', 0, RangeError, /port must be an integer from 1 to 65535, got 0/],
    ['port', 65536, RangeError, /port .*got 65536/],
    ['port', 1.5, RangeError, /port/],
    ['port', Number.NaN, RangeError, /port/],
    ['username', 1, TypeError, /username must be a string/],
    ['username', null, TypeError, /username must be a string, got null/],
    ['password', 1, TypeError, /password must be a string, got number/],
    ['password', [SECRET], TypeError, /password must be a string, got an array/],
    ['password', { toString: () => SECRET }, TypeError, /password must be a string, got object/],
    ['vhost', null, TypeError, /vhost must be a string/],
    ['tls', 'yes', TypeError, /tls must be true, false or an object/],
    ['tls', null, TypeError, /tls must be/],
    ['tls', [], TypeError, /tls must be/],
    ['heartbeat', '60', TypeError, /heartbeat must be a number/],
    ['heartbeat', -1, RangeError, /heartbeat must be an integer from 0 to 65535, got -1/],
    ['heartbeat', 65536, RangeError, /heartbeat/],
    ['heartbeat', 0.5, RangeError, /heartbeat/],
    ['frameMax', 4095, RangeError, /frameMax must be 0 \(no limit\) or an integer from 4096/],
    ['frameMax', 1, RangeError, /frameMax/],
    ['frameMax', 2 ** 32, RangeError, /frameMax .*4294967295/],
    ['frameMax', 5000.5, RangeError, /frameMax/],
    ['channelMax', -1, RangeError, /channelMax/],
    ['channelMax', 65536, RangeError, /channelMax .*65535/],
    ['connectionTimeout', 0, RangeError, /connectionTimeout must be an integer from 1/],
    ['connectionTimeout', -5, RangeError, /connectionTimeout/],
    ['connectionTimeout', 2 ** 31, RangeError, /connectionTimeout .*2147483647/],
    ['connectionTimeout', Number.POSITIVE_INFINITY, RangeError, /connectionTimeout/],
    ['connectionTimeout', '10s', TypeError, /connectionTimeout must be a number/],
    ['connectionName', 5, TypeError, /connectionName must be a string/],
    ['mechanism', 'plain', RangeError, /mechanism must be one of PLAIN, AMQPLAIN, EXTERNAL/],
    ['mechanism', 'CRAM-MD5', RangeError, /"CRAM-MD5"/],
    ['mechanism', 5, TypeError, /mechanism must be a string/],
    ['maxBodySize', 0, RangeError, /maxBodySize must be an integer from 1/],
    ['maxBodySize', 1.5, RangeError, /maxBodySize/],
    ['maxBodySize', 2 ** 60, RangeError, /maxBodySize/],
    ['maxBodySize', '1', TypeError, /maxBodySize must be a number/],
    [
      'maxBufferedDeliveryBytes',
      0,
      RangeError,
      /maxBufferedDeliveryBytes must be an integer from 1/,
    ],
    ['maxBufferedDeliveryBytes', 1.5, RangeError, /maxBufferedDeliveryBytes/],
    ['maxBufferedDeliveryBytes', '64', TypeError, /maxBufferedDeliveryBytes must be a number/],
    ['maxBufferedDeliveryBytes', null, TypeError, /maxBufferedDeliveryBytes must be a number/],
    ['maxBufferedPublishBytes', 0, RangeError, /maxBufferedPublishBytes must be an integer from 1/],
    ['maxBufferedPublishBytes', 2 ** 60, RangeError, /maxBufferedPublishBytes/],
    ['maxBufferedPublishBytes', '64', TypeError, /maxBufferedPublishBytes must be a number/],
    ['clientProperties', [], TypeError, /clientProperties must be a plain object, got an array/],
    ['clientProperties', new Map(), TypeError, /clientProperties must be a plain object/],
    ['clientProperties', 'x', TypeError, /clientProperties must be a plain object/],
    ['clientProperties', null, TypeError, /clientProperties must be a plain object/],
    ['clientProperties', { f: () => 1 }, TypeError, /clientProperties\.f/],
  ];

  test.each(cases)('%s: %o', (name, value, type, pattern) => {
    const options = { password: SECRET, [name]: value } as unknown as ConnectOptions;
    expectError(() => resolveOptions(options), type, pattern);
    expectError(() => resolveOptions(`amqp://user:${SECRET}@host/`, options), type, pattern);
  });

  test('bad arguments', () => {
    expectError(() => resolveOptions(42 as unknown as string), TypeError, /got number/);
    expectError(() => resolveOptions(null as unknown as string), TypeError, /got null/);
    expectError(
      () => resolveOptions({ password: SECRET }, { password: SECRET }),
      TypeError,
      /options were given twice/,
    );
    expectError(
      () => resolveOptions(`amqp://u:${SECRET}@host`, 'heartbeat=5' as unknown as ConnectOptions),
      TypeError,
      /options must be an object, got string/,
    );
    expectError(
      () => resolveOptions(undefined, [] as unknown as ConnectOptions),
      TypeError,
      /options must be an object, got an array/,
    );
  });

  test('the URL is checked before the options', () => {
    expectError(() => resolveOptions('http://host', { port: 0 }), TypeError, /scheme/);
  });
});

describe('resolveConnectOptions', () => {
  test('the connection’s options, its address first in hosts, recovery on', () => {
    const resolved = resolveConnectOptions('amqp://u:p@a:6000/vh?heartbeat=5', { hosts: ['b'] });
    expect(resolved.options).toEqual(resolveOptions('amqp://u:p@a:6000/vh?heartbeat=5'));
    expect(resolved.hosts).toEqual([
      { hostname: 'a', port: 6000 },
      { hostname: 'b', port: 6000 },
    ]);
    expect(resolved.recovery).toMatchObject({ initialDelay: 100, maxAttempts: Infinity });
    expect(resolved.credentials).toBeUndefined();
    expect(resolved.signal).toBeUndefined();
    expect(Object.isFrozen(resolved)).toBe(true);
  });

  test('options alone, with recovery off, credentials and a signal', () => {
    const credentials = () => ({ password: 'token' });
    const { signal } = new AbortController();
    const resolved = resolveConnectOptions({
      hostname: 'a',
      recovery: false,
      credentials,
      signal,
      heartbeat: 7,
    });
    expect(resolved).toMatchObject({ recovery: null, credentials, signal });
    expect(resolved.options.heartbeat).toBe(7);
    expect(resolved.hosts).toEqual([{ hostname: 'a', port: 5672 }]);
  });

  test.each([
    ['credentials', 'x', TypeError, /credentials must be a function/],
    ['signal', {}, TypeError, /signal must be an AbortSignal, got object/],
    ['recovery', 'yes', TypeError, /recovery must be an options object or false/],
    ['recovery', { maxAttempts: 0 }, RangeError, /recovery\.maxAttempts/],
    ['hosts', ['a:0'], RangeError, /port in hosts\[0\]/],
    ['heartbeat', -1, RangeError, /heartbeat/],
  ])('%s: %o', (name, value, type, pattern) => {
    const options = { password: SECRET, [name]: value } as never;
    expectError(() => resolveConnectOptions(options), type, pattern);
    expectError(() => resolveConnectOptions(`amqp://u:${SECRET}@host`, options), type, pattern);
  });

  test('the URL is checked first, then the options, then hosts', () => {
    expectError(
      () => resolveConnectOptions(`http://u:${SECRET}@host`, { port: 0, hosts: [''] }),
      TypeError,
      /scheme/,
    );
    expectError(() => resolveConnectOptions({ port: 0, hosts: [''] }), RangeError, /port must be/);
  });
});

describe('redactUrl', () => {
  test.each([
    [`amqp://user:${SECRET}@host:5672/vh`, 'amqp://user:***@host:5672/vh'],
    [`amqps://user:${SECRET}@host`, 'amqps://user:***@host'],
    [`amqp://user:${SECRET_ENCODED}@host/`, 'amqp://user:***@host/'],
    [`amqp://:${SECRET}@host/`, 'amqp://:***@host/'],
    ['amqp://user:@host', 'amqp://user:***@host'],
    [`amqp://user:${SECRET}@[::1]:5672/?heartbeat=5`, 'amqp://user:***@[::1]:5672/?heartbeat=5'],
    [
      `amqp://user:${SECRET}@host/?connection_name=a%40b:c`,
      'amqp://user:***@host/?connection_name=a%40b:c',
    ],
    // Unescaped delimiters in the password: everything up to the last "@" goes.
    ['amqp://user:s3cr3t@PW@host/', 'amqp://user:***@host/'],
    ['amqp://user:s3@cr3t/PW@host/', 'amqp://user:***@host/'],
    ['amqp://user:s3cr3t/PW@host/', 'amqp://user:***@host/'],
    ['amqp://user:s3cr3t?PW@host/', 'amqp://user:***@host/'],
    ['amqp://user:s3cr3t#PW@host/', 'amqp://user:***@host/'],
    ['amqp://user:123/s3cr3t-PW@host/vh', 'amqp://user:***@host/vh'],
    // No scheme, or not a URL at all.
    [`user:${SECRET}@host`, 'user:***@host'],
    [`amqp:/user:${SECRET}@host`, 'amqp:***@host'],
  ])('%s', (url, redacted) => {
    expect(redactUrl(url)).toBe(redacted);
    expectNoSecret(redactUrl(url));
  });

  test.each([
    'amqp://host',
    'amqp://host:5672/vh',
    'amqp://user@host:5672/vh',
    'amqp://[::1]:5672',
    'amqp://host/?connection_name=a@b',
    'amqp://',
    'not a url',
    '',
  ])('%s has no password and comes back unchanged', (url) => {
    expect(redactUrl(url)).toBe(url);
  });

  test('property: any password, encoded or not, is hidden', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (password) => {
        expect(redactUrl(`amqp://user:${encodeURIComponent(password)}@host/vh`)).toBe(
          'amqp://user:***@host/vh',
        );
        expect(redactUrl(`amqp://user:${password}@host/vh`)).toBe('amqp://user:***@host/vh');
      }),
    );
  });
});

describe('describeEndpoint', () => {
  test('defaults', () => {
    expect(describeEndpoint(resolveOptions())).toBe('amqp://guest@localhost:5672/%2F');
  });

  test('never the password', () => {
    const text = describeEndpoint(resolveOptions(`amqp://user:${SECRET}@host:1234/vh`));
    expect(text).toBe('amqp://user@host:1234/vh');
    expectNoSecret(text);
    expectNoSecret(describeEndpoint(resolveOptions({ password: SECRET, tls: true })));
  });

  test('no user name with EXTERNAL: the client certificate names the user', () => {
    expect(describeEndpoint(resolveOptions('amqps://host?auth_mechanism=external'))).toBe(
      'amqps://host:5671/%2F',
    );
  });

  test('amqps when TLS is on', () => {
    expect(describeEndpoint(resolveOptions('amqps://host'))).toBe('amqps://guest@host:5671/%2F');
    expect(describeEndpoint(resolveOptions({ tls: { ca: 'x' }, port: 6000 }))).toBe(
      'amqps://guest@localhost:6000/%2F',
    );
  });

  test('IPv6 in brackets, user name and vhost encoded', () => {
    expect(
      describeEndpoint(resolveOptions({ hostname: '::1', username: 'a@b:c', vhost: 'x/y z' })),
    ).toBe('amqp://a%40b%3Ac@[::1]:5672/x%2Fy%20z');
    expect(describeEndpoint(resolveOptions('amqp://[fe80::1%25eth0]'))).toBe(
      'amqp://guest@[fe80::1%25eth0]:5672/%2F',
    );
  });

  test('what it describes parses back to the same place', () => {
    const resolved = resolveOptions(
      `amqps://us%2Fer:${SECRET}@[2001:db8::1]:5999/caf%C3%A9%2Fbar?heartbeat=5`,
    );
    const again = resolveOptions(describeEndpoint(resolved));
    expect(again).toMatchObject({
      hostname: resolved.hostname,
      port: resolved.port,
      username: resolved.username,
      vhost: resolved.vhost,
      tls: {},
    });
  });
});

describe('property: encoded parts parse back', () => {
  /** Characters with a meaning in URLs, plus space, "+", "%" and a few non-ASCII ones. */
  const special = fc.constantFrom(
    ...":/?#[]@!$&'()*+,;=% %25%2F~-._",
    'é',
    '☃',
    '𝄞',
    '\u0000',
    '\n',
  );
  const unit = fc.oneof(special, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }));
  const part = fc.string({ unit, maxLength: 12 });

  test('username, password and vhost survive encodeURIComponent and parsing', () => {
    fc.assert(
      fc.property(part, part, part, fc.boolean(), (username, password, vhost, secure) => {
        const scheme = secure ? 'amqps' : 'amqp';
        const e = encodeURIComponent;
        const url = `${scheme}://${e(username)}:${e(password)}@host:5999/${e(vhost)}`;
        expect(resolveOptions(url)).toMatchObject({
          username,
          password,
          // Warren's deviation: an empty path segment is the default vhost.
          vhost: vhost === '' ? '/' : vhost,
          hostname: 'host',
          port: 5999,
        });
        // describeEndpoint makes a URL that parses back too (without the password).
        if (vhost !== '') {
          expect(resolveOptions(describeEndpoint(resolveOptions(url)))).toMatchObject({
            username,
            vhost,
          });
        }
      }),
    );
  });

  test('connection_name survives encodeURIComponent and parsing', () => {
    fc.assert(
      fc.property(part, (name) => {
        const url = `amqp://host/?connection_name=${encodeURIComponent(name)}`;
        expect(resolveOptions(url).connectionName).toBe(name);
      }),
    );
  });
});
