/**
 * `warren check <old> <new>`: the schema evolution check as a CI step. It
 * loads the contract a service was built with and the new one, prints the
 * report (text, or JSON with `--json`), and returns the exit status.
 */
import { parseArgs } from 'node:util';
import { compareContracts } from './compatibility.js';
import { compatibilityExitCode, formatCompatibilityReport } from './compatibility-report.js';
import { loadContract } from './load.js';

/** Where the command writes, and where it resolves module paths from. */
export interface CommandIo {
  /** Writes to standard output. */
  readonly stdout: (text: string) => void;
  /** Writes to standard error. */
  readonly stderr: (text: string) => void;
  /** The directory module paths are relative to. */
  readonly cwd: string;
}

/** The usage text, printed by `--help` and after a usage error. */
export const CHECK_USAGE = `Usage: warren check <old-module> <new-module> [export-name [new-export-name]] [options]

Compares the contract a service was built with (old) with a new one, for each
message in both directions of a rolling deploy, and the routes removed or moved.

  <old-module>, <new-module>  built modules (paths or package names) exporting a contract
  export-name                the export holding the contract (default: the one contract export)
  new-export-name            the export in the new module, when its name differs

Options:
  --allow-unknown  pass when some change cannot be proven safe (breaking changes still fail)
  --json           print the report as JSON instead of text
  -h, --help       print this text

Exit status: 0 compatible, 1 breaking (or unknown without --allow-unknown), 2 usage or load error.
`;

/**
 * Runs `warren check` with the arguments after `check`, and returns the
 * exit status: 0 when the report passes, 1 when it fails (see
 * `compatibilityExitCode`), 2 for bad arguments or a module that cannot be
 * loaded. It never calls `process.exit`.
 * @internal Called by the `warren` command line.
 */
export async function compatibilityCommand(
  argv: readonly string[],
  io: CommandIo = processIo(),
): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.stderr(`warren check: ${messageOf(error)}\n\n${CHECK_USAGE}`);
    return 2;
  }
  if (parsed.values.help === true) {
    io.stdout(CHECK_USAGE);
    return 0;
  }
  const [oldModule, newModule, exportName, newExportName = exportName] = parsed.positionals;
  if (oldModule === undefined || newModule === undefined || parsed.positionals.length > 4) {
    io.stderr(`warren check: give the old and the new module\n\n${CHECK_USAGE}`);
    return 2;
  }
  let report: ReturnType<typeof compareContracts>;
  try {
    const previous = await loadContract(oldModule, exportName, io.cwd);
    const next = await loadContract(newModule, newExportName, io.cwd);
    report = compareContracts(previous.contract, next.contract);
  } catch (error) {
    io.stderr(`warren check: ${messageOf(error)}\n`);
    return 2;
  }
  io.stdout(
    parsed.values.json === true
      ? `${JSON.stringify(report, null, 2)}\n`
      : formatCompatibilityReport(report),
  );
  return compatibilityExitCode(report, { allowUnknown: parsed.values['allow-unknown'] === true });
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      'allow-unknown': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function processIo(): CommandIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    cwd: process.cwd(),
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
