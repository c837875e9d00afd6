/**
 * zod schemas on exchanges, queues and RPC: the types they give `publish`
 * and handlers, and the one place where a value is checked against them.
 */
import type { z } from 'zod';
import { AmqpError, brandError } from './protocol/errors.js';

/** Any zod schema. Parsing is synchronous: async refinements are not supported. */
export type Schema = z.ZodType;

/** What a publish with schema `S` accepts: the schema's input type, or `unknown` without one. */
export type SchemaInput<S> = S extends z.ZodType ? z.input<S> : unknown;

/** What a handler with schema `S` receives: the schema's output type, or `unknown` without one. */
export type SchemaOutput<S> = S extends z.ZodType ? z.output<S> : unknown;

/** One problem zod found, with the path to the offending value. */
export type ValidationIssue = z.core.$ZodIssue;

/**
 * A message body that does not match its schema, or (received) is not JSON.
 * `code` is `MESSAGE_INVALID`. `issues` are zod's, each with its `path`;
 * they are empty when the body was not JSON, and `cause` is the SyntaxError.
 * Publishing rejects with it before anything is sent; a consumer reports it
 * in its `invalid` event.
 */
export class MessageValidationError extends AmqpError {
  static {
    brandError(MessageValidationError, 'MessageValidationError');
  }

  declare readonly code: 'MESSAGE_INVALID';
  /** What zod found wrong, each issue with the path into the body. */
  readonly issues: readonly ValidationIssue[];

  constructor(what: string, issues: readonly ValidationIssue[], options?: ErrorOptions) {
    super('MESSAGE_INVALID', `${what}: ${describeIssues(issues, options?.cause)}`, options);
    this.issues = issues;
  }
}

/**
 * A message whose kind no entry of a `byType` router has: its `type`
 * property (or routing key) names none of them, or it has no `type`. A
 * {@link MessageValidationError} (code `MESSAGE_INVALID`, no `issues`): the
 * consumer dead-letters the message and reports it by its `invalid` event.
 */
export class UnknownMessageTypeError extends MessageValidationError {
  static {
    brandError(UnknownMessageTypeError, 'UnknownMessageTypeError');
  }

  /** The message's `type` (or routing key); `undefined` when it had no `type`. */
  readonly type: string | undefined;
  /** Where the kind was read: the `type` property or the routing key. */
  readonly from: 'type' | 'routingKey';
  /** The kinds the router knows. */
  readonly known: readonly string[];

  constructor(type: string | undefined, from: 'type' | 'routingKey', known: readonly string[]) {
    super('a message of an unknown type', []);
    this.type = type;
    this.from = from;
    this.known = known;
    const which =
      from === 'routingKey'
        ? `routing key '${type}' names no message type`
        : type === undefined
          ? 'a message without a type property'
          : `unknown message type '${type}'`;
    this.message = `${which} (known: ${listNames(known)})`;
  }
}

/** `'a', 'b' and 'c'`; past ten names, the first ten and how many more. */
function listNames(names: readonly string[]): string {
  const shown = names.slice(0, 10).map((name) => `'${name}'`);
  if (names.length > 10) return `${shown.join(', ')} and ${names.length - 10} more`;
  if (shown.length <= 1) return shown.join('');
  return `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}`;
}

/** `path.to.field: message; other: message`, or the JSON error when there are no issues. */
function describeIssues(issues: readonly ValidationIssue[], cause: unknown): string {
  if (issues.length === 0) {
    return cause instanceof Error ? `not JSON (${cause.message})` : 'not JSON';
  }
  return issues
    .map(
      (issue) =>
        `${issue.path.length === 0 ? '(body)' : issue.path.map(String).join('.')}: ${issue.message}`,
    )
    .join('; ');
}

/** Checks `value` against `schema`; returns zod's output or throws {@link MessageValidationError}. */
export function validate<S extends Schema>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new MessageValidationError(what, result.error.issues, { cause: result.error });
}

/** Parses `text` as JSON and checks it against `schema` when there is one. */
export function parseBody(text: string, schema: Schema | undefined, what: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new MessageValidationError(what, [], { cause: error });
  }
  return schema === undefined ? value : validate(schema, value, what);
}
