/**
 * Every public numeric and enumerated option, given a bad value: a value of
 * the wrong type (`"10"`, `null`, `true`) is a TypeError, a value of the right
 * type out of range (NaN, -1, a fraction where a count is wanted, Infinity,
 * 2^60, an unknown name) a RangeError, always before anything is sent.
 * Against a scripted broker, which must receive nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Channel, type Consumer, connect, type Queue } from '../../../lib/index.js';
import {
  consume,
  declareQueue,
  expectNothingMore,
  openChannel,
  type Scripted,
  scriptedConnection,
  teardown,
} from './harness.js';

afterEach(teardown);

type ErrorClass = typeof TypeError | typeof RangeError;

/** The wrong types, for a numeric option and for an enumeration (one of some strings). */
const NOT_NUMBERS: readonly unknown[] = ['10', null, true, {}, Symbol('s')];
const NOT_STRINGS: readonly unknown[] = [10, null, true, {}, Symbol('s')];
/** Numbers no count or timeout takes. */
const BAD_NUMBERS: readonly number[] = [Number.NaN, -1, Number.POSITIVE_INFINITY, 2 ** 60];
/** A whole number is wanted: a fraction too is out of range. */
const BAD_COUNTS: readonly number[] = [...BAD_NUMBERS, 1.5];

interface World {
  readonly s: Scripted;
  readonly channel: Channel;
  readonly queue: Queue;
  readonly consumer: Consumer;
}

/** An option, how to give it a value, and which numbers it refuses. */
interface OptionCase {
  readonly name: string;
  readonly attempt: (world: World, value: unknown) => Promise<unknown>;
  /** The right-typed values out of range: numbers, or strings for an enumeration. */
  readonly outOfRange: readonly unknown[];
}

const connectWith = (options: object) => () =>
  connect({ hostname: '127.0.0.1', port: 1, recovery: false, ...options });
const connectOption = (name: string, outOfRange: readonly unknown[]): OptionCase => ({
  name: `connect ${name}`,
  attempt: (_, value) => connectWith({ [name]: value })(),
  outOfRange,
});
const recoveryOption = (name: string, outOfRange: readonly unknown[]): OptionCase => ({
  name: `connect recovery.${name}`,
  attempt: (_, value) => connectWith({ recovery: { [name]: value } })(),
  outOfRange,
});

const CASES: readonly OptionCase[] = [
  connectOption('port', [...BAD_COUNTS, 0]),
  connectOption('heartbeat', BAD_COUNTS),
  connectOption('frameMax', [...BAD_COUNTS, 100]),
  connectOption('channelMax', BAD_COUNTS),
  connectOption('connectionTimeout', [...BAD_COUNTS, 0]),
  connectOption('maxBodySize', [...BAD_COUNTS, 0]),
  connectOption('mechanism', ['plain', 'CRAM-MD5']),
  recoveryOption('initialDelay', [...BAD_NUMBERS, 0]),
  recoveryOption('maxDelay', BAD_NUMBERS),
  recoveryOption('waitTimeout', BAD_NUMBERS),
  recoveryOption('maxAttempts', [Number.NaN, -1, 0, 1.5, 2 ** 60]),
  recoveryOption('maxWaitingPublishes', BAD_COUNTS),
  recoveryOption('maxWaitingBytes', BAD_COUNTS),
  recoveryOption('whileDisconnected', ['block', '']),
  {
    name: 'consume prefetch',
    attempt: ({ queue }, value) => queue.consume(() => {}, { prefetch: value as number }),
    outOfRange: [...BAD_COUNTS, 65536],
  },
  {
    name: 'consume concurrency',
    attempt: ({ queue }, value) => queue.consume(() => {}, { concurrency: value as number }),
    outOfRange: [...BAD_COUNTS, 0],
  },
  {
    name: 'consume settle',
    attempt: ({ queue }, value) => queue.consume(() => {}, { settle: value as 'auto' }),
    outOfRange: ['automatic', 'Manual'],
  },
  {
    name: 'consume onFailure',
    attempt: ({ queue }, value) => queue.consume(() => {}, { onFailure: value as 'requeue' }),
    outOfRange: ['retry', 'drop'],
  },
  {
    name: 'serve prefetch',
    attempt: ({ queue }, value) => queue.serve(() => null, { prefetch: value as number }),
    outOfRange: [...BAD_COUNTS, 65536],
  },
  {
    name: 'messages prefetch',
    attempt: async ({ queue }, value) => {
      const iterator = queue.messages({ prefetch: value as number });
      return iterator[Symbol.asyncIterator]().next();
    },
    outOfRange: [...BAD_COUNTS, 0, 65536],
  },
  {
    name: 'setQos prefetchCount',
    attempt: ({ channel }, value) => channel.setQos({ prefetchCount: value as number }),
    outOfRange: [...BAD_COUNTS, 65536],
  },
  {
    name: 'setQos prefetchSize',
    attempt: ({ channel }, value) => channel.setQos({ prefetchSize: value as number }),
    outOfRange: [...BAD_COUNTS, 2 ** 32],
  },
  {
    name: 'consumer.cancel timeout',
    attempt: ({ consumer }, value) => consumer.cancel({ timeout: value as number }),
    outOfRange: BAD_NUMBERS,
  },
  {
    name: 'channel.close timeout',
    attempt: ({ channel }, value) => channel.close({ timeout: value as number }),
    outOfRange: BAD_NUMBERS,
  },
  {
    name: 'connection.close timeout',
    attempt: ({ s }, value) => s.connection.close({ timeout: value as number }),
    outOfRange: BAD_NUMBERS,
  },
];

/** The class of error a bad value must get, by its type. */
function expected(value: unknown, outOfRange: readonly unknown[]): ErrorClass {
  return outOfRange.includes(value) ? RangeError : TypeError;
}

async function failure(attempt: () => Promise<unknown>): Promise<unknown> {
  try {
    await attempt();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('a bad option value', () => {
  it.each(CASES.map((c) => [c.name, c] as const))(
    '%s: a TypeError for a wrong type, a RangeError out of range',
    async (_, option) => {
      const s = await scriptedConnection();
      const channel = await openChannel(s, 1);
      const queue = await declareQueue(s, channel, 'q');
      const consumer = await consume(s, queue, () => {});
      const world: World = { s, channel, queue, consumer };
      const wrong: string[] = [];
      const enumeration = typeof option.outOfRange[0] === 'string';
      const wrongTypes = enumeration ? NOT_STRINGS : NOT_NUMBERS;
      for (const value of [...wrongTypes, ...option.outOfRange]) {
        const error = await failure(() => option.attempt(world, value));
        const want = expected(value, option.outOfRange);
        if (!(error instanceof want) || (want === TypeError && error instanceof RangeError)) {
          wrong.push(`${String(value)}: wanted ${want.name}, got ${String(error)}`);
        }
      }
      expect(wrong).toEqual([]);
      await expectNothingMore(s);
    },
  );
});
