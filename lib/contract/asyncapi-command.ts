/**
 * `warren asyncapi <module> [exportName]`: writes the AsyncAPI document of
 * a built contract module, to standard output or a file.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type AsyncApiOptions, asyncApi } from './asyncapi.js';
import type { AsyncApiDocument } from './asyncapi-document.js';
import type { Command, CommandInput, CommandIo } from './cli.js';
import { CommandLineError } from './command-line-error.js';
import { loadContract } from './load-contract.js';
import { toYaml } from './yaml.js';

/** The `asyncapi` command. */
export const asyncApiCommand: Command = {
  usage:
    '<module> [exportName] [--yaml|--json] [--out file] [--server [name=]url]... [--vhost name]',
  summary: 'Writes the AsyncAPI 3.0 document of a contract module.',
  help: [
    '<module>         a built module (a path, or a package name) that exports a contract',
    '[exportName]     the export holding it: by default the only contract, or the default export',
    '--json           write JSON (the default, unless --out ends with .yaml or .yml)',
    '--yaml           write YAML',
    '--out, -o file   write to this file instead of standard output',
    '--server url     list a broker in servers (repeatable; name=url names it, else "default");',
    '                 its user name and password are never written',
    "--vhost name     the vhost the exchanges and queues live in (default: the servers')",
  ],
  options: {
    json: { type: 'boolean' },
    yaml: { type: 'boolean' },
    out: { type: 'string', short: 'o' },
    server: { type: 'string', multiple: true },
    vhost: { type: 'string' },
  },
  positionals: [1, 2],
  run,
};

async function run({ positionals, values }: CommandInput, io: CommandIo): Promise<number> {
  const [specifier, exportName] = positionals as [string, string | undefined];
  const out = values.out as string | undefined;
  if (values.json === true && values.yaml === true) {
    throw new CommandLineError('--json and --yaml: choose one', 2);
  }
  const yaml = values.yaml === true || (values.json !== true && /\.ya?ml$/i.test(out ?? ''));
  const options = optionsOf(
    values.server as string[] | undefined,
    values.vhost as string | undefined,
  );
  const { contract } = await loadContract(specifier, exportName, io.cwd);
  let document: AsyncApiDocument;
  try {
    document = asyncApi(contract, options);
  } catch (error) {
    // The contract is one; what asyncApi refuses is an option: a --server or --vhost.
    throw new CommandLineError((error as Error).message.replace(/^asyncApi: /, ''), 2, {
      cause: error,
    });
  }
  const text = yaml ? toYaml(document) : `${JSON.stringify(document, null, 2)}\n`;
  warnUnrepresentable(document, io);
  if (out === undefined) {
    io.out(text);
    return 0;
  }
  try {
    await writeFile(resolve(io.cwd, out), text);
  } catch (error) {
    throw new CommandLineError(`cannot write ${out}: ${(error as Error).message}`, 1, {
      cause: error,
    });
  }
  return 0;
}

/** The options of `asyncApi` from `--server [name=]url` and `--vhost`. */
function optionsOf(
  servers: readonly string[] | undefined,
  vhost: string | undefined,
): AsyncApiOptions {
  // A Map: a server named `__proto__` is a name like any other.
  const named = new Map<string, string>();
  for (const value of servers ?? []) {
    // `name=url`, where the `=` comes before the URL's `://`.
    const equals = value.indexOf('=');
    const scheme = value.indexOf('://');
    const hasName = equals > 0 && (scheme === -1 || equals < scheme);
    const name = hasName ? value.slice(0, equals) : 'default';
    if (named.has(name)) {
      throw new CommandLineError(`two --server options are named '${name}'`, 2);
    }
    named.set(name, hasName ? value.slice(equals + 1) : value);
  }
  return {
    ...(named.size === 0 ? {} : { servers: Object.fromEntries(named) }),
    ...(vhost === undefined ? {} : { vhost }),
  };
}

/** Each part of a message's schema JSON Schema cannot express, on standard error. */
function warnUnrepresentable(document: AsyncApiDocument, io: CommandIo): void {
  for (const message of Object.values(document.components.messages)) {
    for (const note of message['x-unrepresentable'] ?? []) {
      io.err(
        `warren asyncapi: warning: message '${message.name}' ${note} (any value is accepted there)\n`,
      );
    }
  }
}
