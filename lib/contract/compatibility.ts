/**
 * Schema evolution: the contract a service was built with against a new
 * one. During a rolling deploy both versions run at once, so each message
 * is read both ways: old receivers read what new publishers send, and new
 * receivers read old messages still in the queues. A change is reported
 * 'compatible' only when both are proven to parse; 'breaking' when a
 * rejected message was found; 'unknown' when the check cannot tell (a
 * refinement, a transform, a keyword it does not read).
 */
import { z } from 'zod';
import { type Contract, isContract } from './contract.js';
import type { JsonSchemaNode } from './json-schema-values.js';
import type { MessageDefinition } from './model.js';
import { compareRoutes } from './route-compatibility.js';
import { compareSchemas, type SchemaChange, type SchemaWords } from './schema-compatibility.js';
import { isShared, readFidelity, type SchemaFidelity } from './schema-fidelity.js';

/** What a change means for a running system: safe, unsafe, or not known to be safe. */
export type CompatibilityVerdict = 'compatible' | 'breaking' | 'unknown';

/**
 * Which readers a finding breaks during a rolling deploy:
 * - `'old-receivers'`: receivers still built with the previous contract,
 *   reading messages published with the next one;
 * - `'new-receivers'`: receivers built with the next contract, reading
 *   messages published with the previous one (still in the queues).
 */
export type CompatibilityDirection = 'old-receivers' | 'new-receivers';

/** One difference in a message's schema that could make a receiver reject a message. */
export interface SchemaFinding {
  /** Where in the message body: `$` is the body, `$.items[].price` a field of each item. */
  readonly path: string;
  /** What kind of difference it is. */
  readonly change: SchemaChange;
  /** `'breaking'` when a rejected message was found; `'unknown'` when the check cannot tell. */
  readonly verdict: 'breaking' | 'unknown';
  /** Which receivers it breaks. */
  readonly direction: CompatibilityDirection;
  /** What changed, in words. */
  readonly detail: string;
}

/** The verdict on one kind of message (matched by its `defineMessage` name). */
export interface MessageCompatibility {
  /** The message's name: its `type` property. */
  readonly name: string;
  /**
   * `'added'`: only in the next contract; `'unchanged'`: the same JSON
   * Schema (refinements may still differ); `'changed'`: a different one.
   */
  readonly status: 'added' | 'unchanged' | 'changed';
  /** The worst of its findings; `'compatible'` when there are none. */
  readonly verdict: CompatibilityVerdict;
  /** Each difference, with the receivers it breaks. */
  readonly findings: readonly SchemaFinding[];
}

/** What changed about a route (or a whole message) between the two contracts. */
export type RouteChange =
  /** A publisher of the previous contract is gone. */
  | 'publisher-removed'
  /** A publisher sends to another exchange, routing key or queue. */
  | 'publisher-moved'
  /** A publisher sends another kind of message. */
  | 'publisher-message-changed'
  /** A consumer of the previous contract is gone: its queue is no longer read. */
  | 'consumer-removed'
  /** A consumer reads another queue: the old one keeps what it holds. */
  | 'consumer-moved'
  /** A consumer takes other kinds of message than it did. */
  | 'consumer-kinds-changed'
  /** A request/reply endpoint of the previous contract is gone. */
  | 'rpc-removed'
  /** A request/reply endpoint takes requests on another queue. */
  | 'rpc-moved'
  /** A request/reply endpoint takes another kind of request or replies with another kind. */
  | 'rpc-messages-changed'
  /** A kind of message of the previous contract is in no part of the next one. */
  | 'message-removed';

