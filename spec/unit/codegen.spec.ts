import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { type AmqpSpec, generateSpec, specJsonPath, specTsPath } from '../../codegen/generate.js';

const json = (): AmqpSpec => JSON.parse(readFileSync(specJsonPath, 'utf8')) as AmqpSpec;

describe('codegen', () => {
  const generated = generateSpec(json());
  const committed = readFileSync(specTsPath, 'utf8');

  test('the committed lib/protocol/spec.ts is exactly what the generator makes (run `npm run codegen`)', () => {
    expect(generated.length).toBe(committed.length);
    // Compare line by line first, so that a mismatch shows where it is.
    const generatedLines = generated.split('\n');
    const committedLines = committed.split('\n');
    for (let i = 0; i < Math.max(generatedLines.length, committedLines.length); i++) {
      if (generatedLines[i] !== committedLines[i]) {
        expect.fail(
          `line ${i + 1} differs:\n  generated: ${generatedLines[i]}\n  committed: ${committedLines[i]}`,
        );
      }
    }
    expect(Buffer.from(generated, 'utf8').equals(Buffer.from(committed, 'utf8'))).toBe(true);
  });

  test('the file starts with the GENERATED marker', () => {
    expect(generated.startsWith('// GENERATED FILE: do not edit.')).toBe(true);
  });

  test('it carries the copyright notice of the AMQP definition', () => {
    expect(generated).toContain('// Copyright (C) 2008-2020 VMware, Inc. or its affiliates.');
    expect(generated).toContain('// Permission is hereby granted, free of charge');
    for (const line of json().copyright.join('').trimEnd().split('\n')) {
      expect(generated).toContain(`// ${line}`.trimEnd());
    }
  });

  test('generation is deterministic and does not change its input', () => {
    const spec = json();
    const before = JSON.stringify(spec);
    expect(generateSpec(spec)).toBe(generated);
    expect(JSON.stringify(spec)).toBe(before);
  });

  test('an argument of a type the generator does not know is refused', () => {
    const spec = json();
    const first = spec.classes[0]?.methods[0]?.arguments[0];
    if (first === undefined) throw new Error('the definition has no arguments');
    first.type = 'float128';
    delete first.domain;
    expect(() => generateSpec(spec)).toThrow(/unknown type/);
  });
});
