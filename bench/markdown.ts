import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');

/**
 * Markdown as the project's formatter (Biome, a dev dependency) writes it, so that
 * `npm run lint` passes on the reports under docs/; unchanged when Biome cannot be run.
 */
export function formatMarkdown(text: string): string {
  try {
    return execFileSync(
      path.join(ROOT, 'node_modules', '.bin', 'biome'),
      ['format', '--stdin-file-path=docs/report.md'],
      { cwd: ROOT, input: text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'] },
    );
  } catch {
    return text;
  }
}
