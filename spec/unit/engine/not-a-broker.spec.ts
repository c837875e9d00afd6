/**
 * `connect()` to a peer that is not an AMQP broker: an HTTP server, one that
 * sends random bytes, a TLS port spoken to in plain TCP, one that closes at
 * once, and one that sends an AMQP 1.0 header. Each is a local server made
 * here; the error must say which host:port it came from and what the peer
 * seemed to be, with the code docs/connection.md lists for it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError, connect } from '../../../lib/index.js';

const servers: net.Server[] = [];

afterAll(() => {
  for (const server of servers) server.close();
});

/** A local server that treats each connection with `behave`; resolves with its port. */
async function listen(
  behave: (socket: net.Socket) => void,
  make: (listener: (socket: net.Socket) => void) => net.Server = net.createServer,
): Promise<number> {
  const server = make((socket) => {
    socket.on('error', () => {});
    behave(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

async function failure(port: number): Promise<ConnectionError> {
  const error = await connect({
    hostname: '127.0.0.1',
    port,
    recovery: false,
    connectionTimeout: 5_000,
  }).then(
    async (connection) => {
      await connection.close();
      throw new Error('connected to a peer that is not a broker');
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ConnectionError);
  return error as ConnectionError;
}

let tlsOptions: tls.TlsOptions;

beforeAll(async () => {
  // A self-signed certificate for the TLS server, made with the OpenSSL CLI.
  const dir = await mkdtemp(join(tmpdir(), 'warren-not-a-broker-'));
  try {
    await promisify(execFile)(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
      ].concat(['-keyout', 'key.pem', '-out', 'cert.pem', '-days', '1', '-subj', '/CN=localhost']),
      { cwd: dir },
    );
    tlsOptions = {
      key: await readFile(join(dir, 'key.pem')),
      cert: await readFile(join(dir, 'cert.pem')),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

describe('connect() to a peer that is not an AMQP broker', () => {
  it('an HTTP server: FRAME_ERROR, naming host:port and what answered', async () => {
    const port = await listen((socket) =>
      socket.once('data', () =>
        socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'),
      ),
    );
    const error = await failure(port);
    expect(error.code).toBe('FRAME_ERROR');
    expect(error.message).toContain(`could not connect to 127.0.0.1:${port}`);
    expect(error.message).toContain('not an AMQP 0-9-1 broker');
    expect(error.message).toContain('HTTP server ("HTTP/1.1 400 Bad');
  });

  it('random bytes: FRAME_ERROR, naming host:port and the first bytes', async () => {
    const bytes = Buffer.from('e3b0c44298fc1c149afbf4c8996fb924', 'hex');
    const port = await listen((socket) => socket.once('data', () => socket.write(bytes)));
    const error = await failure(port);
    expect(error.code).toBe('FRAME_ERROR');
    expect(error.message).toContain(`could not connect to 127.0.0.1:${port}`);
    expect(error.message).toContain('its first bytes were \\xe3\\xb0\\xc4B');
  });

  it("a TLS port in plain TCP (Node's, which closes at once): CONNECTION_LOST, naming host:port and TLS", async () => {
    const port = await listen(
      () => {},
      (listener) => tls.createServer(tlsOptions, listener),
    );
    const error = await failure(port);
    expect(error.code).toBe('CONNECTION_LOST');
    expect(error.message).toContain(`could not connect to 127.0.0.1:${port}`);
    expect(error.message).toContain('or a TLS port (use amqps://)?');
  });

  it('a TLS port that answers with an alert record: FRAME_ERROR, saying it speaks TLS', async () => {
    // A fatal alert (21), TLS 1.2 (3.3), 2 bytes: protocol_version (70).
    const alert = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]);
    const port = await listen((socket) => socket.once('data', () => socket.end(alert)));
    const error = await failure(port);
    expect(error.code).toBe('FRAME_ERROR');
    expect(error.message).toContain(`could not connect to 127.0.0.1:${port}`);
    expect(error.message).toContain('it speaks TLS (use amqps://, or the tls option)');
  });

  it('a server that closes at once: CONNECTION_LOST, naming host:port', async () => {
    for (const close of [(s: net.Socket) => s.destroy(), (s: net.Socket) => s.end()]) {
      const port = await listen(close);
      const error = await failure(port);
      expect(error.code).toBe('CONNECTION_LOST');
      expect(error.message).toContain(`could not connect to 127.0.0.1:${port}`);
      expect(error.message).toContain('closed the connection without a word');
    }
  });

  it('an AMQP 1.0 peer, which answers with its own header: FRAME_ERROR, naming host:port', async () => {
    const port = await listen((socket) =>
      socket.once('data', () => socket.end(Buffer.from('AMQP\x00\x01\x00\x00', 'latin1'))),
    );
    const error = await failure(port);
    expect(error.code).toBe('FRAME_ERROR');
    expect(error.message).toContain(`could not connect to 127.0.0.1:${port}`);
    expect(error.message).toContain('AMQP\\x00\\x01\\x00\\x00');
  });
});