/** A route (publisher, consumer, request/reply endpoint) or message that was removed or moved. */
export interface RouteFinding {
  /** What the finding is about. */
  readonly route: 'publisher' | 'consumer' | 'rpc' | 'message';
  /** The route's handle name in the contract, or the message's name. */
  readonly name: string;
  /** What changed. */
  readonly change: RouteChange;
  /** Route changes are breaking: some sender or receiver loses its counterpart. */
  readonly verdict: 'breaking';
  /** Which receivers it breaks; `undefined` when it is no matter of reading a message. */
  readonly direction: CompatibilityDirection | undefined;
  /** What changed, in words. */
  readonly detail: string;
}

/** What {@link compareContracts} finds: plain data, ready for `JSON.stringify`. */
export interface CompatibilityReport {
  /** The worst verdict of all messages and routes. */
  readonly verdict: CompatibilityVerdict;
  /** Each message of the next contract, by name, in order. */
  readonly messages: readonly MessageCompatibility[];
  /** Routes and messages removed or moved. */
  readonly routes: readonly RouteFinding[];
}

/**
 * Compares the contract a service was built with (`previous`) with a new
 * one (`next`): for each message (matched by name), whether every message
 * one side may send is accepted by the other side's receivers, in both
 * directions of a rolling deploy; and which routes were removed or moved.
 * It never reports a breaking change as compatible: what it cannot prove
 * safe is `'unknown'` or `'breaking'`.
 * @throws TypeError when either argument is not a contract
 *
 * ```ts
 * const report = compareContracts(released, current);
 * if (report.verdict !== 'compatible') console.error(formatCompatibilityReport(report));
 * ```
 */
export function compareContracts(previous: Contract, next: Contract): CompatibilityReport {
  for (const [what, value] of [
    ['previous', previous],
    ['next', next],
  ] as const) {
    if (!isContract(value)) {
      throw new TypeError(`compareContracts: ${what} must be a contract from defineContract`);
    }
  }
  const before = byName(previous.messages);
  const after = byName(next.messages);
  const messages: MessageCompatibility[] = [];
  for (const [name, kinds] of after) {
    const earlier = before.get(name);
    if (earlier === undefined) {
      messages.push({ name, status: 'added', verdict: 'compatible', findings: [] });
    } else if (earlier.length > 1 || kinds.length > 1) {
      messages.push(ambiguous(name, earlier.length > 1 ? 'previous' : 'next'));
    } else {
      messages.push(
        compareMessage(name, earlier[0] as MessageDefinition, kinds[0] as MessageDefinition),
      );
    }
  }
  const routes = compareRoutes(previous, next);
  const verdicts = [
    ...messages.map((message) => message.verdict),
    ...routes.map((route) => route.verdict),
  ];
  return { verdict: worst(verdicts), messages, routes };
}

