/**
 * Whether something speaks AMQP 0-9-1 at a port, without logging in.
 */
import * as net from 'node:net';
import { HOST } from './processes.js';

/**
 * Checks whether something on `host:port` speaks AMQP 0-9-1: connects, sends the protocol header
 * `AMQP\x00\x00\x09\x01` and expects a method frame (first byte 0x01, i.e. connection.start).
 * Never rejects; resolves `false` on refusal, timeout, or any other answer.
 */
export function probeAmqp(port: number, host: string = HOST, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let settled = false;
    const finish = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('connect', () => socket.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')));
    socket.once('data', (chunk: Buffer) => finish(chunk[0] === 0x01));
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
  });
}
