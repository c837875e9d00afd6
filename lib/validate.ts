/**
 * Checks of the caller's arguments, made before anything reaches the
 * socket, and the guard that keeps application callbacks from throwing into
 * socket handlers.
 */
import { loggedError, WARNINGS_ONLY } from './log.js';
import { describe } from './protocol/describe.js';
import { checkWellFormed } from './protocol/writer.js';

/**
 * A short string: a string of at most 255 bytes of UTF-8, without a lone
 * UTF-16 surrogate (which UTF-8 cannot encode). Never truncated.
 */
export function checkShortString(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string')
    throw new TypeError(`${what} must be a string, got ${typeof value}`);
  checkWellFormed(value, what);
  if (value.length > 85 && Buffer.byteLength(value, 'utf8') > 255) {
    throw new RangeError(
      `${what} is ${Buffer.byteLength(value, 'utf8')} bytes of UTF-8; AMQP allows 255`,
    );
  }
}

/** The longest delay a Node timer holds; a longer one fires at once. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * A `timeout` option: milliseconds from 0 to about 24.8 days, the most a
 * timer holds (or absent). Not a number: a TypeError; NaN or out of range: a RangeError.
 */
export function checkTimeout(
  timeout: unknown,
  what: string,
): asserts timeout is number | undefined {
  if (timeout === undefined) return;
  checkNumber(timeout, what);
  if (!(timeout >= 0 && timeout <= MAX_TIMEOUT_MS)) {
    throw new RangeError(
      `${what} must be a number of milliseconds from 0 to ${MAX_TIMEOUT_MS}, got ${describe(timeout)}`,
    );
  }
}

/**
 * A count option such as `concurrency`: a whole number from `min` to `max`
 * (or absent). Not a number: a TypeError; NaN, a fraction or out of range: a RangeError.
 */
export function checkCount(value: unknown, what: string, min: number, max = 2 ** 31 - 1): void {
  if (value === undefined) return;
  checkNumber(value, what);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `${what} must be a whole number from ${min} to ${max}, got ${describe(value)}`,
    );
  }
}

/** A value of the wrong type (a string such as "10", null) is a TypeError, whatever its range. */
function checkNumber(value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(`${what} must be a number, got ${describe(value, 100)}`);
  }
}

/**
 * One of the strings of `allowed` (or absent): another string is a
 * RangeError, anything else a TypeError.
 */
export function checkChoice(
  value: unknown,
  what: string,
  allowed: readonly string[],
  orFunction = false,
): void {
  if (value === undefined || (orFunction && typeof value === 'function')) return;
  if (typeof value === 'string' && allowed.includes(value)) return;
  const quoted = allowed.map((choice) => `'${choice}'`);
  if (orFunction) quoted.push('a function');
  const choices = `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
  const message = `${what} must be ${choices}, got ${describe(value, 100)}`;
  throw typeof value === 'string' ? new RangeError(message) : new TypeError(message);
}

/**
 * Runs application code called from a socket handler (an event listener, a
 * return handler). What it throws is logged to `log` (without a logger, a
 * process warning) instead of reaching the socket handler, where it would
 * end the connection.
 */
export function callSafely(what: string, callback: () => void, log = WARNINGS_ONLY): void {
  try {
    callback();
  } catch (error) {
    log.write('warren.callback.threw', { callback: what, err: loggedError(error, true) });
  }
}

/**
 * An options argument: absent, or an object. An `AbortSignal` in its place
 * is refused with a hint, since every signal goes inside the options. With
 * `known`, a key outside it is refused too, where a misplaced argument
 * (say, a field table) would otherwise be silently ignored.
 */
export function checkOptions(options: unknown, what: string, known?: readonly string[]): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    const got = options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options;
    throw new TypeError(`the options of ${what} must be an object, got ${got}`);
  }
  if (options instanceof AbortSignal) {
    throw new TypeError(`${what} takes its signal inside its options: pass { signal }`);
  }
  if (known === undefined) return;
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`${what} has no option '${key}' (it takes ${known.join(', ')})`);
    }
  }
}
