/**
 * Where RabbitMQ is installed on this machine, and which user its nodes run
 * as. Debian's package (`apt-get install -y rabbitmq-server`) is looked for
 * first, then `rabbitmq-server` on `PATH`.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { TestBrokerError } from './errors.js';
import { isExecutable, type RunAs, run, SYSTEM_PATH, which } from './processes.js';

/** The real start script; /usr/sbin/rabbitmq-server is a `su` wrapper that hides the pid. */
const DEBIAN_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const APT_TIMEOUT_MS = 15 * 60_000;

/** The two programs a node needs. */
export interface Tools {
  /** The `rabbitmq-server` start script. */
  readonly server: string;
  /** The `rabbitmqctl` beside it. */
  readonly ctl: string;
}

async function findServer(): Promise<string | undefined> {
  return (await isExecutable(DEBIAN_SERVER)) ? DEBIAN_SERVER : await which('rabbitmq-server');
}

/** Installs Debian's rabbitmq-server; only as root and only where apt-get exists. */
async function installWithApt(): Promise<void> {
  const aptGet = await which('apt-get');
  if (process.getuid?.() !== 0 || aptGet === undefined) return;
  process.stderr.write('[warren] rabbitmq-server is missing: installing it with apt-get\n');
  const env = { PATH: SYSTEM_PATH, DEBIAN_FRONTEND: 'noninteractive' };
  await run(aptGet, ['update'], { env, timeoutMs: APT_TIMEOUT_MS });
  await run(aptGet, ['install', '-y', 'rabbitmq-server'], { env, timeoutMs: APT_TIMEOUT_MS });
}

/**
 * Finds `rabbitmq-server` and the `rabbitmqctl` beside it; with `install`,
 * installs the package first when it is missing (as root, with apt-get).
 * @throws TestBrokerError `BROKER_NOT_INSTALLED`
 */
export async function locateTools(install = false): Promise<Tools> {
  let server = await findServer();
  if (server === undefined && install) {
    await installWithApt();
    server = await findServer();
  }
  if (server === undefined) {
    throw new TestBrokerError(
      'BROKER_NOT_INSTALLED',
      `RabbitMQ is not installed: neither ${DEBIAN_SERVER} nor rabbitmq-server on PATH exists. ` +
        'Install it (Debian, Ubuntu: `apt-get install -y rabbitmq-server`), or set AMQP_URL to ' +
        'use a running broker.',
    );
  }
  const sibling = path.join(path.dirname(server), 'rabbitmqctl');
  const ctl = (await isExecutable(sibling)) ? sibling : await which('rabbitmqctl');
  if (ctl === undefined) {
    throw new TestBrokerError(
      'BROKER_NOT_INSTALLED',
      `rabbitmqctl is not installed: not next to ${server}, nor on PATH`,
    );
  }
  return { server, ctl };
}

/**
 * The user nodes run as: the `rabbitmq` user when this process is root (RabbitMQ refuses a
 * data folder it cannot write, and should not run as root), `undefined` when they run as this
 * process's user. Files a node must read (TLS certificates and keys) must belong to this user.
 */
export async function resolveRunAs(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const passwd = await fs.readFile('/etc/passwd', 'utf8');
    for (const line of passwd.split('\n')) {
      const [name, , uid, gid] = line.split(':');
      if (name === 'rabbitmq' && uid !== undefined && gid !== undefined) {
        return { uid: Number(uid), gid: Number(gid) };
      }
    }
  } catch {
    // fall through to `id`
  }
  try {
    const uid = Number((await run('id', ['-u', 'rabbitmq'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'rabbitmq'])).stdout.trim());
    if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
  } catch {
    // no rabbitmq user: run as root, which RabbitMQ tolerates
  }
  return undefined;
}
