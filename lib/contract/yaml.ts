/**
 * A small YAML emitter for JSON values: block mappings and sequences, plain
 * scalars where YAML reads them back as the same string, double quotes
 * elsewhere, literal blocks for multi-line text. Enough for an AsyncAPI
 * document, without a YAML dependency at run time. What it writes, a YAML
 * 1.2 parser reads back as `JSON.parse(JSON.stringify(value))`.
 */
import type { JsonValue } from './json-value.js';

const INDENT = 2;

/**
 * Words a YAML parser (1.2, or 1.1 as older tools speak it) reads as null or
 * a boolean, in lower case; their other spellings are quoted too.
 */
const RESERVED = new Set(['null', '~', 'true', 'false', 'yes', 'no', 'on', 'off', 'y', 'n']);

/** Characters a double-quoted scalar must escape beyond what JSON escapes: not printable in YAML. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters to escape.
const UNPRINTABLE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]|\p{Cs}/u;
const UNPRINTABLE_GLOBAL = /[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]/g;

/**
 * A first character that means something to YAML (an indicator), or that
 * may start a number (a sign, a dot, a digit), or a YAML 1.1 float without
 * digits before its exponent (`e3`).
 */
const SPECIAL_START = /^(?:[-?:,[\]{}#&*!|>'"%@`.<=~+0-9\s]|[eE][-+]?[0-9]+$)/;

/** The longest key YAML reads as an implicit (`key: value`) key is 1024 characters. */
const LONGEST_IMPLICIT_KEY = 1000;

/**
 * Writes a JSON value as a YAML document (ending with a newline). Like
 * `JSON.stringify`, it leaves out object properties that are `undefined`
 * and writes non-finite numbers as `null`.
 * @throws TypeError for a value JSON cannot hold (a bigint, a function, a symbol)
 */
export function toYaml(value: unknown): string {
  const json = jsonSafe(value, '');
  if (isCollection(json)) return `${lines(json, 0).join('\n')}\n`;
  const text = scalar(json, 0);
  return `${[text.head, ...text.rest].join('\n')}\n`;
}

type Collection = readonly JsonValue[] | { readonly [key: string]: JsonValue };

function isCollection(value: JsonValue): value is Collection {
  return (
    typeof value === 'object' &&
    value !== null &&
    (Array.isArray(value) ? value.length > 0 : Object.keys(value).length > 0)
  );
}

/** The lines of a non-empty mapping or sequence, each indented by `indent` spaces. */
function lines(value: Collection, indent: number): string[] {
  const pad = ' '.repeat(indent);
  const out: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value as readonly JsonValue[]) {
      if (isCollection(item)) {
        // The item's first line goes after the dash; the rest line up under it.
        const [first = '', ...rest] = lines(item, indent + INDENT);
        out.push(`${pad}- ${first.slice(indent + INDENT)}`, ...rest);
      } else {
        const text = scalar(item, indent);
        out.push(`${pad}- ${text.head}`, ...text.rest);
      }
    }
    return out;
  }
  for (const [key, item] of Object.entries(value)) {
    const name = quoted(key);
    // A long key needs the explicit form: `? key` on its own line, then `: value`.
    const keyLine =
      name.length > LONGEST_IMPLICIT_KEY ? [`${pad}? ${name}`, `${pad}:`] : [`${pad}${name}:`];
    const last = keyLine.length - 1;
    if (isCollection(item)) {
      out.push(...keyLine, ...lines(item, indent + INDENT));
    } else {
      const text = scalar(item, indent);
      keyLine[last] = `${keyLine[last]} ${text.head}`;
      out.push(...keyLine, ...text.rest);
    }
  }
  return out;
}

/**
 * A scalar, or an empty collection: `head` goes on the line of its key or
 * dash, `rest` (a literal block's lines) below it.
 */
function scalar(value: JsonValue, indent: number): { head: string; rest: string[] } {
  if (value === null) return { head: 'null', rest: [] };
  if (Array.isArray(value)) return { head: '[]', rest: [] };
  switch (typeof value) {
    case 'boolean':
      return { head: String(value), rest: [] };
    case 'number':
      return { head: JSON.stringify(value), rest: [] };
    case 'string':
      return isBlockable(value) ? literalBlock(value, indent) : { head: quoted(value), rest: [] };
    default:
      return { head: '{}', rest: [] };
  }
}

/**
 * A multi-line string that reads well as a literal block (`|`): nothing to
 * escape, and a first line that is neither empty nor indented (so YAML
 * finds the block's indentation from it).
 */
function isBlockable(text: string): boolean {
  return (
    text.includes('\n') &&
    !text.includes('\r') &&
    !UNPRINTABLE.test(text) &&
    text[0] !== ' ' &&
    text[0] !== '\n'
  );
}

/** A literal block: its indicator, with how to treat the final line breaks, and its lines. */
function literalBlock(text: string, indent: number): { head: string; rest: string[] } {
  const body = text.replace(/\n+$/, '');
  const trailing = text.length - body.length;
  // `|-` strips the final line break, `|` keeps one, `|+` keeps them all.
  const chomping = trailing === 0 ? '-' : trailing === 1 ? '' : '+';
  const pad = ' '.repeat(indent + INDENT);
  const content = body.split('\n').map((line) => (line === '' ? '' : `${pad}${line}`));
  for (let extra = 1; extra < trailing; extra++) content.push('');
  return { head: `|${chomping}`, rest: content };
}

/**
 * A string as a plain scalar when YAML reads that back as the same string,
 * double-quoted otherwise (a JSON string, which YAML reads, with what YAML
 * cannot hold raw escaped too). Cautious: quotes whatever an older YAML
 * 1.1 reader might take for something else (a boolean, a number, a date).
 */
function quoted(text: string): string {
  const plain =
    text !== '' &&
    !RESERVED.has(text.toLowerCase()) &&
    !SPECIAL_START.test(text) &&
    !/\s$/.test(text) &&
    !/[:#\n\t]/.test(text) &&
    !text.startsWith('<<') &&
    !UNPRINTABLE.test(text);
  if (plain) return text;
  return JSON.stringify(text).replace(
    UNPRINTABLE_GLOBAL,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * The value as `JSON.parse(JSON.stringify(value))` would give it, without
 * the round trip: undefined properties left out, non-finite numbers as null.
 */
function jsonSafe(value: unknown, path: string): JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'object': {
      if (value === null) return null;
      if (Array.isArray(value)) {
        return value.map((item, index) =>
          item === undefined ? null : jsonSafe(item, `${path}/${index}`),
        );
      }
      // fromEntries, not assignment: a key `__proto__` is a key like any other.
      return Object.fromEntries(
        Object.entries(value)
          .filter(([, item]) => item !== undefined)
          .map(([key, item]) => [key, jsonSafe(item, `${path}/${key}`)]),
      );
    }
    default:
      throw new TypeError(
        `toYaml: ${path || 'the value'} is a ${typeof value}, which JSON cannot hold`,
      );
  }
}
