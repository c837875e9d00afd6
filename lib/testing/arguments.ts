/**
 * Checks of the arguments the helpers of `warren/testing` share: a wrong kind
 * of value is a TypeError, a value out of range a RangeError.
 */
import { Channel, Connection } from 'warren';

/** The connection of a connection or channel; a TypeError for anything else. */
export function connectionOf(target: Connection | Channel, caller: string): Connection {
  if (target instanceof Connection) return target;
  if (target instanceof Channel) return target.connection;
  throw new TypeError(`${caller}() needs a Connection or a Channel of warren`);
}

/** @throws TypeError, RangeError unless `name` is a queue name */
export function checkQueueName(name: unknown, caller: string): asserts name is string {
  if (typeof name !== 'string') throw new TypeError(`${caller}() needs a queue name (a string)`);
  if (name === '' || Buffer.byteLength(name) > 255) {
    throw new RangeError(`${caller}(): a queue name has 1 to 255 bytes, not '${name}'`);
  }
}

export function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number`);
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`${name} must be a positive number of milliseconds, not ${value}`);
  }
  return value;
}
