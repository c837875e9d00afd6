import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: ['lib/index.ts'],
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
