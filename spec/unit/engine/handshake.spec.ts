import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionError } from '../../../lib/engine/errors.js';
import { ByteReader, readTable } from '../../../lib/protocol/index.js';
import { connectedPair, createPair, destroyPairs, track } from '../../support/scripted-peer.js';
import { frameBytes } from '../helpers.js';

afterEach(destroyPairs);

/** Runs the engine's handshake against the first steps of a scripted broker; returns the rejection. */
async function rejection(promise: Promise<void>): Promise<ConnectionError> {
  const error = await promise.then(
    () => {
      throw new Error('the handshake succeeded');
    },
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(ConnectionError);
  return error as ConnectionError;
}

describe('handshake', () => {
  it('sends the protocol header, then start-ok with the client properties and PLAIN', async () => {
    const clientProperties = { product: 'unit', version: '1.2.3', capabilities: { x: true } };
    const { engine, handshake } = await connectedPair({
      clientProperties,
      username: 'alice',
      password: 's3cret',
      vhost: 'prod',
    });
    expect(handshake.startOk.clientProperties).toEqual(clientProperties);
    expect(handshake.startOk.mechanism).toBe('PLAIN');
    expect(handshake.startOk.response).toEqual(Buffer.from('\0alice\0s3cret'));
    expect(handshake.startOk.locale).toBe('en_US');
    expect(handshake.open.virtualHost).toBe('prod');
    expect(engine.isOpen).toBe(true);
    expect(engine.serverProperties).toEqual({ product: 'scripted-peer' });
  });

  it('answers with AMQPLAIN when only it is offered: a field table without its length', async () => {
    const { handshake } = await connectedPair({}, { mechanisms: 'AMQPLAIN' });
    expect(handshake.startOk.mechanism).toBe('AMQPLAIN');
    const response = handshake.startOk.response;
    const length = Buffer.alloc(4);
    length.writeUInt32BE(response.length);
    const framed = Buffer.concat([length, response]);
    const reader = new ByteReader(framed);
    expect(readTable(reader)).toEqual({ LOGIN: 'user', PASSWORD: 'pass' });
    expect(reader.remaining).toBe(0);
  });

  it('prefers PLAIN and never picks EXTERNAL unasked', async () => {
    const { handshake } = await connectedPair({}, { mechanisms: 'EXTERNAL AMQPLAIN PLAIN' });
    expect(handshake.startOk.mechanism).toBe('PLAIN');
  });

  it('uses EXTERNAL, with an empty response, when asked for it', async () => {
    const { handshake } = await connectedPair(
      { mechanism: 'EXTERNAL' },
      { mechanisms: 'PLAIN EXTERNAL' },
    );
    expect(handshake.startOk.mechanism).toBe('EXTERNAL');
    expect(handshake.startOk.response.length).toBe(0);
  });

  it.each([
    ['EXTERNAL', undefined],
    ['PLAIN AMQPLAIN', 'EXTERNAL' as const],
    ['SCRAM-SHA-256', undefined],
    ['', undefined],
  ])(
    'fails with NO_MECHANISM when the broker offers %j and warren wants %s',
    async (offered, mechanism) => {
      const { engine, peer, closes } = createPair(mechanism === undefined ? {} : { mechanism });
      const handshake = engine.handshake();
      await peer.expectProtocolHeader();
      peer.send(0, 'connection.start', {
        versionMajor: 0,
        versionMinor: 9,
        serverProperties: {},
        mechanisms: Buffer.from(offered),
        locales: Buffer.from('en_US'),
      });
      const error = await rejection(handshake);
      expect(error.code).toBe('NO_MECHANISM');
      expect(closes.map((e) => e.code)).toEqual(['NO_MECHANISM']);
      await peer.expectEnd();
      expect(peer.unread).toEqual([]);
      expect(engine.isOpen).toBe(false);
    },
  );

  describe('tuning', () => {
    const UNLIMITED_FRAME = 0xffff_ffff;
    it.each([
      // client channel_max, server channel_max → agreed
      { client: { channelMax: 0 }, server: { channelMax: 2047 }, want: { channelMax: 2047 } },
      { client: { channelMax: 10 }, server: { channelMax: 2047 }, want: { channelMax: 10 } },
      { client: { channelMax: 4000 }, server: { channelMax: 2047 }, want: { channelMax: 2047 } },
      { client: { channelMax: 100 }, server: { channelMax: 0 }, want: { channelMax: 100 } },
      { client: { channelMax: 0 }, server: { channelMax: 0 }, want: { channelMax: 65535 } },
      // frame_max
      { client: { frameMax: 0 }, server: { frameMax: 131072 }, want: { frameMax: 131072 } },
      { client: { frameMax: 8192 }, server: { frameMax: 131072 }, want: { frameMax: 8192 } },
      { client: { frameMax: 262144 }, server: { frameMax: 131072 }, want: { frameMax: 131072 } },
      { client: { frameMax: 65536 }, server: { frameMax: 0 }, want: { frameMax: 65536 } },
      { client: { frameMax: 0 }, server: { frameMax: 0 }, want: { frameMax: UNLIMITED_FRAME } },
      // heartbeat: the client's 0 turns heartbeats off whatever the server says
      { client: { heartbeat: 0 }, server: { heartbeat: 60 }, want: { heartbeat: 0 } },
      { client: { heartbeat: 10 }, server: { heartbeat: 60 }, want: { heartbeat: 10 } },
      { client: { heartbeat: 60 }, server: { heartbeat: 10 }, want: { heartbeat: 10 } },
      { client: { heartbeat: 30 }, server: { heartbeat: 0 }, want: { heartbeat: 30 } },
    ])('client $client, server $server → $want', async ({ client, server, want }) => {
      const { engine, handshake } = await connectedPair(
        { ...client },
        { tune: { channelMax: 2047, frameMax: 131072, heartbeat: 60, ...server } },
      );
      const expected = { channelMax: 2047, frameMax: 131072, heartbeat: 0, ...want };
      expect(handshake.tuneOk).toEqual(expected);
      expect(engine.tuning).toEqual(expected);
    });

    it('fails with HANDSHAKE_FAILED when the broker proposes a frame_max below 4096', async () => {
      const { engine, peer } = createPair();
      const handshake = engine.handshake();
      const broker = peer.handshake({ tune: { frameMax: 1024 } }).catch((error: unknown) => error);
      const error = await rejection(handshake);
      expect(error.code).toBe('HANDSHAKE_FAILED');
      expect(await broker).toBeInstanceOf(Error);
      expect(peer.received.some((f) => f.type === 1 && f.method.name === 'connection.open')).toBe(
        false,
      );
    });

    it('uses the agreed frame_max for what it sends and accepts', async () => {
      const { engine, peer } = await connectedPair({ frameMax: 4096 });
      // A frame larger than the agreed 4096 bytes is a FRAME_ERROR, found from its size field.
      peer.sendRaw(frameBytes(1, 0, Buffer.alloc(4089)));
      const close = await peer.expectMethod('connection.close');
      expect(close.replyCode).toBe(501);
      expect(engine.error?.code).toBe('FRAME_ERROR');
    });
  });

  it('rejects with NOT_ALLOWED when the broker answers connection.open with close 530', async () => {
    const { engine, peer, closes } = createPair({ vhost: 'nowhere' });
    const handshake = track(engine.handshake());
    await peer.expectProtocolHeader();
    peer.send(0, 'connection.start', {
      versionMajor: 0,
      versionMinor: 9,
      serverProperties: {},
      mechanisms: Buffer.from('PLAIN AMQPLAIN'),
      locales: Buffer.from('en_US'),
    });
    await peer.expectMethod('connection.start-ok');
    peer.send(0, 'connection.tune', { channelMax: 2047, frameMax: 131072, heartbeat: 0 });
    await peer.expectMethod('connection.tune-ok');
    expect((await peer.expectMethod('connection.open')).virtualHost).toBe('nowhere');
    peer.send(0, 'connection.close', {
      replyCode: 530,
      replyText: 'NOT_ALLOWED - vhost nowhere not found',
      classId: 10,
      methodId: 40,
    });
    await peer.expectMethod('connection.close-ok');
    const error = await rejection(handshake.promise);
    expect(error.code).toBe('NOT_ALLOWED');
    expect(error.replyCode).toBe(530);
    expect(error.replyText).toBe('NOT_ALLOWED - vhost nowhere not found');
    expect(error.method).toBe('connection.open');
    expect(closes).toEqual([error]);
    await peer.expectEnd();
  });

  it('rejects with ACCESS_REFUSED when the broker closes with 403 after start-ok', async () => {
    const { engine, peer } = createPair({ password: 'wrong' });
    const handshake = engine.handshake();
    await peer.expectProtocolHeader();
    peer.send(0, 'connection.start', {
      versionMajor: 0,
      versionMinor: 9,
      serverProperties: {},
      mechanisms: Buffer.from('PLAIN'),
      locales: Buffer.from('en_US'),
    });
    await peer.expectMethod('connection.start-ok');
    peer.send(0, 'connection.close', {
      replyCode: 403,
      replyText: 'ACCESS_REFUSED - Login was refused',
      classId: 0,
      methodId: 0,
    });
    const error = await rejection(handshake);
    expect(error.code).toBe('ACCESS_REFUSED');
    expect(error.replyCode).toBe(403);
    await peer.expectMethod('connection.close-ok');
  });

  it.each([
    ['before connection.start', 0],
    ['after start-ok', 1],
    ['after tune-ok', 2],
  ])('rejects with CONNECTION_LOST when the socket ends %s', async (_, steps) => {
    const { engine, peer, closes } = createPair();
    const handshake = engine.handshake();
    await peer.expectProtocolHeader();
    if (steps >= 1) {
      peer.send(0, 'connection.start', {
        versionMajor: 0,
        versionMinor: 9,
        serverProperties: {},
        mechanisms: Buffer.from('PLAIN'),
        locales: Buffer.from('en_US'),
      });
      await peer.expectMethod('connection.start-ok');
    }
    if (steps >= 2) {
      peer.send(0, 'connection.tune', { channelMax: 0, frameMax: 0, heartbeat: 0 });
      await peer.expectMethod('connection.tune-ok');
      await peer.expectMethod('connection.open');
    }
    peer.end();
    const error = await rejection(handshake);
    expect(error.code).toBe('CONNECTION_LOST');
    expect(closes.map((e) => e.code)).toEqual(['CONNECTION_LOST']);
  });

  it('rejects with CONNECTION_LOST when the socket is destroyed with an error', async () => {
    const { engine, peer } = createPair();
    const handshake = engine.handshake();
    await peer.expectProtocolHeader();
    peer.destroy(new Error('ECONNRESET'));
    const error = await rejection(handshake);
    expect(error.code).toBe('CONNECTION_LOST');
    expect(error.message).toContain('ECONNRESET');
  });

  it('fails with HANDSHAKE_FAILED on connection.secure, which warren does not speak', async () => {
    const { engine, peer, closes } = createPair();
    const handshake = engine.handshake();
    await peer.expectProtocolHeader();
    peer.send(0, 'connection.start', {
      versionMajor: 0,
      versionMinor: 9,
      serverProperties: {},
      mechanisms: Buffer.from('PLAIN'),
      locales: Buffer.from('en_US'),
    });
    await peer.expectMethod('connection.start-ok');
    peer.send(0, 'connection.secure', { challenge: Buffer.from('challenge') });
    const error = await rejection(handshake);
    expect(error.code).toBe('HANDSHAKE_FAILED');
    expect(closes.map((e) => e.code)).toEqual(['HANDSHAKE_FAILED']);
    await peer.expectEnd();
    expect(engine.isOpen).toBe(false);
  });

  it('fails with FRAME_ERROR when the peer answers with its own protocol header', async () => {
    const { engine, peer } = createPair();
    const handshake = engine.handshake();
    await peer.expectProtocolHeader();
    peer.sendRaw(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]));
    const error = await rejection(handshake);
    expect(error.code).toBe('FRAME_ERROR');
  });

  it('close() during the handshake rejects it with CONNECTION_CLOSED', async () => {
    const { engine, peer } = createPair();
    const handshake = engine.handshake();
    await peer.expectProtocolHeader();
    await engine.close();
    const error = await rejection(handshake);
    expect(error.code).toBe('CONNECTION_CLOSED');
    expect(engine.isOpen).toBe(false);
  });
});
