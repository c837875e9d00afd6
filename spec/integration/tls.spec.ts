/**
 * TLS end to end: `amqps://` against a node of our own with a TLS listener, and certificates made
 * here with the `openssl` CLI (OpenSSL 3): a CA, a server certificate it signed for `localhost`
 * and `127.0.0.1`, and an unrelated CA. The broker's certificate is always verified: a missing or
 * wrong CA and a wrong host name must fail the connection, never fall back to trusting it.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Connection, ConnectionError, connect } from '../../lib/index.js';
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

let certDir: string | undefined;
let broker: Broker;
let tlsPort: number;
let ca: Buffer;
let otherCa: Buffer;

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

/** The broker's `server.key` and `server.pem` in `dir`, signed by the CA `<caName>`. */
async function makeServerCertificate(dir: string, caName: string): Promise<void> {
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
    'server.key',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-addext',
    'basicConstraints=critical,CA:FALSE',
    '-addext',
    'keyUsage=critical,digitalSignature',
    '-addext',
    'extendedKeyUsage=serverAuth',
  );
}

beforeAll(async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warren-tls-'));
  certDir = dir;
  await makeCa(dir, 'ca', 'warren test CA');
  await makeCa(dir, 'other-ca', 'warren unrelated CA');
  await makeServerCertificate(dir, 'ca');
  // The node runs as `rabbitmq` when we are root, and must read the key (mode 0600).
  const runAs = await resolveRunAs();
  if (runAs !== undefined) {
    for (const file of [dir, ...(await fs.readdir(dir)).map((name) => path.join(dir, name))]) {
      await fs.chown(file, runAs.uid, runAs.gid);
    }
  }
  ca = await fs.readFile(path.join(dir, 'ca.pem'));
  otherCa = await fs.readFile(path.join(dir, 'other-ca.pem'));

  broker = await startBroker({
    tls: {
      certFile: path.join(dir, 'server.pem'),
      keyFile: path.join(dir, 'server.key'),
      caFile: path.join(dir, 'ca.pem'),
    },
  });
  if (broker.tlsPort === undefined) throw new Error('startBroker gave no TLS port');
  tlsPort = broker.tlsPort;
});

afterAll(async () => {
  await broker?.stop();
  if (certDir !== undefined) await fs.rm(certDir, { recursive: true, force: true });
});

function tlsUrl(host = 'localhost'): string {
  return `amqps://guest:guest@${host}:${tlsPort}/`;
}

/** What connecting rejects with; a connection that opens after all is closed before failing. */
async function refusal(url: string, tls?: ConnectionOptions): Promise<unknown> {
  let connection: Connection;
  try {
    connection = await connect(url, tls === undefined ? {} : { tls });
  } catch (error) {
    return error;
  }
  await connection.close();
  throw new Error(`expected connecting to ${url} to be refused, but it connected`);
}

/** Checks `error` is the ConnectionError for a failed TLS handshake, caused by a `causeCode` error. */
function expectTlsFailure(error: unknown, causeCode: string): void {
  expect(error).toBeInstanceOf(ConnectionError);
  const failure = error as ConnectionError;
  expect(failure.code).toBe('CONNECTION_FAILED');
  expect(failure.message).toMatch(/^could not connect to \S+:\d+: /);
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