/** One message's two schemas, read both ways. */
function compareMessage(
  name: string,
  previous: MessageDefinition,
  next: MessageDefinition,
): MessageCompatibility {
  if (previous.schema === next.schema) {
    return { name, status: 'unchanged', verdict: 'compatible', findings: [] };
  }
  let before: JsonSchemaNode;
  let after: JsonSchemaNode;
  let fidelity: { before: SchemaFidelity; after: SchemaFidelity };
  try {
    // A schema from another copy of zod (or not zod 4) may not convert, nor walk.
    before = jsonSchemaOf(previous.schema);
    after = jsonSchemaOf(next.schema);
    fidelity = { before: readFidelity(previous.schema), after: readFidelity(next.schema) };
  } catch (error) {
    return unknownBothWays(
      name,
      `its schema cannot be read as a zod 4 schema (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const findings = [
    ...read('old-receivers', after, before, fidelity.after, fidelity.before),
    ...read('new-receivers', before, after, fidelity.before, fidelity.after),
  ];
  return {
    name,
    status: JSON.stringify(before) === JSON.stringify(after) ? 'unchanged' : 'changed',
    verdict: worst(findings.map((finding) => finding.verdict)),
    findings: unique(findings),
  };
}

const DIRECTIONS: readonly CompatibilityDirection[] = ['old-receivers', 'new-receivers'];

const WORDS: Record<CompatibilityDirection, SchemaWords> = {
  'old-receivers': { sender: 'new messages', receiver: 'old receivers' },
  'new-receivers': { sender: 'old messages', receiver: 'new receivers' },
};

/** The findings of one direction: the JSON Schemas compared, and the spots they do not show. */
function read(
  direction: CompatibilityDirection,
  sender: JsonSchemaNode,
  receiver: JsonSchemaNode,
  senderFidelity: SchemaFidelity,
  receiverFidelity: SchemaFidelity,
): SchemaFinding[] {
  const words = WORDS[direction];
  const overstated = senderFidelity.spots.filter((spot) => spot.overstates === true);
  const findings: SchemaFinding[] = compareSchemas(sender, receiver, words).map((issue) => {
    // The sender's JSON Schema says more than it sends here: the rejected value may never be sent.
    const below = overstated.find((spot) => isWithin(issue.path, spot.path));
    if (issue.verdict !== 'breaking' || below === undefined) return { ...issue, direction };
    const detail = `${issue.detail} (unless ${below.reason} of ${words.sender} keeps them out)`;
    return { ...issue, verdict: 'unknown', detail, direction };
  });
  const unseen = (detail: string, path: string): SchemaFinding => ({
    path,
    change: 'unsupported',
    verdict: 'unknown',
    direction,
    detail: `${detail}, which JSON Schema does not show`,
  });
  for (const spot of senderFidelity.spots) {
    if (spot.sides.includes('sender') && !isShared(spot, receiverFidelity)) {
      findings.push(unseen(`${words.sender} pass ${spot.reason}`, spot.path));
    }
  }
  for (const spot of receiverFidelity.spots) {
    if (spot.sides.includes('receiver') && !isShared(spot, senderFidelity)) {
      findings.push(unseen(`${words.receiver} apply ${spot.reason}`, spot.path));
    }
  }
  return findings;
}

/** Whether `path` is `at` or below it: `$.a.b` is within `$.a`, `$.ab` is not. */
function isWithin(path: string, at: string): boolean {
  return path === at || (path.startsWith(at) && /^[.[]/.test(path.slice(at.length)));
}

/**
 * The JSON Schema a receiver parses with: zod's input side (defaults make a
 * field optional), with `{}` where JSON cannot say (those spots are found by
 * lib/contract/schema-fidelity.ts).
 */
function jsonSchemaOf(schema: z.ZodType): JsonSchemaNode {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchemaNode;
}

function byName(messages: readonly MessageDefinition[]): Map<string, MessageDefinition[]> {
  const found = new Map<string, MessageDefinition[]>();
  for (const message of messages) {
    const same = found.get(message.name) ?? [];
    found.set(message.name, [...same, message]);
  }
  return found;
}

function ambiguous(name: string, where: 'previous' | 'next'): MessageCompatibility {
  return unknownBothWays(name, `the ${where} contract has several messages named '${name}'`);
}

/** A message whose change cannot be told, in either direction, for the reason `detail` gives. */
function unknownBothWays(name: string, detail: string): MessageCompatibility {
  const findings = DIRECTIONS.map(
    (direction): SchemaFinding => ({
      path: '$',
      change: 'unsupported',
      verdict: 'unknown',
      direction,
      detail,
    }),
  );
  return { name, status: 'changed', verdict: 'unknown', findings };
}

/** The worst of some verdicts: breaking, then unknown, then compatible. */
export function worst(verdicts: readonly CompatibilityVerdict[]): CompatibilityVerdict {
  if (verdicts.includes('breaking')) return 'breaking';
  return verdicts.includes('unknown') ? 'unknown' : 'compatible';
}

function unique(findings: readonly SchemaFinding[]): SchemaFinding[] {
  const seen = new Set<string>();
  return findings.filter((finding) => {
    const key = JSON.stringify([finding.path, finding.change, finding.direction, finding.detail]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
