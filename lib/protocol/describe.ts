/**
 * Text for a value the application gave warren, most often something a
 * callback threw. Whatever it is (not an `Error`, a null-prototype object, a
 * value whose `toString` or `Symbol.toPrimitive` throws, a Proxy that throws
 * on every trap, a revoked Proxy, a symbol, a string of megabytes), these
 * never throw and never return more than `limit` characters: a report about a
 * failure must not become a second failure, nor a log line of megabytes.
 */
import { inspect } from 'node:util';

/** The most characters a description holds unless the caller says otherwise. */
export const DESCRIBE_LIMIT = 4096;

/** What a value that no means can describe is called. */
const UNDESCRIBABLE = '(a value warren cannot describe)';

/**
 * The value in full, for a warning or a log: an `Error`'s stack (with its
 * `code`, `cause` and other own fields), any other value as `util.inspect`
 * shows it, a string as it is. Bounded by `limit` characters.
 */
export function describe(value: unknown, limit: number = DESCRIBE_LIMIT): string {
  if (typeof value === 'string') return bounded(value, limit);
  return bounded(inspected(value, limit), limit);
}

/**
 * The value in short, for an error message that quotes it: an `Error`'s
 * `message`, a string as it is, anything else as {@link describe} shows it.
 */
export function describeMessage(value: unknown, limit: number = DESCRIBE_LIMIT): string {
  if (typeof value === 'string') return bounded(value, limit);
  try {
    if (value instanceof Error) {
      const message: unknown = value.message;
      if (typeof message === 'string') return bounded(message, limit);
    }
  } catch {
    // A Proxy of an Error whose traps throw: described below, by its target.
  }
  return describe(value, limit);
}

/** `util.inspect` bypasses Proxy traps, getters and custom inspectors; a throw there falls back. */
function inspected(value: unknown, limit: number): string {
  try {
    return inspect(value, {
      depth: 2,
      customInspect: false,
      getters: false,
      showProxy: false,
      maxArrayLength: 20,
      maxStringLength: limit,
      breakLength: Number.POSITIVE_INFINITY,
    });
  } catch {
    // Runtimes whose inspect is not Node's may run into the value's traps.
  }
  try {
    return Object.prototype.toString.call(value);
  } catch {
    return UNDESCRIBABLE;
  }
}

function bounded(text: string, limit: number): string {
  if (text.length <= limit) return text;
  // Never cut a surrogate pair in two: the text may go on the wire.
  let end = limit;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}… (${text.length - end} more characters)`;
}
