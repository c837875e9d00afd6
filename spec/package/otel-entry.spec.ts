/**
 * The built `warren/otel` entry (dist/otel.*): it resolves, in ESM and CJS, to the package's
 * own build; it imports `warren` and `@opentelemetry/api` by name (neither is bundled into it);
 * and warren's main entry never loads `@opentelemetry/api`, an optional peer dependency. Plain
 * Node runs the check (otel-entry.mjs). Needs `npm run build` first.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const dist = join(root, 'dist');

interface Report {
  otel: string;
  apiLoadedByWarren: boolean;
  esmExports: string[];
  cjsExports: string[];
}

let report: Report;

beforeAll(() => {
  for (const file of ['index.js', 'index.cjs', 'otel.js', 'otel.cjs', 'otel.d.ts']) {
    if (!existsSync(join(dist, file))) {
      throw new Error(`dist/${file} is missing: run \`npm run build\` before this test`);
    }
  }
  const out = execFileSync(process.execPath, [join(import.meta.dirname, 'otel-entry.mjs')], {
    cwd: root,
    encoding: 'utf8',
  });
  report = JSON.parse(out) as Report;
});

describe('warren/otel, built', () => {
  it('resolves to dist/otel.js and exports the same in both builds', () => {
    expect(report.otel).toBe(`file://${join(dist, 'otel.js')}`);
    expect(report.esmExports).toEqual([
      'INSTRUMENTATION_NAME',
      'METRICS',
      'SEMCONV_VERSION',
      'instrument',
    ]);
    expect(report.cjsExports).toEqual(report.esmExports);
  });

  it('imports warren and @opentelemetry/api by name; warren itself never loads the API', () => {
    const esm = readFileSync(join(dist, 'otel.js'), 'utf8');
    const cjs = readFileSync(join(dist, 'otel.cjs'), 'utf8');
    expect(esm).toMatch(/from "warren"/);
    expect(esm).toMatch(/from "@opentelemetry\/api"/);
    expect(cjs).toMatch(/require\("warren"\)/);
    expect(cjs).toMatch(/require\("@opentelemetry\/api"\)/);
    for (const main of ['index.js', 'index.cjs']) {
      expect(readFileSync(join(dist, main), 'utf8')).not.toMatch(/@opentelemetry/);
    }
    expect(report.apiLoadedByWarren).toBe(false);
  });
});
