import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'lib/index.ts',
    // warren/testing imports `warren` by name (tsconfig.json `paths` maps it to lib/index.ts
    // while type-checking): kept external, its build loads the package's own main entry at
    // run time, and its declarations refer to warren's, so there is one copy of every class.
    testing: 'lib/testing/index.ts',
  },
  external: ['warren'],
  format: ['esm', 'cjs'],
  target: 'node20',
  platform: 'node',
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: false,
});
