// Loaded by otel-entry.spec.ts with plain Node (no vitest resolver in between): what
// `warren/otel` resolves to inside this package (its self-reference), in both module systems,
// and whether loading `warren` alone loads @opentelemetry/api. Prints one JSON line.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
await import('warren');
require('warren');
const apiLoadedByWarren = Object.keys(require.cache).some((file) =>
  file.includes('@opentelemetry'),
);
const esm = await import('warren/otel');
const cjs = require('warren/otel');
const instrumentation = esm.instrument();
instrumentation.disable();
console.log(
  JSON.stringify({
    otel: import.meta.resolve('warren/otel'),
    apiLoadedByWarren,
    esmExports: Object.keys(esm).sort(),
    cjsExports: Object.keys(cjs).sort(),
    disabled: true,
  }),
);
