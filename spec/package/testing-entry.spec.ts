/**
 * The built `warren/testing` entry (dist/testing.*) loads the package's own main entry at run
 * time, not a copy bundled into it: its error classes extend the very `AmqpError` that
 * `warren` exports, in the ESM build and in the CJS build. Plain Node runs the check
 * (testing-entry.mjs), as an application would load it. Needs `npm run build` first.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const dist = join(root, 'dist');

interface Report {
  warren: string;
  testing: string;
  esmExtendsEsm: boolean;
  cjsExtendsCjs: boolean;
  esmInstanceOfEsm: boolean;
  cjsInstanceOfCjs: boolean;
  rabbitmqctlExtendsEsm: boolean;
  ownName: boolean;
}

let report: Report;

beforeAll(() => {
  for (const file of ['index.js', 'index.cjs', 'testing.js', 'testing.cjs']) {
    if (!existsSync(join(dist, file))) {
      throw new Error(`dist/${file} is missing: run \`npm run build\` before this test`);
    }
  }
  const out = execFileSync(process.execPath, [join(import.meta.dirname, 'testing-entry.mjs')], {
    cwd: root,
    encoding: 'utf8',
  });
  report = JSON.parse(out) as Report;
});

describe('warren/testing, built', () => {
  it('resolves, with warren, to the package’s own dist/ entries', () => {
    expect(report.warren).toBe(`file://${join(dist, 'index.js')}`);
    expect(report.testing).toBe(`file://${join(dist, 'testing.js')}`);
  });

  it('extends the AmqpError of warren itself, in both builds', () => {
    expect(report.esmExtendsEsm).toBe(true);
    expect(report.cjsExtendsCjs).toBe(true);
    expect(report.rabbitmqctlExtendsEsm).toBe(true);
    expect(report.esmInstanceOfEsm).toBe(true);
    expect(report.cjsInstanceOfCjs).toBe(true);
    expect(report.ownName).toBe(true);
  });

  it('bundles none of warren: its builds import the package by name', () => {
    const esm = readFileSync(join(dist, 'testing.js'), 'utf8');
    const cjs = readFileSync(join(dist, 'testing.cjs'), 'utf8');
    const types = readFileSync(join(dist, 'testing.d.ts'), 'utf8');
    expect(esm).toMatch(/from "warren"/);
    expect(cjs).toMatch(/require\("warren"\)/);
    expect(types).toMatch(/from 'warren'/);
    // A class of warren's own, had it been bundled, would be defined here.
    for (const text of [esm, cjs, types]) {
      expect(text).not.toMatch(
        /class (AmqpError|Connection|Channel)\b|\b(AmqpError|Connection|Channel) = class\b/,
      );
    }
  });
});
