/**
 * Whether every message one JSON Schema allows is accepted by another: the
 * sender's schema against the receiver's, keyword by keyword. Each answer
 * is a list of issues; an empty list is a proof that the receiver accepts
 * all the sender may send. Where the proof fails, an issue says 'breaking'
 * when a rejected message was found by the rules (a field became required,
 * a type or value is no longer accepted, a bound moved in), and 'unknown'
 * when the rules cannot tell. Sender-side keywords this module does not
 * read are dropped (the sender is taken to send more, which is safe);
 * receiver-side ones make the answer 'unknown'.
 *
 * One convention: an object sends only the properties its schema declares
 * (a typed publish sends those), unless its schema opens it to others
 * (`additionalProperties`: zod's `looseObject`, `catchall`, `record`).
 */
import {
  type Bound,
  bound,
  finiteValues,
  hasRef,
  isMultiple,
  isNever,
  isTrivial,
  mergeObjects,
  numberOr,
  onlyStringAssertions,
  pairwiseDisjoint,
  patternsOf,
  senderAlternatives,
  stringsOf,
  TYPES,
  type TypeName,
  typesOf,
  within,
} from './json-schema-nodes.js';
import {
  ANNOTATIONS,
  accepts,
  isNode,
  isRecord,
  type JsonSchemaNode,
  type JsonSchemaObject,
  propertyPath,
  resolveRef,
  sameJson,
} from './json-schema-values.js';

/** What kind of difference an issue is. */
export type SchemaChange =
  /** The receiver requires a property the sender may leave out. */
  | 'missing-required'
  /** The receiver rejects a property the sender may send (a strict object). */
  | 'unexpected-property'
  /** The sender may send a JSON type the receiver rejects. */
  | 'type'
  /** The sender may send a value (of an enum, a literal) the receiver rejects. */
  | 'value'
  /** A bound or format the sender's values may break: length, range, pattern, item count… */
  | 'constraint'
  /** No alternative of the receiver's union can be shown to accept what the sender sends. */
  | 'union'
  /** Something the check cannot compare: a refinement, a transform, an unknown keyword. */
  | 'unsupported';

/** One difference between a sender's schema and a receiver's. */
export interface SchemaIssue {
  /** Where in the message: `$` is the body, `$.items[].price` a property of each item. */
  readonly path: string;
  readonly change: SchemaChange;
  /** 'breaking' when some message is rejected; 'unknown' when the check cannot tell. */
  readonly verdict: 'breaking' | 'unknown';
  /** What changed, in words, naming the sender and receiver as {@link SchemaWords} says. */
  readonly detail: string;
}

/** How the issue texts name the two ends: `{ sender: 'new messages', receiver: 'old receivers' }`. */
export interface SchemaWords {
  readonly sender: string;
  readonly receiver: string;
}

/** Keywords the receiver side is read for; any other (not an annotation) is 'unknown'. */
const READ = new Set([
  '$ref',
  'type',
  'const',
  'enum',
  'anyOf',
  'oneOf',
  'allOf',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'contentEncoding',
  'contentMediaType',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'items',
  'prefixItems',
  'minItems',
  'maxItems',
  'uniqueItems',
  'properties',
  'required',
  'additionalProperties',
  'propertyNames',
  'minProperties',
  'maxProperties',
]);

/** How deep schemas may nest (through references that make new nodes) before 'unknown'. */
const MAX_DEPTH = 200;

/** Lists the issues that keep `receiver` from accepting all `sender` allows (both whole documents). */
export function compareSchemas(
  sender: JsonSchemaNode,
  receiver: JsonSchemaNode,
  words: SchemaWords,
): SchemaIssue[] {
  return new SchemaComparison(sender, receiver, words).covers(sender, receiver, '$');
}

class SchemaComparison {
  readonly #senderRoot: JsonSchemaNode;
  readonly #receiverRoot: JsonSchemaNode;
  readonly #words: SchemaWords;
  /** Pairs under comparison: meeting one again (a recursive schema) assumes it holds. */
  readonly #open = new Map<object, Set<object>>();
  /** How deep the comparison is: past {@link MAX_DEPTH}, the answer is 'unknown'. */
  #depth = 0;

