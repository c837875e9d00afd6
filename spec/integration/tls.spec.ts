/**
 * TLS end to end: `amqps://` against nodes of our own with a TLS listener, and certificates made
 * here with the `openssl` CLI (OpenSSL 3): a CA, a server certificate it signed for `localhost`
 * and `127.0.0.1`, an expired one, client certificates, and an unrelated CA. The broker's
 * certificate is always verified: a missing or wrong CA, a wrong host name and an expired
 * certificate must fail the connection, never fall back to trusting it.
 *
 * Three nodes, started together: the main one (no client certificate asked for), one serving
 * the expired certificate, and one that requires a client certificate and offers SASL EXTERNAL
 * (`rabbitmq_auth_mechanism_ssl`, the login is the certificate's common name).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConnectCallOptions,
  type Connection,
  ConnectionError,
  connect,
} from '../../lib/index.js';
import { uniqueName } from '../support/amqp-helpers.js';
import { type Broker, resolveRunAs, startBroker } from '../support/broker.js';

const execFileAsync = promisify(execFile);

/** A new P-256 key, unencrypted: fast to make and accepted by Node and Erlang alike. */
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-noenc'];

/**
 * Why Node refuses the broker's chain without our CA: RabbitMQ (Erlang's ssl) sends the CA from
 * `cacertfile` after its certificate, a self-signed root Node does not trust. (A broker sending its
 * certificate alone would give UNABLE_TO_VERIFY_LEAF_SIGNATURE.)
 */
const UNTRUSTED_CHAIN = 'SELF_SIGNED_CERT_IN_CHAIN';

/**
 * A handshake_failure alert from the peer. The code is OpenSSL's text, which differs between its
 * versions: `ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE` with 3.0 (Node 20),
 * `ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE` with 3.5 (Node 22 and 24). The alert is what counts.
 */
const HANDSHAKE_FAILURE_ALERT = /^ERR_SSL_\S+_ALERT_HANDSHAKE_FAILURE$/;

/** The user that the client certificate `client.pem` logs in as with SASL EXTERNAL. */
const CLIENT_USER = 'warren-client';

let certDir: string | undefined;
let broker: Broker;
let tlsPort: number;
/** The node serving `expired.pem`. */
let expiredBroker: Broker | undefined;
/** The node that requires a client certificate and offers EXTERNAL. */
let mutualBroker: Broker | undefined;
let ca: Buffer;
let otherCa: Buffer;
/** Signed by `ca`, for CLIENT_USER. */
let client: { cert: Buffer; key: Buffer };
/** Signed by `ca`, for a user that does not exist. */
let stranger: { cert: Buffer; key: Buffer };
/** Signed by `other-ca`, for CLIENT_USER. */
let forged: { cert: Buffer; key: Buffer };

async function openssl(cwd: string, ...args: string[]): Promise<void> {
  try {
    await execFileAsync('openssl', args, { cwd });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(
      `openssl ${args.join(' ')} failed (the OpenSSL 3 CLI is needed): ${stderr || (error as Error).message}`,
      { cause: error },
    );
  }
}

