/**
 * warren/testing's start of a throwaway node, when another process takes a port it picked before
 * the node binds it (two test runs starting nodes at the same moment, as CI's Node 22 and 24 runs
 * do): which failures start again on fresh ports, and which do not (ports the caller chose).
 * The failures are the broker's own words, as a failed start reports them.
 */
import { describe, expect, it } from 'vitest';
import { TestBrokerError } from '../../lib/testing/errors.js';
import { lostPortRace } from '../../lib/testing/start-broker.js';

const failed = (detail: string) =>
  new TestBrokerError(
    'BROKER_START_FAILED',
    `RabbitMQ node n@localhost (rabbitmq-server, AMQP port 39109, dist port 36173) exited before accepting AMQP (exit code 0).\n${detail}`,
  );
const distTaken = failed(
  '[error] <0.132.0>     reason: {dist_port_already_used,36173,"warren-1011-1-c75af1","localhost"}',
);
const amqpTaken = failed(
  '[error] <0.230.0> Failed to start Ranch listener {acceptor,{127,0,0,1},39109} ... eaddrinuse',
);

describe('lostPortRace', () => {
  it('starts again when a port picked here was taken', () => {
    expect(lostPortRace(distTaken, {})).toBe(true);
    expect(lostPortRace(amqpTaken, {})).toBe(true);
    // The AMQP port fixed, the dist port picked here: a taken dist port is worth another try.
    expect(lostPortRace(distTaken, { amqpPort: 5999 })).toBe(true);
  });

  it('does not when the caller chose the port, or the start failed otherwise', () => {
    expect(lostPortRace(distTaken, { distPort: 25999 })).toBe(false);
    expect(lostPortRace(amqpTaken, { amqpPort: 5999 })).toBe(false);
    expect(lostPortRace(failed('{error,eacces}'), {})).toBe(false);
    expect(lostPortRace(new TestBrokerError('BROKER_NOT_INSTALLED', 'no'), {})).toBe(false);
    expect(lostPortRace(new Error('dist_port_already_used'), {})).toBe(false);
  });
});
