/**
 * The `warren` command (`npx warren …`): built to dist/bin.js, with a
 * `#!/usr/bin/env node` line, and named in package.json's `bin`.
 */
import { runCli } from './contract/cli.js';

// A reader that stops early (`warren asyncapi … | head`) closes the pipe: not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

// exitCode, not exit(): standard output to a pipe is written asynchronously.
process.exitCode = await runCli(process.argv.slice(2), {
  cwd: process.cwd(),
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
});
