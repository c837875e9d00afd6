/**
 * The `x-warren-*` headers a copy carries when warren moves a failed
 * message (to a wait queue, or to a dead-letter destination): why it
 * failed, on which attempt, where, and when. Every value is bounded, so
 * that a copy stays small whatever the error held.
 */
import { inspect } from 'node:util';
import type { FieldTable } from '../fields.js';
import type { IncomingMessage } from '../incoming-message.js';
import { MessageValidationError } from '../schema.js';

/**
 * Why warren dead-lettered a message (the `x-warren-reason` header):
 * - `invalid`: it failed its schema (or carried an unknown type);
 * - `exhausted`: its retries were used up;
 * - `permanent`: its handler's failure was marked permanent (`retryIf`);
 * - `policy`: a policy chose to dead-letter it.
 */
export type DeadLetterReason = 'invalid' | 'exhausted' | 'permanent' | 'policy';

/** The names of the headers warren writes on the copies it makes of a failed message. */
export const WarrenHeaders = Object.freeze({
  /** Integer ≥ 1: the attempt the message is on when delivered (a retry's copy carries the next one). */
  attempt: 'x-warren-attempt',
  /** {@link DeadLetterReason}: why it was dead-lettered. */
  reason: 'x-warren-reason',
  /** The error's `name` (`typeof` for a non-Error), at most 128 characters. */
  errorName: 'x-warren-error-name',
  /** The error's string `code`, when it has one, at most 128 characters. */
  errorCode: 'x-warren-error-code',
  /** The error's message, at most 1024 characters. */
  errorMessage: 'x-warren-error-message',
  /** For a schema mismatch: up to 10 tables `{ path, code, message }`, message at most 256 characters. */
  issues: 'x-warren-issues',
  /** The queue it failed on. */
  queue: 'x-warren-queue',
  /** ISO-8601 time of its first failure. */
  firstFailure: 'x-warren-first-failure',
  /** ISO-8601 time of its last failure. */
  lastFailure: 'x-warren-last-failure',
  /** The exchange it was published to before warren first moved it. */
  originalExchange: 'x-warren-original-exchange',
  /** The routing key it was published with before warren first moved it. */
  originalRoutingKey: 'x-warren-original-routing-key',
} as const);

const NAME_LIMIT = 128;
const CODE_LIMIT = 128;
const MESSAGE_LIMIT = 1024;
const ISSUES_LIMIT = 10;
const ISSUE_MESSAGE_LIMIT = 256;
const ISSUE_PATH_LIMIT = 256;

/** Headers a broker sets on delivery, which a copy must not carry as its own. */
const BROKER_DELIVERY_HEADERS = ['x-delivery-count'];

/** Headers that describe one failure: a copy for a new failure drops the old ones before it writes its own. */
const PER_FAILURE_HEADERS = [
  WarrenHeaders.reason,
  WarrenHeaders.errorName,
  WarrenHeaders.errorCode,
  WarrenHeaders.errorMessage,
  WarrenHeaders.issues,
];

/** What {@link failureHeaders} writes besides the error. */
export interface FailureContext {
  /** The name of the queue the message failed on. */
  readonly queue: string;
  /** The attempt the copy is on: the next one for a retry, the failed one for a dead letter. */
  readonly attempt: number;
  /** Why it is dead-lettered; absent for a retry. */
  readonly reason?: DeadLetterReason;
  /** When it failed. */
  readonly now: Date;
}

/**
 * The headers of a copy of `message`, which failed with `error`: its own
 * headers (RabbitMQ's `x-death` untouched), without those the broker sets
 * on delivery (`x-delivery-count`) and those of an earlier failure, plus the
 * `x-warren-*` headers of this one. The first failure's time and the
 * original exchange and routing key are kept from an earlier copy.
 */
export function failureHeaders(
  error: unknown,
  message: IncomingMessage<unknown>,
  context: FailureContext,
): FieldTable {
  const headers: FieldTable = { ...message.headers };
  for (const name of BROKER_DELIVERY_HEADERS) delete headers[name];
  for (const name of PER_FAILURE_HEADERS) delete headers[name];
  const now = context.now.toISOString();
  headers[WarrenHeaders.attempt] = context.attempt;
  if (context.reason !== undefined) headers[WarrenHeaders.reason] = context.reason;
  headers[WarrenHeaders.errorName] = bounded(errorName(error), NAME_LIMIT);
  const code = errorCode(error);
  if (code !== undefined) headers[WarrenHeaders.errorCode] = bounded(code, CODE_LIMIT);
  headers[WarrenHeaders.errorMessage] = bounded(errorMessage(error), MESSAGE_LIMIT);
  if (error instanceof MessageValidationError && error.issues.length > 0) {
    headers[WarrenHeaders.issues] = error.issues.slice(0, ISSUES_LIMIT).map((issue) => ({
      path: bounded(issuePath(issue.path), ISSUE_PATH_LIMIT),
      code: bounded(String(issue.code), CODE_LIMIT),
      message: bounded(String(issue.message), ISSUE_MESSAGE_LIMIT),
    }));
  }
  headers[WarrenHeaders.queue] = context.queue;
  if (typeof headers[WarrenHeaders.firstFailure] !== 'string') {
    headers[WarrenHeaders.firstFailure] = now;
  }
  headers[WarrenHeaders.lastFailure] = now;
  if (typeof headers[WarrenHeaders.originalExchange] !== 'string') {
    headers[WarrenHeaders.originalExchange] = message.exchange;
    headers[WarrenHeaders.originalRoutingKey] = message.routingKey;
  }
  return headers;
}

/** Reads `key` of a value that may be a hostile Proxy or have a throwing getter. */
function read(value: unknown, key: string): unknown {
  try {
    return (value as Record<string, unknown> | null | undefined)?.[key];
  } catch {
    return undefined;
  }
}

function isError(value: unknown): boolean {
  try {
    return value instanceof Error;
  } catch {
    return false;
  }
}

/** The error's `name`, or `typeof` for a non-Error (`null` for null). */
function errorName(error: unknown): string {
  if (isError(error)) {
    const name = read(error, 'name');
    if (typeof name === 'string' && name !== '') return name;
    return 'Error';
  }
  return error === null ? 'null' : typeof error;
}

/** The error's `code`, when it has a string one. */
function errorCode(error: unknown): string | undefined {
  const code = read(error, 'code');
  return typeof code === 'string' ? code : undefined;
}

/** The error's message; any other value as `util.inspect` shows it, without running its code. */
function errorMessage(error: unknown): string {
  if (typeof error === 'string') return error;
  if (isError(error)) {
    const message = read(error, 'message');
    if (typeof message === 'string') return message;
  }
  try {
    return inspect(error, {
      depth: 2,
      customInspect: false,
      getters: false,
      showProxy: false,
      maxArrayLength: 20,
      maxStringLength: MESSAGE_LIMIT,
      breakLength: Number.POSITIVE_INFINITY,
    });
  } catch {
    return '(a value warren cannot describe)';
  }
}

/** A zod path as code would write it: `items[0].id`; the body itself is `''`. */
function issuePath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else if (typeof key === 'symbol') text += `[${String(key)}]`;
    else text += text === '' ? key : `.${key}`;
  }
  return text;
}

/**
 * `text` cut to `limit` characters, the last one `…` when cut; never a
 * surrogate pair cut in two, and lone surrogates (which UTF-8 cannot
 * carry) replaced.
 */
export function bounded(text: string, limit: number): string {
  if (text.length <= limit) return text.toWellFormed();
  let end = limit - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`.toWellFormed();
}
