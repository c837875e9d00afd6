/**
 * `warren check <old> <new>`: the schema evolution check as a CI step. It
 * loads the contract a service was built with and the new one, prints the
 * report (text, or JSON with `--json`), and exits 0 when the change is
 * compatible, 1 when it is breaking (or cannot be told, without
 * `--allow-unknown`) or a module cannot be loaded, 2 for a usage mistake.
 */
import type { Command, CommandInput, CommandIo } from './cli.js';
import { compareContracts } from './compatibility.js';
import { compatibilityExitCode, formatCompatibilityReport } from './compatibility-report.js';
import { loadContract } from './load-contract.js';

/** The `check` command. */
export const checkCommand: Command = {
  usage: '<old-module> <new-module> [exportName [newExportName]] [--allow-unknown] [--json]',
  summary:
    'Compares the contract a service was built with and a new one: what could break a receiver.',
  help: [
    '<old-module>     the built module (a path, or a package name) the running services use',
    '<new-module>     the built module of the new contract',
    '[exportName]     the export holding the contract: by default the only contract, or default',
    '[newExportName]  the export in the new module, when its name differs',
    '--allow-unknown  pass when a change cannot be proven safe (breaking changes still fail)',
    '--json           print the report as JSON instead of text',
  ],
  options: {
    'allow-unknown': { type: 'boolean' },
    json: { type: 'boolean' },
  },
  positionals: [2, 4],
  run,
};

async function run({ positionals, values }: CommandInput, io: CommandIo): Promise<number> {
  const [oldModule, newModule, exportName, newExportName = exportName] = positionals as [
    string,
    string,
    string | undefined,
    string | undefined,
  ];
  const previous = await loadContract(oldModule, exportName, io.cwd);
  const next = await loadContract(newModule, newExportName, io.cwd);
  const report = compareContracts(previous.contract, next.contract);
  io.out(
    values.json === true
      ? `${JSON.stringify(report, null, 2)}\n`
      : formatCompatibilityReport(report),
  );
  return compatibilityExitCode(report, { allowUnknown: values['allow-unknown'] === true });
}
