/**
 * A TCP proxy owned by a test, between warren and the broker, that can break the network on
 * demand: cut every connection (FIN), reset them (RST), black-hole traffic in one or both
 * directions without closing anything, throttle bandwidth, and refuse new connections.
 */
import * as net from 'node:net';

/** Which way traffic is dropped: `up` is client → broker, `down` broker → client. */
export type Direction = 'up' | 'down' | 'both';

interface Link {
  readonly client: net.Socket;
  readonly upstream: net.Socket;
  dropUp: boolean;
  dropDown: boolean;
}

export class TcpProxy {
  private readonly links = new Set<Link>();
  private refusing = false;
  /** Bytes per second in each direction; null for no limit. */
  private rate: number | null = null;
  /** How many client connections the proxy has accepted, ever. */
  accepted = 0;

  private constructor(
    private readonly server: net.Server,
    private readonly target: { host: string; port: number },
  ) {
    server.on('connection', (client) => this.accept(client));
  }

  /** Listens on a free port of 127.0.0.1 and forwards to `target`. */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const server = net.createServer();
    const proxy = new TcpProxy(server, target);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  /** Forwards to the AMQP URL's host and port; {@link TcpProxy.url} gives the URL through the proxy. */
  static async for(brokerUrl: string): Promise<TcpProxy> {
    const url = new URL(brokerUrl);
    return TcpProxy.start({ host: url.hostname, port: Number(url.port || 5672) });
  }

  /** The port the proxy listens on. */
  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** How many client connections are open through the proxy now. */
  get open(): number {
    return this.links.size;
  }

  /** `brokerUrl` with its host and port replaced by the proxy's. */
  url(brokerUrl: string): string {
    const url = new URL(brokerUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }

  /** Closes every open connection, both sides, as a dying peer would (FIN). */
  cut(): void {
    for (const link of this.links) {
      link.client.destroy();
      link.upstream.destroy();
    }
    this.links.clear();
  }

  /** Resets every open connection, both sides (RST), as a crashed host or a firewall would. */
  reset(): void {
    for (const link of this.links) {
      link.client.resetAndDestroy();
      link.upstream.resetAndDestroy();
    }
    this.links.clear();
  }

  /** Silently drops the traffic of the open connections, nothing closed: a dead peer or a partition. */
  blackhole(direction: Direction = 'both'): void {
    for (const link of this.links) {
      link.dropUp ||= direction !== 'down';
      link.dropDown ||= direction !== 'up';
    }
  }

  /** Limits each direction of every connection to `bytesPerSecond`; null lifts the limit. */
  throttle(bytesPerSecond: number | null): void {
    this.rate = bytesPerSecond;
  }

  /** While on, new connections are closed as soon as they arrive (the broker seems down). */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  /** Stops listening and closes everything. */
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.accepted++;
    if (this.refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.target.port, this.target.host);
    const link: Link = { client, upstream, dropUp: false, dropDown: false };
    this.links.add(link);
    const end = (): void => {
      this.links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
    this.pipe(client, upstream, () => link.dropUp);
    this.pipe(upstream, client, () => link.dropDown);
  }

  private pipe(from: net.Socket, to: net.Socket, dropping: () => boolean): void {
    from.on('data', (chunk: Buffer) => {
      if (dropping()) return;
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
      if (this.rate !== null) {
        // Pace the source: this chunk "takes" its share of a second at the given rate.
        from.pause();
        setTimeout(() => from.resume(), (chunk.length / this.rate) * 1000);
      }
    });
  }
}
