/**
 * The YAML emitter: what it writes, the `yaml` package reads back as the
 * JSON value it was given, for hand-picked strings that YAML reads as
 * something else when unquoted and for arbitrary JSON values.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { JsonValue } from '../../lib/contract/json-value.js';
import { toYaml } from '../../lib/contract/yaml.js';

/** What YAML reads back, as a 1.2 and as a 1.1 reader (older tools). */
function readBack(text: string): { core: unknown; legacy: unknown } {
  return {
    core: parse(text, { version: '1.2', uniqueKeys: true }),
    legacy: parse(text, { version: '1.1', uniqueKeys: true }),
  };
}

function expectRoundTrip(value: JsonValue): void {
  const text = toYaml(value);
  const expected = JSON.parse(JSON.stringify(value));
  const { core, legacy } = readBack(text);
  expect(core, text).toEqual(expected);
  expect(legacy, text).toEqual(expected);
}

describe('toYaml', () => {
  it('writes mappings and sequences in block style, scalars plain where that is safe', () => {
    expect(
      toYaml({
        asyncapi: '3.0.0',
        info: { title: 'Shop', version: '1.0.0' },
        tags: ['a', { name: 'b', list: [1, true, null] }, [], {}],
        nested: [['x', 'z'], [{ a: 1 }]],
      }),
    ).toBe(
      [
        'asyncapi: "3.0.0"',
        'info:',
        '  title: Shop',
        '  version: "1.0.0"',
        'tags:',
        '  - a',
        '  - name: b',
        '    list:',
        '      - 1',
        '      - true',
        '      - null',
        '  - []',
        '  - {}',
        'nested:',
        '  - - x',
        '    - z',
        '  - - a: 1',
        '',
      ].join('\n'),
    );
  });

  it('quotes strings YAML would read as something else', () => {
    const tricky = [
      '',
      'null',
      'Null',
      '~',
      'true',
      'False',
      'yes',
      'NO',
      'on',
      'off',
      'y',
      'n',
      '1',
      '-1',
      '+1',
      '0x1F',
      '0o17',
      '017',
      '1e3',
      '1_000',
      '.5',
      '.inf',
      '-.Inf',
      '.NaN',
      '2024-01-31',
      '12:30:00',
      'a: b',
      'a:b',
      'trailing:',
      'a #comment',
      'a#b',
      'order.#',
      '#',
      '*',
      '&anchor',
      '*alias',
      '!tag',
      '!!str',
      '%YAML',
      '@at',
      '`tick',
      '|',
      '>',
      "'single'",
      '"double"',
      '- item',
      '-',
      '---',
      '...',
      '? key',
      '[a]',
      '{a}',
      ',',
      '<<',
      '=',
      ' leading',
      'trailing ',
      'tab\there',
      'line\r\nbreak',
      'bell\u0007',
      'del\u007f',
      'c1\u0085',
      'ls\u2028ps\u2029',
      'bom\ufeff',
      'lone \ud800 surrogate',
      'emoji 🐇',
      'back\\slash',
      '__proto__',
      'e0',
      'E+5',
      '+.',
      '+e3',
      '+x',
      'constructor',
    ];
    for (const text of tricky) expectRoundTrip({ [text]: text, list: [text] });
    expectRoundTrip('null');
    expectRoundTrip('---');
  });

  it('writes multi-line text as a literal block, keeping its final line breaks', () => {
    expect(toYaml({ description: 'one\ntwo\n' })).toBe('description: |\n  one\n  two\n');
    expect(toYaml({ description: 'one\n\ntwo' })).toBe('description: |-\n  one\n\n  two\n');
    expect(toYaml(['one\ntwo\n\n'])).toBe('- |+\n  one\n  two\n\n');
    for (const text of [
      'a\nb',
      'a\nb\n',
      'a\nb\n\n\n',
      'a\n  indented\nb',
      'a\n   \nb',
      'a\n# not a comment\n- not an item',
      ' leading space\nb',
      '\nleading line break',
      'a\n\tb',
      'a\n',
      'trailing spaces  \nline  ',
    ]) {
      expectRoundTrip({ text, list: [text, { text }], nested: { deeper: { text } } });
      expectRoundTrip(text);
    }
  });

  it('writes numbers as JSON does', () => {
    for (const number of [0, -0, 1.5, -2, 1e21, 1e-7, 2 ** 53, Number.MAX_VALUE, 5e-324]) {
      expectRoundTrip({ number });
    }
    expect(toYaml({ nan: Number.NaN, infinity: Number.POSITIVE_INFINITY })).toBe(
      'nan: null\ninfinity: null\n',
    );
  });

  it('writes a key longer than YAML allows for an implicit key in the explicit form', () => {
    const key = 'k'.repeat(2000);
    const text = toYaml({ [key]: 'value', other: { [key]: [1] } });
    expect(text.startsWith(`? ${key}\n: value\n`)).toBe(true);
    expectRoundTrip({ [key]: 'value', other: { [key]: [1] } });
  });

  it('leaves out undefined properties and refuses what JSON cannot hold', () => {
    expect(toYaml({ a: 1, b: undefined } as unknown as JsonValue)).toBe('a: 1\n');
    expect(() => toYaml({ a: 1n } as unknown as JsonValue)).toThrow(TypeError);
    expect(() => toYaml({ a: { b: () => 1 } } as unknown as JsonValue)).toThrow(/\/a\/b/);
  });

  it('round-trips arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => expectRoundTrip(value as JsonValue)),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary' }), (value) =>
        expectRoundTrip(value as JsonValue),
      ),
      { numRuns: 500 },
    );
    // Short strings of the characters YAML gives a meaning to, as keys and values.
    const yamlish = fc.string({
      maxLength: 6,
      unit: fc.constantFrom(...'eE0178.+-_:xbnoy~ <=#truefalsNOY\n|>!&*?%@`,[{"\'\t\\'.split('')),
    });
    fc.assert(
      fc.property(yamlish, yamlish, (key, text) => expectRoundTrip({ [key]: text, list: [text] })),
      { numRuns: 3000 },
    );
  });
});