  constructor(senderRoot: JsonSchemaNode, receiverRoot: JsonSchemaNode, words: SchemaWords) {
    this.#senderRoot = senderRoot;
    this.#receiverRoot = receiverRoot;
    this.#words = words;
  }

  covers(senderNode: JsonSchemaNode, receiverNode: JsonSchemaNode, path: string): SchemaIssue[] {
    const s = this.#senderSide(senderNode);
    const r = this.#receiverSide(receiverNode);
    if (r === undefined) {
      return [this.#unknown(path, 'unsupported', 'a reference outside the schema')];
    }
    if (s === false || isNever(s) || r === true || isTrivial(r)) return [];
    if (!hasRef(s) && !hasRef(r) && sameJson(s, r)) return [];
    if (r === false || isNever(r)) {
      return [this.#breaking(path, 'type', `${this.#words.receiver} accept nothing here`)];
    }
    const sender = s === true ? {} : s;
    const open = this.#open.get(sender) ?? new Set<object>();
    if (open.has(r)) return [];
    if (this.#depth >= MAX_DEPTH) {
      return [this.#unknown(path, 'unsupported', 'a schema nested too deep to compare')];
    }
    this.#open.set(sender, open);
    open.add(r);
    this.#depth++;
    try {
      return this.#compare(sender, r, path);
    } finally {
      this.#depth--;
      open.delete(r);
    }
  }

  /** The sender's node with its reference followed: what is not followed may be anything. */
  #senderSide(node: JsonSchemaNode): JsonSchemaNode {
    let current = node;
    for (let hops = 0; isRecord(current) && typeof current.$ref === 'string'; hops++) {
      const target = hops < 32 ? resolveRef(this.#senderRoot, current.$ref) : undefined;
      if (target === undefined) return true;
      current = target;
    }
    return current;
  }

  /** The receiver's node with its reference followed, the keywords beside it kept (`allOf`). */
  #receiverSide(node: JsonSchemaNode): JsonSchemaNode | undefined {
    if (!isRecord(node) || typeof node.$ref !== 'string') return node;
    const { $ref, ...beside } = node;
    const target = resolveRef(this.#receiverRoot, $ref);
    if (target === undefined) return undefined;
    return isTrivial(beside) ? target : { allOf: [target, beside] };
  }

  #compare(s: JsonSchemaObject, r: JsonSchemaObject, path: string): SchemaIssue[] {
    const alternatives = senderAlternatives(s);
    if (alternatives !== undefined) {
      return alternatives.flatMap((alternative) => this.covers(alternative, r, path));
    }
    if (Array.isArray(s.allOf) && !onlyStringAssertions(s.allOf))
      return this.#fromAllOf(s, r, path);
    const values = finiteValues(s);
    if (values !== undefined) return this.#values(values, r, path);

    const issues: SchemaIssue[] = [];
    if (Array.isArray(r.allOf) && !onlyStringAssertions(r.allOf)) {
      for (const part of r.allOf) if (isNode(part)) issues.push(...this.covers(s, part, path));
    }
    const union = Array.isArray(r.anyOf) ? r.anyOf : Array.isArray(r.oneOf) ? r.oneOf : undefined;
    if (union !== undefined) issues.push(...this.#someBranch(s, union, path, r.oneOf === union));
    issues.push(...this.#base(s, r, path));
    return issues;
  }

  /** A sender that is an intersection: proven when one part of it (or its objects merged) is. */
  #fromAllOf(s: JsonSchemaObject, r: JsonSchemaObject, path: string): SchemaIssue[] {
    const { allOf, ...rest } = s;
    const parts = [rest, ...(allOf as unknown[]).filter(isNode)];
    const merged = mergeObjects(parts);
    if (merged !== undefined) return this.covers(merged, r, path);
    let best: SchemaIssue[] | undefined;
    for (const part of parts) {
      const issues = this.covers(part, r, path);
      if (issues.length === 0) return [];
      if (best === undefined || issues.length < best.length) best = issues;
    }
    // A part failing says nothing of the intersection, which may be narrower.
    return (best ?? []).map((issue) => ({ ...issue, verdict: 'unknown' }));
  }

  /** A sender of a few values: each is checked against the receiver. */
  #values(values: readonly unknown[], r: JsonSchemaObject, path: string): SchemaIssue[] {
    const issues: SchemaIssue[] = [];
    for (const value of values) {
      const answer = accepts(r, value, this.#receiverRoot);
      const shown = JSON.stringify(value);
      if (answer === 'no') {
        issues.push(
          this.#breaking(
            path,
            'value',
            `${this.#words.receiver} reject ${shown}, which ${this.#words.sender} may hold`,
          ),
        );
      } else if (answer === 'unknown') {
        issues.push(
          this.#unknown(
            path,
            'value',
            `cannot tell whether ${this.#words.receiver} accept ${shown}`,
          ),
        );
      }
    }
    return issues;
  }

  /** A receiver's union: one branch must take all the sender sends. */
  #someBranch(
    s: JsonSchemaObject,
    branches: readonly unknown[],
    path: string,
    exclusive: boolean,
  ): SchemaIssue[] {
    const nodes = branches.filter(isNode);
    if (nodes.length !== branches.length) {
      return [this.#unknown(path, 'unsupported', 'a union with a malformed branch')];
    }
    if (exclusive && !pairwiseDisjoint(nodes)) {
      return [
        this.#unknown(
          path,
          'union',
          `${this.#words.receiver} accept exactly one of alternatives that may overlap`,
        ),
      ];
    }
    let best: SchemaIssue[] | undefined;
    for (const branch of nodes) {
      const issues = this.covers(s, branch, path);
      if (issues.length === 0) return [];
      if (best === undefined || rank(issues) < rank(best)) best = issues;
    }
    return best ?? [this.#breaking(path, 'union', `${this.#words.receiver} accept no alternative`)];
  }

  /** Everything but the combinators. */
  #base(s: JsonSchemaObject, r: JsonSchemaObject, path: string): SchemaIssue[] {
    const issues: SchemaIssue[] = [];
    for (const keyword of Object.keys(r)) {
      if (READ.has(keyword) || ANNOTATIONS.has(keyword) || keyword.startsWith('x-')) continue;
      issues.push(
        this.#unknown(path, 'unsupported', `the keyword '${keyword}' of ${this.#words.receiver}`),
      );
    }
    if (r.const !== undefined || Array.isArray(r.enum)) {
      const allowed = r.const !== undefined ? [r.const] : (r.enum as unknown[]);
      issues.push(
        this.#breaking(
          path,
          'value',
          `${this.#words.receiver} accept only ${list(allowed)}; ${this.#words.sender} may hold other values`,
        ),
      );
      return issues;
    }
    const senderTypes = typesOf(s);
    const receiverTypes = typesOf(r);
    let shared: readonly TypeName[] = senderTypes ?? receiverTypes ?? TYPES;
    if (receiverTypes !== undefined) {
      const rejected = (senderTypes ?? TYPES).filter(
        (type) =>
          !receiverTypes.includes(type) &&
          !(type === 'integer' && receiverTypes.includes('number')),
      );
      if (rejected.length > 0) {
        const held = senderTypes === undefined ? 'any type' : list(rejected);
        issues.push(
          this.#breaking(
            path,
            'type',
            `${this.#words.receiver} accept ${list(receiverTypes)}; ${this.#words.sender} may hold ${held}`,
          ),
        );
      }
      shared = shared.filter((type) => !rejected.includes(type));
    }
    if (shared.includes('string')) issues.push(...this.#string(s, r, path));
    if (shared.includes('number') || shared.includes('integer')) {
      issues.push(...this.#number(s, r, path, !shared.includes('number')));
    }
    if (shared.includes('array')) issues.push(...this.#array(s, r, path));
    if (shared.includes('object')) issues.push(...this.#object(s, r, path));
    return issues;
  }

  #string(s: JsonSchemaObject, r: JsonSchemaObject, path: string): SchemaIssue[] {
    const issues = this.#counts(s, r, path, 'minLength', 'maxLength', 'characters');
    const senderPatterns = patternsOf(s);
    for (const pattern of patternsOf(r)) {
      if (senderPatterns.includes(pattern)) continue;
      const unconstrained = senderPatterns.length === 0 && s.format === undefined;
      issues.push(
        this.#issue(
          unconstrained ? 'breaking' : 'unknown',
          path,
          'constraint',
          `${this.#words.receiver} require the pattern /${pattern}/${unconstrained ? `; ${this.#words.sender} may hold any string` : ''}`,
        ),
      );
    }
    for (const keyword of ['format', 'contentEncoding', 'contentMediaType']) {
      const wanted = r[keyword];
      if (wanted === undefined || sameJson(wanted, s[keyword])) continue;
      const unconstrained = s[keyword] === undefined && senderPatterns.length === 0;
      issues.push(
        this.#issue(
          unconstrained ? 'breaking' : 'unknown',
          path,
          'constraint',
          `${this.#words.receiver} require the ${keyword} '${String(wanted)}'${s[keyword] === undefined ? '' : ` (not '${String(s[keyword])}')`}`,
        ),
      );
    }
    return issues;
  }

  #number(
    s: JsonSchemaObject,
    r: JsonSchemaObject,
    path: string,
    integers: boolean,
  ): SchemaIssue[] {
    const issues: SchemaIssue[] = [];
    const lower = [
      bound(s, 'minimum', 'exclusiveMinimum', integers, 1),
      bound(r, 'minimum', 'exclusiveMinimum', integers, 1),
    ] as const;
    const upper = [
      bound(s, 'maximum', 'exclusiveMaximum', integers, -1),
      bound(r, 'maximum', 'exclusiveMaximum', integers, -1),
    ] as const;
    if (!within(lower[0], lower[1], 1)) {
      issues.push(this.#bounds(path, 'minimum', lower[0], lower[1]));
    }
    if (!within(upper[0], upper[1], -1)) {
      issues.push(this.#bounds(path, 'maximum', upper[0], upper[1]));
    }
    const step = r.multipleOf;
    if (typeof step === 'number' && !(integers && Number.isInteger(1 / step) && step <= 1)) {
      const senderStep = s.multipleOf;
      if (typeof senderStep !== 'number') {
        issues.push(
          this.#breaking(
            path,
            'constraint',
            `${this.#words.receiver} require a multiple of ${step}`,
          ),
        );
      } else if (!isMultiple(senderStep, step)) {
        issues.push(
          this.#unknown(
            path,
            'constraint',
            `${this.#words.receiver} require a multiple of ${step}, ${this.#words.sender} one of ${senderStep}`,
          ),
        );
      }
    }
    return issues;
  }

  #array(s: JsonSchemaObject, r: JsonSchemaObject, path: string): SchemaIssue[] {
    const issues = this.#counts(s, r, path, 'minItems', 'maxItems', 'items');
    if (r.uniqueItems === true && s.uniqueItems !== true) {
      issues.push(
        this.#breaking(path, 'constraint', `${this.#words.receiver} require unique items`),
      );
    }
    const senderPrefix = Array.isArray(s.prefixItems) ? s.prefixItems : [];
    const receiverPrefix = Array.isArray(r.prefixItems) ? r.prefixItems : [];
    const senderRest = isNode(s.items) ? s.items : true;
    const receiverRest = isNode(r.items) ? r.items : true;
    const senderMax = numberOr(s.maxItems, Number.POSITIVE_INFINITY);
    const positions = Math.max(senderPrefix.length, receiverPrefix.length);
    for (let index = 0; index < positions && index < senderMax; index++) {
      const sent = senderPrefix[index] ?? senderRest;
      const taken = receiverPrefix[index] ?? receiverRest;
      if (index >= senderPrefix.length && sent === false) break;
      if (isNode(sent) && isNode(taken))
        issues.push(...this.covers(sent, taken, `${path}[${index}]`));
    }
    if (senderRest !== false && positions < senderMax) {
      issues.push(...this.covers(senderRest, receiverRest, `${path}[]`));
    }
    return issues;
  }

  #object(s: JsonSchemaObject, r: JsonSchemaObject, path: string): SchemaIssue[] {
    const issues: SchemaIssue[] = [];
    const senderProperties = isRecord(s.properties) ? s.properties : {};
    const receiverProperties = isRecord(r.properties) ? r.properties : {};
    const senderRequired = new Set(stringsOf(s.required));
    const receiverRequired = stringsOf(r.required);
    // What the sender may send beyond its declared properties: nothing, by the convention above.
    const senderOthers: JsonSchemaNode | undefined =
      s.patternProperties !== undefined
        ? true
        : isNode(s.additionalProperties) && s.additionalProperties !== false
          ? s.additionalProperties
          : undefined;
    const receiverOthers: JsonSchemaNode = isNode(r.additionalProperties)
      ? r.additionalProperties
      : true;
    const sentAs = (key: string): JsonSchemaNode | undefined => {
      const declared = senderProperties[key];
      if (isNode(declared)) return declared;
      return senderOthers ?? (senderRequired.has(key) ? true : undefined);
    };
    if (r.patternProperties !== undefined) {
      issues.push(
        this.#unknown(path, 'unsupported', `the patternProperties of ${this.#words.receiver}`),
      );
    }
    for (const key of receiverRequired) {
      if (senderRequired.has(key)) continue;
      const never = sentAs(key) === undefined;
      issues.push(
        this.#breaking(
          propertyPath(path, key),
          'missing-required',
          `${this.#words.receiver} require '${key}'; ${this.#words.sender} ${never ? 'lack it' : 'may leave it out'}`,
        ),
      );
    }
    for (const [key, taken] of Object.entries(receiverProperties)) {
      const sent = sentAs(key);
      if (sent !== undefined && isNode(taken)) {
        issues.push(...this.covers(sent, taken, propertyPath(path, key)));
      }
    }
    const senderKeys = new Set([...Object.keys(senderProperties), ...senderRequired]);
    for (const key of senderKeys) {
      if (Object.hasOwn(receiverProperties, key)) continue;
      const sent = sentAs(key) ?? true;
      issues.push(...this.#other(sent, receiverOthers, propertyPath(path, key), `'${key}'`));
    }
    if (senderOthers !== undefined) {
      issues.push(
        ...this.#other(senderOthers, receiverOthers, `${path}.*`, 'properties it does not name'),
      );
    }
    issues.push(...this.#propertyNames(s, r, path, [...senderKeys], senderOthers !== undefined));
    issues.push(
      ...this.#propertyCounts(
        s,
        r,
        path,
        senderRequired.size,
        senderOthers === undefined ? senderKeys.size : Number.POSITIVE_INFINITY,
      ),
    );
    return issues;
  }

  /** A property the receiver does not declare: its `additionalProperties` decides. */
  #other(sent: JsonSchemaNode, others: JsonSchemaNode, path: string, what: string): SchemaIssue[] {
    if (others === false) {
      return [
        this.#breaking(
          path,
          'unexpected-property',
          `${this.#words.receiver} reject ${what} (a strict object); ${this.#words.sender} may hold it`,
        ),
      ];
    }
    return this.covers(sent, others, path);
  }

  #propertyNames(
    s: JsonSchemaObject,
    r: JsonSchemaObject,
    path: string,
    keys: readonly string[],
    open: boolean,
  ): SchemaIssue[] {
    const names = r.propertyNames;
    if (!isNode(names) || isTrivial(names) || sameJson(names, { type: 'string' })) return [];
    const issues = keys.flatMap((key) =>
      accepts(names, key, this.#receiverRoot) === 'yes'
        ? []
        : [
            this.#unknown(
              propertyPath(path, key),
              'constraint',
              `${this.#words.receiver} restrict property names`,
            ),
          ],
    );
    if (open)
      issues.push(
        ...this.covers(
          isNode(s.propertyNames) ? s.propertyNames : { type: 'string' },
          names,
          `${path}.*`,
        ),
      );
    return issues;
  }

  #propertyCounts(
    s: JsonSchemaObject,
    r: JsonSchemaObject,
    path: string,
    least: number,
    most: number,
  ): SchemaIssue[] {
    const fewest = Math.max(least, numberOr(s.minProperties, 0));
    const largest = Math.min(most, numberOr(s.maxProperties, Number.POSITIVE_INFINITY));
    const issues: SchemaIssue[] = [];
    if (typeof r.minProperties === 'number' && fewest < r.minProperties) {
      issues.push(
        this.#breaking(
          path,
          'constraint',
          `${this.#words.receiver} require at least ${r.minProperties} properties`,
        ),
      );
    }
    if (typeof r.maxProperties === 'number' && largest > r.maxProperties) {
      issues.push(
        this.#breaking(
          path,
          'constraint',
          `${this.#words.receiver} allow at most ${r.maxProperties} properties`,
        ),
      );
    }
    return issues;
  }

  /** `minLength`/`maxLength`, `minItems`/`maxItems`: counts, compared as inclusive bounds. */
  #counts(
    s: JsonSchemaObject,
    r: JsonSchemaObject,
    path: string,
    least: string,
    most: string,
    unit: string,
  ): SchemaIssue[] {
    const issues: SchemaIssue[] = [];
    const senderLeast = numberOr(s[least], 0);
    const senderMost = numberOr(s[most], Number.POSITIVE_INFINITY);
    const receiverLeast = numberOr(r[least], 0);
    const receiverMost = numberOr(r[most], Number.POSITIVE_INFINITY);
    if (senderLeast < receiverLeast) {
      issues.push(
        this.#breaking(
          path,
          'constraint',
          `${this.#words.receiver} require at least ${receiverLeast} ${unit} (${least}); ${this.#words.sender} may hold ${senderLeast}`,
        ),
      );
    }
    if (senderMost > receiverMost) {
      issues.push(
        this.#breaking(
          path,
          'constraint',
          `${this.#words.receiver} allow at most ${receiverMost} ${unit} (${most}); ${this.#words.sender} may hold ${senderMost === Number.POSITIVE_INFINITY ? 'more' : senderMost}`,
        ),
      );
    }
    return issues;
  }

  #bounds(
    path: string,
    keyword: string,
    sent: Bound | undefined,
    taken: Bound | undefined,
  ): SchemaIssue {
    const show = (b: Bound | undefined): string =>
      b === undefined
        ? 'none'
        : `${b.exclusive ? (keyword === 'minimum' ? '>' : '<') : keyword === 'minimum' ? '≥' : '≤'} ${b.value}`;
    return this.#breaking(
      path,
      'constraint',
      `${this.#words.receiver} require ${keyword} ${show(taken)}; ${this.#words.sender} have ${show(sent)}`,
    );
  }

  #breaking(path: string, change: SchemaChange, detail: string): SchemaIssue {
    return this.#issue('breaking', path, change, detail);
  }

  #unknown(path: string, change: SchemaChange, detail: string): SchemaIssue {
    return this.#issue('unknown', path, change, detail);
  }

  #issue(
    verdict: 'breaking' | 'unknown',
    path: string,
    change: SchemaChange,
    detail: string,
  ): SchemaIssue {
    return { path, change, verdict, detail };
  }
}

/** Issues with fewer breaking ones, then fewer in all, rank first. */
function rank(issues: readonly SchemaIssue[]): number {
  return issues.filter((issue) => issue.verdict === 'breaking').length * 1000 + issues.length;
}

function list(values: readonly unknown[], joiner = 'or'): string {
  const shown = values
    .slice(0, 8)
    .map((value) =>
      typeof value === 'string' && TYPES.includes(value as TypeName)
        ? value
        : JSON.stringify(value),
    );
  if (values.length > 8) shown.push(`${values.length - 8} more`);
  return shown.length <= 1
    ? shown.join('')
    : `${shown.slice(0, -1).join(', ')} ${joiner} ${shown.at(-1)}`;
}
