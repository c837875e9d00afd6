/**
 * The `warren` command: a table of subcommands, each with its usage, its
 * options (as `node:util` `parseArgs` takes them) and what it runs. Adding
 * a command is one entry in {@link COMMANDS}. Exit codes: 0 done, 1 a
 * failure, 2 a usage mistake (unknown command or option, missing argument).
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { asyncApiCommand } from './asyncapi-command.js';
import { checkCommand } from './check-command.js';
import { CommandLineError } from './command-line-error.js';

/** Where a command reads and writes: the process's, or a test's. */
export interface CommandIo {
  /** The directory relative paths are resolved against. */
  readonly cwd: string;
  /** Writes to standard output. */
  out(text: string): void;
  /** Writes to standard error. */
  err(text: string): void;
}

/** What a command is given: its arguments, parsed. */
export interface CommandInput {
  /** The positional arguments, after the command's name. */
  readonly positionals: readonly string[];
  /** The options, by name: `true` for a flag, the text (or texts, if repeatable) for the others. */
  readonly values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
}

/** A subcommand of `warren`. */
export interface Command {
  /** Its arguments, for the usage line: `<module> [exportName] [--yaml|--json]`. */
  readonly usage: string;
  /** What it does, in one line. */
  readonly summary: string;
  /** Its options explained, a line each, for `--help`. */
  readonly help: readonly string[];
  /** Its options, as `parseArgs` takes them (`--help` is added). */
  readonly options: NonNullable<ParseArgsConfig['options']>;
  /** How many positional arguments it takes: at least, at most. */
  readonly positionals: readonly [min: number, max: number];
  /**
   * Does the work; resolves to the exit code (0 unless it says otherwise).
   * @throws CommandLineError for a usage mistake (exit 2) or a failure (exit 1)
   */
  run(input: CommandInput, io: CommandIo): Promise<number | undefined>;
}

/** The subcommands, by name. Another command is one more entry here. */
export const COMMANDS: Readonly<Record<string, Command>> = {
  asyncapi: asyncApiCommand,
  check: checkCommand,
};

/**
 * Runs `warren` with `argv` (the arguments after the program's name) and
 * resolves to the exit code; never rejects.
 */
export async function runCli(argv: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(overview());
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = rest[0] === undefined ? undefined : COMMANDS[rest[0]];
    io.out(topic === undefined ? overview() : commandHelp(rest[0] as string, topic));
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    io.err(`warren: unknown command '${name}'\n\n${overview()}`);
    return 2;
  }
  try {
    const input = parse(name, command, rest);
    if (input.values.help === true) {
      io.out(commandHelp(name, command));
      return 0;
    }
    return (await command.run(input, io)) ?? 0;
  } catch (error) {
    if (error instanceof CommandLineError) {
      const usage = error.exitCode === 2 ? `\nusage: warren ${name} ${command.usage}\n` : '';
      io.err(`warren ${name}: ${error.message}\n${usage}`);
      return error.exitCode;
    }
    io.err(`warren ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

/** Parses a command's arguments; a mistake is a usage error. */
function parse(name: string, command: Command, args: readonly string[]): CommandInput {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...args],
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    // parseArgs says what is wrong (an unknown option, a missing value) in its message.
    throw new CommandLineError((error as Error).message, 2);
  }
  const [min, max] = command.positionals;
  const count = parsed.positionals.length;
  if (parsed.values.help !== true && (count < min || count > max)) {
    throw new CommandLineError(
      count < min
        ? `${name} needs ${min === max ? min : `at least ${min}`} argument${min === 1 ? '' : 's'}`
        : `too many arguments: ${parsed.positionals.slice(max).join(' ')}`,
      2,
    );
  }
  return { positionals: parsed.positionals, values: parsed.values };
}

function overview(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(
    ([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`,
  );
  return [
    'usage: warren <command> [arguments]',
    '',
    'commands:',
    ...lines,
    '',
    'warren <command> --help explains a command.',
    '',
  ].join('\n');
}

function commandHelp(name: string, command: Command): string {
  return [
    `usage: warren ${name} ${command.usage}`,
    '',
    command.summary,
    '',
    ...command.help.map((line) => `  ${line}`),
    '',
  ].join('\n');
}
