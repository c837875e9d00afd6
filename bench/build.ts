/**
 * How the benchmark compiles its workers and clients to plain JavaScript (warren's lib/ bundled
 * in, as an application would ship it; packages left to node_modules), so that a run measures
 * the client and not a TypeScript loader: tsx's hooks thread would add its memory to every peak
 * RSS. One set of esbuild options for today's clients and for a `--baseline` one, so that the
 * two warrens differ only in their source.
 *
 * @module
 */
import * as path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
/** Where the workers are compiled to: inside the project, so that packages resolve from node_modules. */
export const BUILD_DIR = path.join(ROOT, 'node_modules', '.cache', 'warren-bench');

/**
 * Compiles each entry (output name without `.js` → source file) into {@link BUILD_DIR};
 * `clean` empties the folder first. `lib` is the warren source the subpath entries' `warren`
 * imports resolve to: today's, or a baseline's. Rejects when esbuild reports an error.
 */
export async function compile(
  entry: Record<string, string>,
  clean: boolean,
  lib = path.join(ROOT, 'lib'),
): Promise<void> {
  const { build } = await import('tsup');
  await build({
    esbuildOptions(options) {
      options.alias = { ...options.alias, warren: path.join(lib, 'index.ts') };
    },
    entry,
    outDir: BUILD_DIR,
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    bundle: true,
    skipNodeModulesBundle: true,
    splitting: false,
    sourcemap: false,
    dts: false,
    clean,
    silent: true,
    config: false,
  });
}
