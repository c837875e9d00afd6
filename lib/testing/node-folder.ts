/**
 * A node's temporary folder: its data, logs, `HOME` (with the Erlang cookie),
 * config and plugins files, and a `broker.json` that lets other processes of
 * this machine find the node by name (`rabbitmqctl` from a test worker).
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BrokerTlsOptions, StartBrokerOptions } from './broker.js';
import { HOST, lastLines, type RunAs, searchPath } from './processes.js';

/** Every node folder is `<tmp>/warren-rabbitmq-XXXXXX`. */
export const DIR_PREFIX = 'warren-rabbitmq-';
/** Written into every node folder so other processes can find a node by name. */
const INFO_FILE = 'broker.json';
/** The node's config file, written only when there is something to configure. */
export const CONFIG_FILE = 'rabbitmq.conf';
/** How much of a log file an error shows. */
export const TAIL_LINES = 40;

/** What `rabbitmqctl` needs to reach a node: its name and the environment it runs with. */
export interface BrokerInfo {
  nodeName: string;
  amqpPort: number;
  distPort: number;
  env: Record<string, string>;
}

/** `name@localhost` unless `name` has a host part. */
export function qualifyNodeName(name: string): string {
  return name.includes('@') ? name : `${name}@localhost`;
}

/** A fresh, empty node folder. */
export function makeNodeFolder(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), DIR_PREFIX));
}

/**
 * The folder and description of a node that {@link prepareFolder} set up on this machine (in
 * this process or another), found by its node name; undefined when there is none.
 */
export async function findNodeFolder(
  nodeName: string,
): Promise<{ dir: string; info: BrokerInfo } | undefined> {
  const tmp = os.tmpdir();
  for (const entry of await fs.readdir(tmp)) {
    if (!entry.startsWith(DIR_PREFIX)) continue;
    const dir = path.join(tmp, entry);
    try {
      const info = JSON.parse(await fs.readFile(path.join(dir, INFO_FILE), 'utf8')) as BrokerInfo;
      if (info.nodeName === nodeName) return { dir, info };
    } catch {
      // not (or no longer) a node folder
    }
  }
  return undefined;
}

export async function logFileTails(dir: string): Promise<string[]> {
  const logDir = path.join(dir, 'log');
  const sections: string[] = [];
  try {
    for (const file of (await fs.readdir(logDir)).sort()) {
      if (!file.endsWith('.log')) continue;
      const text = await fs.readFile(path.join(logDir, file), 'utf8');
      if (text.trim() !== '') {
        sections.push(`--- ${path.join(logDir, file)} (last ${TAIL_LINES} lines) ---`);
        sections.push(lastLines(text, TAIL_LINES));
      }
    }
  } catch {
    // no logs yet
  }
  return sections;
}

export function nodeEnvironment(
  dir: string,
  nodeName: string,
  amqpPort: number,
  distPort: number,
  extraEnv: Record<string, string>,
): Record<string, string> {
  return {
    PATH: searchPath().join(':'),
    HOME: path.join(dir, 'home'),
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_IP_ADDRESS: HOST,
    RABBITMQ_NODE_PORT: String(amqpPort),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    ...extraEnv,
  };
}

/** `rabbitmq.conf` lines (new-style, sysctl format) for a TLS listener; see {@link BrokerTlsOptions}. */
function tlsConfig(port: number, tls: BrokerTlsOptions): string[] {
  return [
    `listeners.ssl.default = ${HOST}:${port}`,
    `ssl_options.cacertfile = ${tls.caFile}`,
    `ssl_options.certfile = ${tls.certFile}`,
    `ssl_options.keyfile = ${tls.keyFile}`,
    `ssl_options.verify = ${tls.verifyPeer === true ? 'verify_peer' : 'verify_none'}`,
    `ssl_options.fail_if_no_peer_cert = ${tls.verifyPeer === true}`,
  ];
}

/** The node's `rabbitmq.conf`, or `undefined` when there is nothing to configure. */
export function nodeConfig(
  tlsPort: number | undefined,
  options: StartBrokerOptions,
): string | undefined {
  const lines = [
    ...(options.tls === undefined ? [] : tlsConfig(tlsPort ?? 0, options.tls)),
    ...(options.extraConfig ?? []),
  ];
  return lines.length === 0 ? undefined : `${lines.join('\n')}\n`;
}

/** The `enabled_plugins` file: an Erlang list of plugin names. @throws TypeError for a bad name. */
export function enabledPlugins(plugins: readonly string[]): string {
  for (const plugin of plugins) {
    if (!/^[a-z][a-z0-9_]*$/.test(plugin)) throw new TypeError(`not a plugin name: '${plugin}'`);
  }
  return `[${plugins.join(',')}].\n`;
}

export async function prepareFolder(
  dir: string,
  info: BrokerInfo,
  runAs: RunAs | undefined,
  config: string | undefined,
  erlangCookie: string | undefined,
  plugins: string,
) {
  const created = [dir];
  for (const sub of ['mnesia', 'log', 'home']) {
    await fs.mkdir(path.join(dir, sub));
    created.push(path.join(dir, sub));
  }
  if (erlangCookie !== undefined) {
    // Erlang refuses a cookie file that others can read.
    const cookieFile = path.join(dir, 'home', '.erlang.cookie');
    await fs.writeFile(cookieFile, erlangCookie, { mode: 0o400 });
    created.push(cookieFile);
  }
  await fs.writeFile(path.join(dir, 'enabled_plugins'), plugins);
  if (config !== undefined) {
    await fs.writeFile(path.join(dir, CONFIG_FILE), config);
    created.push(path.join(dir, CONFIG_FILE));
  }
  await fs.writeFile(path.join(dir, INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
  created.push(path.join(dir, 'enabled_plugins'), path.join(dir, INFO_FILE));
  if (runAs) {
    for (const file of created) await fs.chown(file, runAs.uid, runAs.gid);
  }
}
