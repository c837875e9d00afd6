/**
 * The `warren` command (`npx warren …`): built to dist/bin.js, with a
 * `#!/usr/bin/env node` line, and named in package.json's `bin`.
 */
import { runCli } from './contract/cli.js';

// exitCode, not exit(): standard output to a pipe is written asynchronously.
process.exitCode = await runCli(process.argv.slice(2), {
  cwd: process.cwd(),
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
});
