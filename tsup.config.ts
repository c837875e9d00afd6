import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: {
      index: 'lib/index.ts',
      // warren/testing imports `warren` by name (tsconfig.json `paths` maps it to lib/index.ts
      // while type-checking): kept external, its build loads the package's own main entry at
      // run time, and its declarations refer to warren's, so there is one copy of every class.
      testing: 'lib/testing/index.ts',
      // warren/otel likewise; @opentelemetry/api is an optional peer, loaded by this entry only.
      otel: 'lib/otel/index.ts',
    },
    external: ['warren', '@opentelemetry/api'],
    format: ['esm', 'cjs'],
    target: 'node20',
    platform: 'node',
    dts: true,
    sourcemap: true,
    // Both builds run at once: this one's cleaning must leave the command's files alone.
    clean: ['!bin.js', '!bin.js.map'],
    splitting: false,
  },
  {
    // The `warren` command (package.json "bin"): ESM only, run by node.
    entry: { bin: 'lib/bin.ts' },
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    dts: false,
    sourcemap: true,
    clean: false,
    splitting: false,
    banner: { js: '#!/usr/bin/env node' },
  },
]);
