import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionError } from '../../../lib/engine/errors.js';
import { FRAME_END } from '../../../lib/protocol/index.js';
import {
  connectedPair,
  destroyPairs,
  openChannel,
  settle,
  track,
} from '../../support/scripted-peer.js';
import { frameBytes } from '../helpers.js';

afterEach(destroyPairs);

const PROTOCOL_CODES: Record<string, number> = {
  FRAME_ERROR: 501,
  SYNTAX_ERROR: 502,
  UNEXPECTED_FRAME: 505,
  NOT_IMPLEMENTED: 540,
};

/** A method frame with the given class and method ids and argument bytes. */
function methodFrame(channel: number, classId: number, methodId: number, args: Buffer): Buffer {
  const id = Buffer.alloc(4);
  id.writeUInt16BE(classId, 0);
  id.writeUInt16BE(methodId, 2);
  return frameBytes(1, channel, Buffer.concat([id, args]));
}

describe('garbage from the broker', () => {
  it.each([
    ['bytes that are no frame at all', Buffer.from('deadbeefdeadbeef', 'hex'), 'FRAME_ERROR'],
    [
      'a frame with a bad end octet',
      Buffer.concat([frameBytes(8, 0, Buffer.alloc(0)).subarray(0, 7), Buffer.from([0])]),
      'FRAME_ERROR',
    ],
    ['an unknown frame type', frameBytes(9, 0, Buffer.alloc(2)), 'FRAME_ERROR'],
    ['a protocol header', Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'), 'FRAME_ERROR'],
    ['a heartbeat on channel 1', frameBytes(8, 1, Buffer.alloc(0)), 'FRAME_ERROR'],
    ['an unknown method', methodFrame(0, 10, 99, Buffer.alloc(0)), 'NOT_IMPLEMENTED'],
    ['truncated method arguments', methodFrame(0, 10, 50, Buffer.from([1])), 'SYNTAX_ERROR'],
    ['a content header on channel 0', frameBytes(2, 0, Buffer.alloc(14)), 'UNEXPECTED_FRAME'],
    ['a body frame on channel 0', frameBytes(3, 0, Buffer.from('x')), 'UNEXPECTED_FRAME'],
  ])('closes with a protocol error on %s', async (_, bytes, code) => {
    const pair = await connectedPair();
    const channel = await openChannel(pair, 1);
    const call = track(
      channel.call('basic.qos', { prefetchSize: 0, prefetchCount: 1, global: false }),
    );
    await pair.peer.expectMethod('basic.qos', 1);
    expect(() => pair.peer.sendRaw(bytes)).not.toThrow();
    const close = await pair.peer.expectMethod('connection.close');
    expect(close.replyCode).toBe(PROTOCOL_CODES[code]);
    await pair.peer.expectEnd();
    await settle();
    expect(pair.closes).toHaveLength(1);
    expect(pair.closes[0]).toBeInstanceOf(ConnectionError);
    expect(pair.closes[0]?.code).toBe(code);
    expect(call.state).toBe('rejected');
    expect((call.error as ConnectionError).code).toBe(code);
    // More bytes after the failure change nothing.
    pair.peer.sendRaw(Buffer.from([1, 2, 3, FRAME_END]));
    await settle();
    expect(pair.closes).toHaveLength(1);
  });

  it('never throws out of the socket for any bytes, and closes with a protocol code', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { minLength: 1, maxLength: 4 }),
        async (chunks) => {
          const pair = await connectedPair();
          try {
            await openChannel(pair, 1);
            for (const chunk of chunks) pair.peer.sendRaw(chunk);
            // A cut tells whether the engine was still waiting for the rest of a frame.
            await settle();
            const open = pair.engine.isOpen;
            pair.peer.end();
            await settle();
            expect(pair.closes).toHaveLength(1);
            const code = pair.closes[0]?.code ?? '';
            if (open) {
              expect(code).toBe('CONNECTION_LOST');
            } else {
              expect(Object.keys(PROTOCOL_CODES)).toContain(code);
              const sent = pair.peer.received.at(-1);
              expect(sent?.type === 1 && sent.method.name).toBe('connection.close');
            }
          } finally {
            destroyPairs();
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
