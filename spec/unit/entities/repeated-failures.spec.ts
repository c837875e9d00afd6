/**
 * Recovery never loops on a failure it will meet again (recovery option
 * `maxRepeatedFailures`), against a scripted broker: the same loss right
 * after each recovery, or the same failure of each attempt once the broker
 * took the connection, ends the connection with `RECOVERY_FAILED`; failures
 * that differ do not. The same through a TCP proxy and the real broker is in
 * spec/faults/repeated-failures.spec.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectionError } from '../../../lib/index.js';
import type { ScriptedPeer } from '../../support/scripted-peer.js';
import {
  acceptReconnect,
  openChannel,
  type Scripted,
  scriptedConnection,
  teardown,
  until,
} from './harness.js';

afterEach(teardown);

const RECOVERY = { initialDelay: 1, maxDelay: 5, maxRepeatedFailures: 3 };

function closeWith(peer: ScriptedPeer, replyCode: number, replyText: string): void {
  peer.send(0, 'connection.close', { replyCode, replyText, classId: 0, methodId: 0 });
}

/** Counts what the connection reports. */
function record(s: Scripted): { events: string[]; closes: ConnectionError[] } {
  const events: string[] = [];
  const closes: ConnectionError[] = [];
  s.connection.on('disconnected', (error) => events.push(`disconnected ${error.code}`));
  s.connection.on('recovered', () => events.push('recovered'));
  s.connection.on('close', (error) => closes.push(error));
  return { events, closes };
}

describe('maxRepeatedFailures', () => {
  it('gives up when the broker closes the connection the same way right after each recovery', async () => {
    const s = await scriptedConnection(RECOVERY);
    const { events, closes } = record(s);
    closeWith(s.peer, 541, 'INTERNAL_ERROR - boom');
    for (let i = 0; i < 3; i++) {
      const peer = await acceptReconnect(s);
      await until(() => events.filter((event) => event === 'recovered').length === i + 1);
      closeWith(peer, 541, 'INTERNAL_ERROR - boom');
    }
    await until(() => closes.length === 1, 1000, 'the close');
    // The first loss came after a long uptime; the three after it came right after recoveries.
    expect(events).toEqual([
      'disconnected INTERNAL_ERROR',
      'recovered',
      'disconnected INTERNAL_ERROR',
      'recovered',
      'disconnected INTERNAL_ERROR',
      'recovered',
    ]);
    const [error] = closes as [ConnectionError];
    expect(error.code).toBe('RECOVERY_FAILED');
    expect(error.message).toContain('(INTERNAL_ERROR) came back 3 times in a row');
    expect((error.cause as ConnectionError).replyText).toBe('INTERNAL_ERROR - boom');
    expect(await s.connection.closed).toBe(error);
    // No further reconnect.
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(s.server.peers).toHaveLength(4);
  });

  it('gives up when each attempt fails the same way after its handshake', async () => {
    const s = await scriptedConnection(RECOVERY);
    await openChannel(s, 1);
    const { events, closes } = record(s);
    s.peer.destroy();
    // Each attempt's handshake succeeds, and the broker drops the connection at channel.open.
    for (let i = 0; i < 3; i++) {
      const peer = await acceptReconnect(s);
      await peer.expectMethod('channel.open', 1);
      peer.destroy();
    }
    await until(() => closes.length === 1, 1000, 'the close');
    expect(events).toEqual(['disconnected CONNECTION_LOST']);
    const [error] = closes as [ConnectionError];
    expect(error.code).toBe('RECOVERY_FAILED');
    expect((error.cause as ConnectionError).code).toBe('CONNECTION_LOST');
  });

  it('starts over when the connection got work done before it was lost again', async () => {
    const s = await scriptedConnection(RECOVERY);
    const channel = await openChannel(s, 1);
    const { events, closes } = record(s);
    closeWith(s.peer, 541, 'INTERNAL_ERROR');
    for (let i = 0; i < 4; i++) {
      const peer = await acceptReconnect(s);
      await peer.acceptChannel(1);
      await until(() => events.filter((event) => event === 'recovered').length === i + 1);
      // A publish went out on the recovered connection: it was of use before it failed.
      await channel.exchange('').publish('work', 'q');
      await peer.expectContent('basic.publish', 1);
      closeWith(peer, 541, 'INTERNAL_ERROR');
    }
    const peer = await acceptReconnect(s);
    await peer.acceptChannel(1);
    await until(() => events.filter((event) => event === 'recovered').length === 5);
    expect(closes).toEqual([]);
  });

  it('goes on while the failures differ', async () => {
    const s = await scriptedConnection(RECOVERY);
    const { events, closes } = record(s);
    closeWith(s.peer, 541, 'INTERNAL_ERROR');
    const codes: [number, string][] = [
      [320, 'CONNECTION_FORCED'],
      [541, 'INTERNAL_ERROR'],
      [320, 'CONNECTION_FORCED'],
      [541, 'INTERNAL_ERROR'],
      [320, 'CONNECTION_FORCED'],
    ];
    for (const [i, [code, text]] of codes.entries()) {
      const peer = await acceptReconnect(s);
      await until(() => events.filter((event) => event === 'recovered').length === i + 1);
      closeWith(peer, code, text);
    }
    await acceptReconnect(s);
    await until(() => events.filter((event) => event === 'recovered').length === 6);
    expect(closes).toEqual([]);
    expect(s.connection.isOpen).toBe(true);
  });
});

describe('a 530 or 403 close, by the method that caused it', () => {
  it('recovers from a 530 a channel method caused (a duplicate consumer tag)', async () => {
    const s = await scriptedConnection(RECOVERY);
    const { events, closes } = record(s);
    s.peer.send(0, 'connection.close', {
      replyCode: 530,
      replyText: "NOT_ALLOWED - attempt to reuse consumer tag 'x'",
      classId: 60,
      methodId: 20,
    });
    await acceptReconnect(s);
    await until(() => events.includes('recovered'), 1000, 'the recovery');
    expect(events).toEqual(['disconnected NOT_ALLOWED', 'recovered']);
    expect(closes).toEqual([]);
  });

  it('closes for good when a reconnect is refused its vhost at connection.open', async () => {
    const s = await scriptedConnection(RECOVERY);
    const { events, closes } = record(s);
    s.peer.destroy();
    const peer = await s.server.nextPeer();
    await peer.expectProtocolHeader();
    peer.send(0, 'connection.start', {
      versionMajor: 0,
      versionMinor: 9,
      serverProperties: {},
      mechanisms: Buffer.from('PLAIN'),
      locales: Buffer.from('en_US'),
    });
    await peer.expectMethod('connection.start-ok');
    peer.send(0, 'connection.tune', { channelMax: 2047, frameMax: 131_072, heartbeat: 0 });
    await peer.expectMethod('connection.tune-ok');
    await peer.expectMethod('connection.open');
    peer.send(0, 'connection.close', {
      replyCode: 530,
      replyText: "NOT_ALLOWED - access to vhost '/' refused for user 'guest'",
      classId: 10,
      methodId: 40,
    });
    await until(() => closes.length === 1, 1000, 'the close');
    expect(events).toEqual(['disconnected CONNECTION_LOST']);
    expect(closes[0]).toMatchObject({ code: 'NOT_ALLOWED', method: 'connection.open' });
  });
});