/** A self-signed CA in `dir`: `<name>.key` and `<name>.pem`. */
async function makeCa(dir: string, name: string, commonName: string): Promise<void> {
  await openssl(
    dir,
    'req',
    '-x509',
    ...NEW_KEY,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-subj',
    `/CN=${commonName}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
}

/** The extensions of a server certificate for `localhost` and `127.0.0.1`. */
const SERVER_EXTENSIONS = [
  'subjectAltName=DNS:localhost,IP:127.0.0.1',
  'basicConstraints=critical,CA:FALSE',
  'keyUsage=critical,digitalSignature',
  'extendedKeyUsage=serverAuth',
];

/**
 * `<name>.key` and `<name>.pem` in `dir`, signed by the CA `<caName>`: a server certificate for
 * `localhost` (`role` server), or a client certificate for `commonName` (`role` client).
 */
async function makeCertificate(
  dir: string,
  caName: string,
  name: string,
  role: 'server' | 'client',
  commonName = 'localhost',
): Promise<void> {
  const extensions =
    role === 'server'
      ? SERVER_EXTENSIONS
      : [
          'basicConstraints=critical,CA:FALSE',
          'keyUsage=critical,digitalSignature',
          'extendedKeyUsage=clientAuth',
        ];
  await openssl(
    dir,
    'req',
    '-x509',
    ...NEW_KEY,
    '-CA',
    `${caName}.pem`,
    '-CAkey',
    `${caName}.key`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-subj',
    `/CN=${commonName}`,
    ...extensions.flatMap((extension) => ['-addext', extension]),
  );
}

/**
 * `<name>.key` and `<name>.pem` in `dir`: a server certificate for `localhost`, signed by the CA
 * `<caName>`, that expired in 2024. OpenSSL 3.0's `req -x509` and `x509 -req` cannot set the
 * validity's start (`-not_before` came with 3.4), so `openssl ca` signs it, with a throwaway
 * database in `dir`.
 */
async function makeExpiredServerCertificate(
  dir: string,
  caName: string,
  name: string,
): Promise<void> {
  await fs.writeFile(
    path.join(dir, 'signer.cnf'),
    [
      '[ca]',
      'default_ca = signer',
      '[signer]',
      'database = signer-index.txt',
      'new_certs_dir = .',
      'rand_serial = yes',
      'default_md = sha256',
      'policy = any',
      'unique_subject = no',
      'x509_extensions = server',
      '[any]',
      'commonName = supplied',
      '[server]',
      ...SERVER_EXTENSIONS.map((extension) => extension.replace('=', ' = ')),
      '',
    ].join('\n'),
  );
  await fs.writeFile(path.join(dir, 'signer-index.txt'), '');
  await openssl(
    dir,
    'req',
    '-new',
    ...NEW_KEY,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    '/CN=localhost',
  );
  await openssl(
    dir,
    'ca',
    '-batch',
    '-notext',
    '-config',
    'signer.cnf',
    '-cert',
    `${caName}.pem`,
    '-keyfile',
    `${caName}.key`,
    '-in',
    `${name}.csr`,
    '-out',
    `${name}.pem`,
    '-startdate',
    '20240101000000Z',
    '-enddate',
    '20240102000000Z',
  );
}

beforeAll(async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warren-tls-'));
  certDir = dir;
  await makeCa(dir, 'ca', 'warren test CA');
  await makeCa(dir, 'other-ca', 'warren unrelated CA');
  await makeCertificate(dir, 'ca', 'server', 'server');
  await makeExpiredServerCertificate(dir, 'ca', 'expired');
  await makeCertificate(dir, 'ca', 'client', 'client', CLIENT_USER);
  await makeCertificate(dir, 'ca', 'stranger', 'client', 'warren-nobody');
  await makeCertificate(dir, 'other-ca', 'forged', 'client', CLIENT_USER);
  // The node runs as `rabbitmq` when we are root, and must read the key (mode 0600).
  const runAs = await resolveRunAs();
  if (runAs !== undefined) {
    for (const file of [dir, ...(await fs.readdir(dir)).map((name) => path.join(dir, name))]) {
      await fs.chown(file, runAs.uid, runAs.gid);
    }
  }
  ca = await fs.readFile(path.join(dir, 'ca.pem'));
  otherCa = await fs.readFile(path.join(dir, 'other-ca.pem'));
  const keyPair = async (name: string) => ({
    cert: await fs.readFile(path.join(dir, `${name}.pem`)),
    key: await fs.readFile(path.join(dir, `${name}.key`)),
  });
  client = await keyPair('client');
  stranger = await keyPair('stranger');
  forged = await keyPair('forged');

  const serving = (name: string) => ({
    certFile: path.join(dir, `${name}.pem`),
    keyFile: path.join(dir, `${name}.key`),
    caFile: path.join(dir, 'ca.pem'),
  });
  // Together: each node takes about 4 s to start.
  const [main, expired, mutual] = await Promise.allSettled([
    startBroker({ tls: serving('server') }),
    startBroker({ tls: serving('expired') }),
    startBroker({
      tls: { ...serving('server'), verifyPeer: true },
      plugins: ['rabbitmq_auth_mechanism_ssl'],
      extraConfig: [
        'auth_mechanisms.1 = EXTERNAL',
        'auth_mechanisms.2 = PLAIN',
        'ssl_cert_login_from = common_name',
      ],
    }),
  ]);
  if (main.status === 'fulfilled') broker = main.value;
  if (expired.status === 'fulfilled') expiredBroker = expired.value;
  if (mutual.status === 'fulfilled') mutualBroker = mutual.value;
  for (const result of [main, expired, mutual]) {
    if (result.status === 'rejected') throw result.reason;
  }
  if (broker.tlsPort === undefined) throw new Error('startBroker gave no TLS port');
  tlsPort = broker.tlsPort;

  // EXTERNAL logs in as an existing user (the password is never asked for).
  const ctl = started(mutualBroker).rabbitmqctl;
  await ctl('add_user', CLIENT_USER, 'unused-password');
  await ctl('set_permissions', '-p', '/', CLIENT_USER, '.*', '.*', '.*');
});

afterAll(async () => {
  await Promise.all([broker?.stop(), expiredBroker?.stop(), mutualBroker?.stop()]);
  if (certDir !== undefined) await fs.rm(certDir, { recursive: true, force: true });
});

function tlsUrl(host = 'localhost'): string {
  return `amqps://guest:guest@${host}:${tlsPort}/`;
}

function started(node: Broker | undefined): Broker & { tlsPort: number } {
  if (node?.tlsPort === undefined) throw new Error('the node did not start with a TLS port');
  return node as Broker & { tlsPort: number };
}

/** The TLS URL of the node that requires client certificates; no credentials. */
function mutualUrl(): string {
  return `amqps://localhost:${started(mutualBroker).tlsPort}/`;
}

/** What connecting rejects with; a connection that opens after all is closed before failing. */
async function refusal(
  url: string,
  tls?: ConnectionOptions,
  options: ConnectCallOptions = {},
): Promise<unknown> {
  let connection: Connection;
  try {
    connection = await connect(url, tls === undefined ? options : { ...options, tls });
  } catch (error) {
    return error;
  }
  await connection.close();
  throw new Error(`expected connecting to ${url} to be refused, but it connected`);
}

/**
 * Checks `error` is the ConnectionError for a failed TLS handshake, caused by an error whose code
 * is `causeCode` (or matches it).
 */
function expectTlsFailure(error: unknown, causeCode: string | RegExp): void {
  expect(error).toBeInstanceOf(ConnectionError);
  const failure = error as ConnectionError;
  expect(failure.code).toBe('CONNECTION_FAILED');
  expect(failure.message).toMatch(/^could not connect to \S+:\d+: /);
  expect(failure.cause).toBeInstanceOf(Error);
  const code = (failure.cause as NodeJS.ErrnoException).code;
  if (typeof causeCode === 'string') expect(code).toBe(causeCode);
  else expect(code).toMatch(causeCode);
}

/**
 * Checks `error` is the ConnectionError for a TLS connection that the broker ended after the
 * client's side of the TLS handshake, with a `causeCode` alert (TLS 1.3 client certificates).
 */
function expectHandshakeLoss(error: unknown, causeCode: string): void {
  expect(error).toBeInstanceOf(ConnectionError);
  const failure = error as ConnectionError;
  expect(failure.code).toBe('CONNECTION_FAILED');
  expect(failure.message).toMatch(
    /^could not connect to \S+:\d+: the broker refused the TLS connection: /,
  );
  expect(failure.cause).toBeInstanceOf(Error);
  expect((failure.cause as NodeJS.ErrnoException).code).toBe(causeCode);
}

describe('TLS against RabbitMQ', () => {
  it('connects with the CA, verifying the broker, and carries messages', async () => {
    const name = uniqueName('tls');
    const connection = await connect(tlsUrl(), { tls: { ca }, connectionName: name });
    try {
      expect(connection.isOpen).toBe(true);
      expect(String(connection)).toBe(`Connection<amqps://guest@localhost:${tlsPort}/%2F>`);
      expect(connection.serverProperties.product).toBe('RabbitMQ');

      // The same tuning as over plain TCP: TLS changes nothing in the AMQP handshake.
      const plain = await connect(`amqp://guest:guest@127.0.0.1:${broker.amqpPort}/`);
      const plainTuning = plain.tuning;
      await plain.close();
      expect(connection.tuning).toEqual(plainTuning);
      expect(connection.tuning).toMatchObject({ frameMax: 131_072, heartbeat: 60 });
      expect(connection.tuning.channelMax).toBeGreaterThan(0);

      // The broker's view: this connection is TLS.
      const listing = await broker.rabbitmqctl(
        '-q',
        '--no-table-headers',
        'list_connections',
        'client_properties',
        'ssl',
        'ssl_protocol',
      );
      const row = listing.split('\n').find((line) => line.includes(`"${name}"`));
      expect(row).toMatch(/\ttrue\ttlsv1\.[23]$/);

      const channel = await connection.openChannel({ confirm: true });
      const queue = await channel.declareQueue('', { exclusive: true });
      // A body over several frames, and so over several TLS records.
      const big = Buffer.alloc(300_000, 'tls ');
      await channel.exchange('').publish('over TLS', queue.name);
      await channel.exchange('').publish(big, queue.name);
      const first = await queue.get({ noAck: true });
      const second = await queue.get({ noAck: true });
      expect(first?.text()).toBe('over TLS');
      expect(second?.body.equals(big)).toBe(true);
      expect(await queue.get({ noAck: true })).toBeNull();
      await channel.close();
    } finally {
      await connection.close();
    }
  });

  it('refuses the broker without its CA (Node default trust store)', async () => {
    expectTlsFailure(await refusal(tlsUrl()), UNTRUSTED_CHAIN);
  });

  it('refuses the broker with an unrelated CA', async () => {
    expectTlsFailure(await refusal(tlsUrl(), { ca: otherCa }), UNTRUSTED_CHAIN);
  });

  it('checks the host name: an IP address against the IP SAN, servername against DNS SANs', async () => {
    const byIp = await connect(tlsUrl('127.0.0.1'), { tls: { ca } });
    expect(byIp.isOpen).toBe(true);
    await byIp.close();

    const named = await connect(tlsUrl('127.0.0.1'), { tls: { ca, servername: 'localhost' } });
    expect(named.isOpen).toBe(true);
    await named.close();

    expectTlsFailure(
      await refusal(tlsUrl(), { ca, servername: 'wrong.example' }),
      'ERR_TLS_CERT_ALTNAME_INVALID',
    );
    expectTlsFailure(
      await refusal(tlsUrl('127.0.0.1'), { ca, servername: 'wrong.example' }),
      'ERR_TLS_CERT_ALTNAME_INVALID',
    );
  });

  it('refuses an expired broker certificate, though the trusted CA signed it', async () => {
    const url = `amqps://guest:guest@localhost:${started(expiredBroker).tlsPort}/`;
    expectTlsFailure(await refusal(url, { ca }), 'CERT_HAS_EXPIRED');
    expectTlsFailure(
      await refusal(url.replace('localhost', '127.0.0.1'), { ca }),
      'CERT_HAS_EXPIRED',
    );
  });

  it('rejects tls with an amqp:// URL as a TypeError, before connecting', async () => {
    await expect(
      connect(`amqp://guest:guest@localhost:${tlsPort}/`, { tls: true }),
    ).rejects.toThrow(
      new TypeError(
        'the tls option asks for TLS but the URL is amqp:// (plaintext); use an amqps:// URL',
      ),
    );
  });
});

describe('SASL EXTERNAL with a client certificate', () => {
  /** The broker's row for the connection `name`: user, auth_mechanism, ssl, client_properties. */
  async function brokerView(name: string): Promise<string | undefined> {
    const listing = await started(mutualBroker).rabbitmqctl(
      '-q',
      '--no-table-headers',
      'list_connections',
      'user',
      'auth_mechanism',
      'ssl',
      'client_properties',
    );
    return listing.split('\n').find((line) => line.includes(`"${name}"`));
  }

  it("logs in as the certificate's common name, with no password", async () => {
    const name = uniqueName('external');
    const connection = await connect(mutualUrl(), {
      mechanism: 'EXTERNAL',
      tls: { ca, ...client },
      connectionName: name,
    });
    try {
      expect(connection.isOpen).toBe(true);
      expect(await brokerView(name)).toMatch(new RegExp(`^${CLIENT_USER}\tEXTERNAL\ttrue\t`));

      // The user's permissions apply: it may declare, publish and consume.
      const channel = await connection.openChannel({ confirm: true });
      const queue = await channel.declareQueue('', { exclusive: true });
      await channel.exchange('').publish('as warren-client', queue.name);
      expect((await queue.get({ noAck: true }))?.text()).toBe('as warren-client');
      await channel.close();
    } finally {
      await connection.close();
    }
  });

  it('takes EXTERNAL from the URL (auth_mechanism=external)', async () => {
    const name = uniqueName('external-url');
    const connection = await connect(`${mutualUrl()}?auth_mechanism=external`, {
      tls: { ca, ...client },
      connectionName: name,
    });
    try {
      expect(await brokerView(name)).toMatch(new RegExp(`^${CLIENT_USER}\tEXTERNAL\t`));
    } finally {
      await connection.close();
    }
  });

  it('uses PLAIN unless EXTERNAL is asked for, even with a certificate and EXTERNAL offered first', async () => {
    const name = uniqueName('plain');
    const connection = await connect(
      `amqps://guest:guest@localhost:${started(mutualBroker).tlsPort}/`,
      { tls: { ca, ...client }, connectionName: name },
    );
    try {
      expect(await brokerView(name)).toMatch(/^guest\tPLAIN\ttrue\t/);
    } finally {
      await connection.close();
    }
  });

  // Erlang's ssl refuses a missing or unknown client certificate with an alert. Under TLS 1.2 the
  // alert ends the TLS handshake, and connecting fails as for a bad broker certificate. Under
  // TLS 1.3 the client's handshake is over before the broker checks its certificate: Node has
  // already reported the socket secure, warren has started the AMQP handshake, and the alert
  // arrives on that connection; warren reports it as the failure to connect it is
  // (CONNECTION_FAILED, "the broker refused the TLS connection"). Either way the TLS alert is
  // the error's cause.

  it('without a client certificate, the broker refuses the TLS connection', async () => {
    const tls13 = await refusal(mutualUrl(), { ca }, { mechanism: 'EXTERNAL' });
    expectHandshakeLoss(tls13, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');

    const tls12 = await refusal(
      mutualUrl(),
      { ca, maxVersion: 'TLSv1.2' },
      { mechanism: 'EXTERNAL' },
    );
    expectTlsFailure(tls12, HANDSHAKE_FAILURE_ALERT);
  });

  it('refuses a client certificate from an unrelated CA in the TLS handshake', async () => {
    const tls13 = await refusal(mutualUrl(), { ca, ...forged }, { mechanism: 'EXTERNAL' });
    expectHandshakeLoss(tls13, 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA');

    const tls12 = await refusal(
      mutualUrl(),
      { ca, ...forged, maxVersion: 'TLSv1.2' },
      { mechanism: 'EXTERNAL' },
    );
    expectTlsFailure(tls12, 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA');
  });

  it('refuses EXTERNAL for a certificate whose common name is no user: ACCESS_REFUSED', async () => {
    const error = await refusal(mutualUrl(), { ca, ...stranger }, { mechanism: 'EXTERNAL' });
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({
      code: 'ACCESS_REFUSED',
      replyCode: 403,
      replyText: expect.stringMatching(/authentication mechanism EXTERNAL/),
    });
  });

  it('fails with NO_MECHANISM over plain AMQP, where the broker does not offer EXTERNAL', async () => {
    const error = await refusal(`amqp://127.0.0.1:${started(mutualBroker).amqpPort}/`, undefined, {
      mechanism: 'EXTERNAL',
    });
    expect(error).toBeInstanceOf(ConnectionError);
    const port = started(mutualBroker).amqpPort;
    expect(error).toMatchObject({
      code: 'NO_MECHANISM',
      message: `could not connect to 127.0.0.1:${port}: the broker offers PLAIN, not EXTERNAL`,
    });
  });
});
