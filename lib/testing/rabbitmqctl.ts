/**
 * `rabbitmqctl` against a node: one started here (its own folder, user and
 * cookie), one started by another process of this machine (found by name),
 * or the machine's own RabbitMQ service.
 */
import { RabbitmqctlError, TestBrokerError } from './errors.js';
import { locateTools, resolveRunAs } from './install.js';
import { type BrokerInfo, findNodeFolder, qualifyNodeName } from './node-folder.js';
import { type RunAs, type RunResult, run, SYSTEM_PATH, which } from './processes.js';

/** rabbitmqctl boots an Erlang VM per call: seconds each on a loaded machine. */
const CTL_TIMEOUT_MS = 120_000;

/** Runs `rabbitmqctl` with fixed arguments before the caller's. */
export type Rabbitmqctl = (...args: string[]) => Promise<string>;

/** Runs `ctl` and turns a failure into a {@link RabbitmqctlError} with its output. */
async function runCtl(
  ctl: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; runAs: RunAs | undefined },
): Promise<string> {
  try {
    const { stdout } = await run(ctl, args, { ...options, timeoutMs: CTL_TIMEOUT_MS });
    return stdout;
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & Partial<RunResult> & { code?: unknown };
    const stderr = failure.stderr ?? '';
    const stdout = failure.stdout ?? '';
    const exitCode = typeof failure.code === 'number' ? failure.code : null;
    const detail = stderr.trim() || stdout.trim() || failure.message;
    throw new RabbitmqctlError(
      `rabbitmqctl ${args.join(' ')} failed (exit ${exitCode ?? 'signal'}): ${detail}`,
      exitCode,
      stdout,
      stderr,
    );
  }
}

/** `rabbitmqctl -n <node>` for a node in `dir`: as its user, with its HOME (cookie) and env. */
export function nodeRabbitmqctl(
  ctl: string,
  dir: string,
  info: BrokerInfo,
  runAs: RunAs | undefined,
): Rabbitmqctl {
  return (...args) =>
    runCtl(ctl, ['-n', info.nodeName, ...args], { env: info.env, cwd: dir, runAs });
}

/**
 * `rabbitmqctl` for the node named `nodeName`: one that {@link startBroker} started on this
 * machine, in this process or another (found by name among the node folders), else a node of
 * the machine's RabbitMQ service (the system `rabbitmqctl`, which takes care of its user and
 * cookie). Without a name, the service's default node.
 */
export function rabbitmqctlFor(nodeName: string | undefined): Rabbitmqctl {
  return async (...args) => {
    if (nodeName !== undefined) {
      const found = await findNodeFolder(qualifyNodeName(nodeName));
      if (found !== undefined) {
        const { ctl } = await locateTools();
        return nodeRabbitmqctl(ctl, found.dir, found.info, await resolveRunAs())(...args);
      }
    }
    const ctl = await which('rabbitmqctl');
    if (ctl === undefined) {
      throw new TestBrokerError(
        'RABBITMQCTL_UNAVAILABLE',
        `rabbitmqctl is not installed here, so warren cannot manage the broker${
          nodeName === undefined ? '' : ` node ${nodeName}`
        }: install RabbitMQ (apt-get install -y rabbitmq-server), or let useBroker() start a node`,
      );
    }
    const target = nodeName === undefined ? [] : ['-n', qualifyNodeName(nodeName)];
    return runCtl(ctl, [...target, ...args], {
      env: { PATH: SYSTEM_PATH, HOME: process.env.HOME ?? '/' },
      runAs: undefined,
    });
  };
}

/** A `rabbitmqctl` that always rejects with a {@link TestBrokerError} saying `why`. */
export function unavailableRabbitmqctl(why: string): Rabbitmqctl {
  return async () => {
    throw new TestBrokerError('RABBITMQCTL_UNAVAILABLE', why);
  };
}
