/**
 * How a connection reaches a broker, again and again: the list of hosts to
 * try in turn, fresh credentials for each attempt, and the handshake options.
 */
import { connectEngine } from './engine/connect.js';
import type { Engine } from './engine/engine.js';
import { type HostAddress, hostPortText } from './host.js';
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

/** @internal Opens engines to the hosts in turn. */
export class Connector {
  /** The index of the host the next attempt goes to. */
  private next = 0;
  /** The host of the last attempt that worked. */
  private connected: HostAddress | undefined;

  constructor(
    private readonly options: ResolvedOptions,
    readonly hosts: readonly HostAddress[],
    private readonly clientProperties: FieldTable,
    private readonly credentials: CredentialsProvider | undefined,
  ) {}

  /** The host the next attempt goes to, as `host:port` (`[::1]:5672` for IPv6). */
  get nextHost(): string {
    return hostPortText(this.nextAddress);
  }

  /** The host the next attempt goes to: after a success, the one connected to. */
  get nextAddress(): HostAddress {
    return this.hosts[this.next % this.hosts.length] as HostAddress;
  }

  /** The host the engine now open reached (the first host before any connected). */
  get current(): HostAddress {
    return this.connected ?? (this.hosts[0] as HostAddress);
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
        maxBufferedDeliveryBytes: options.maxBufferedDeliveryBytes,
        maxBufferedPublishBytes: options.maxBufferedPublishBytes,
        clientProperties: this.clientProperties,
      },
      options.connectionTimeout,
      signal,
    );
    // The host that worked is tried first next time.
    this.next--;
    this.connected = host;
    return engine;
  }
}
