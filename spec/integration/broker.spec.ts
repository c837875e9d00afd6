import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as net from 'node:net';
import { describe, expect, inject, it } from 'vitest';
import { probeAmqp, startBroker } from '../support/broker.js';

const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0x00, 0x00, 0x09, 0x01]); // AMQP 0-9-1

/** Sends the protocol header to the URL's host and port and returns the first complete frame. */
function firstFrame(url: string): Promise<Buffer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: port === '' ? 5672 : Number(port) });
    let received = Buffer.alloc(0);
    const done = (error: Error | undefined, frame?: Buffer): void => {
      clearTimeout(timer);
      socket.destroy();
      if (frame) resolve(frame);
      else reject(error);
    };
    const timer = setTimeout(() => done(new Error('no complete frame within 5 s')), 5_000);
    socket.on('connect', () => socket.write(PROTOCOL_HEADER));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 7) return;
      const end = 7 + received.readUInt32BE(3) + 1;
      if (received.length >= end) done(undefined, received.subarray(0, end));
    });
    socket.on('error', (error) => done(error));
    socket.on('close', () =>
      done(
        new Error(`connection closed after ${received.length} bytes: ${received.toString('hex')}`),
      ),
    );
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Commands of the running processes that belong to a node: the start script, the Erlang VM and
 * its helpers. RabbitMQ 3.10 takes the node name from the environment (RABBITMQ_NODENAME), not
 * from the VM's arguments, so look at both (`ps e`) and at the node folder (the VM gets
 * `-home <dir>/home`). epmd is shared by all nodes and deliberately not counted.
 */
function processesOf(nodeName: string, dir: string): string[] {
  return execFileSync('ps', ['-e', '-ww', 'e', '-o', 'args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(`RABBITMQ_NODENAME=${nodeName} `) || line.includes(dir))
    .map((line) => line.split(' ')[0] ?? '')
    .filter((command) => !command.endsWith('epmd'));
}

describe('integration broker harness', () => {
  it('provides a broker that answers the protocol header with connection.start', async () => {
    const frame = await firstFrame(inject('amqpUrl'));

    expect(frame[0]).toBe(1); // method frame
    expect(frame.readUInt16BE(1)).toBe(0); // channel 0
    expect(frame.at(-1)).toBe(0xce); // frame end
    expect(frame.readUInt16BE(7)).toBe(10); // class: connection
    expect(frame.readUInt16BE(9)).toBe(10); // method: start
    expect([frame[11], frame[12]]).toEqual([0, 9]); // version-major, version-minor
  });

  it('starts an extra node and stops it without leaving anything behind', async () => {
    const broker = await startBroker();
    try {
      expect(broker.url).toBe(`amqp://guest:guest@127.0.0.1:${broker.amqpPort}/`);
      expect(broker.url).not.toBe(inject('amqpUrl'));
      expect(await probeAmqp(broker.amqpPort)).toBe(true);
      expect(isAlive(broker.pid)).toBe(true);
      const commands = processesOf(broker.nodeName, broker.dir);
      expect(commands.filter((command) => command.endsWith('/beam.smp'))).toHaveLength(1);
      expect(existsSync(broker.dir)).toBe(true);
      expect((await broker.rabbitmqctl('eval', 'node().')).trim()).toBe(`'${broker.nodeName}'`);
    } finally {
      await broker.stop();
    }

    expect(isAlive(broker.pid)).toBe(false);
    expect(processesOf(broker.nodeName, broker.dir)).toEqual([]);
    expect(existsSync(broker.dir)).toBe(false);
    expect(await probeAmqp(broker.amqpPort)).toBe(false);
    await expect(broker.stop()).resolves.toBeUndefined();
  }, 90_000);
});
