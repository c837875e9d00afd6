/**
 * How a connection reaches a broker, again and again: the list of hosts to
 * try in turn, fresh credentials for each attempt, and the handshake options.
 */
import { connectEngine } from './engine/connect.js';
import type { Engine } from './engine/engine.js';
import type { ResolvedOptions } from './options.js';
import type { FieldTable } from './protocol/field-types.js';

/** Credentials for one connection attempt. */
export interface Credentials {
  /** The user name; the connection's own when absent. */
  username?: string;
  /** The password, or the token for OAuth 2 brokers. */
  password: string;
}

/** Supplies credentials before every connection attempt, the first and each reconnect. */
export type CredentialsProvider = () => Credentials | Promise<Credentials>;

/** One broker address. */
export interface HostAddress {
  readonly hostname: string;
  readonly port: number;
}

/**
 * Parses `host`, `host:port`, `[v6]` or `[v6]:port`; the port defaults to
 * `defaultPort`. @throws TypeError / RangeError for a malformed entry.
 */
export function parseHost(entry: unknown, defaultPort: number): HostAddress {
  if (typeof entry !== 'string' || entry === '') {
    throw new TypeError(
      `hosts entries must be non-empty strings like 'host:5672', got ${String(entry)}`,
    );
  }
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  const plain = /^([^:[\]]+)(?::(\d+))?$/.exec(entry);
  const match = bracketed ?? plain;
  if (match === null) throw new TypeError(`hosts entry '${entry}' is not host or host:port`);
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (!(port >= 1 && port <= 0xffff))
    throw new RangeError(`hosts entry '${entry}' has no valid port`);
  return { hostname: match[1] as string, port };
}

/** @internal Opens engines to the hosts in turn. */
export class Connector {
  /** The index of the host the next attempt goes to. */
  private next = 0;

  constructor(
    private readonly options: ResolvedOptions,
    readonly hosts: readonly HostAddress[],
    private readonly clientProperties: FieldTable,
    private readonly credentials: CredentialsProvider | undefined,
  ) {}

  /** The host the next attempt goes to, as `host:port`. */
  get nextHost(): string {
    const host = this.hosts[this.next % this.hosts.length] as HostAddress;
    return `${host.hostname}:${host.port}`;
  }

  /** Connects to the next host, and moves on to the one after for the next attempt. */
  async connect(signal?: AbortSignal): Promise<Engine> {
    const host = this.hosts[this.next % this.hosts.length] as HostAddress;
    this.next++;
    const { options } = this;
    const fresh = this.credentials === undefined ? undefined : await this.credentials();
    const engine = await connectEngine(
      { host: host.hostname, port: host.port, tls: options.tls },
      {
        username: fresh?.username ?? options.username,
        password: fresh?.password ?? options.password,
        vhost: options.vhost,
        mechanism: options.mechanism,
        heartbeat: options.heartbeat,
        frameMax: options.frameMax,
        channelMax: options.channelMax,
        maxBodySize: options.maxBodySize,
        clientProperties: this.clientProperties,
      },
      options.connectionTimeout,
      signal,
    );
    // The host that worked is tried first next time.
    this.next--;
    return engine;
  }
}
