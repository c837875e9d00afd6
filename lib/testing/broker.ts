/**
 * What `warren/testing` hands out: a broker to test against, and the
 * options of a throwaway node.
 */

/**
 * How a {@link TestBroker} was found:
 * - `started`: a throwaway node started for it ({@link startBroker}); `stop()` stops it;
 * - `AMQP_URL`: the broker the `AMQP_URL` environment variable names;
 * - `localhost`: a broker already answering AMQP on 127.0.0.1:5672;
 * - `given`: the URL passed in {@link UseBrokerOptions.url}.
 */
export type BrokerSource = 'started' | 'AMQP_URL' | 'localhost' | 'given';

/**
 * A broker for a test suite, from {@link useBroker} or {@link startBroker}.
 * {@link TestBroker.stop} stops only a node that was started for it.
 */
export interface TestBroker {
  /** The AMQP URL to connect to, with credentials (`amqp://guest:guest@127.0.0.1:5672/`). */
  readonly url: string;
  /** How it was found. */
  readonly source: BrokerSource;
  /** The Erlang node name `rabbitmqctl` targets, when known (always, for a started node). */
  readonly nodeName: string | undefined;
  /** One line that says which broker this is, for a log (never shows a password). */
  readonly description: string;
  /**
   * Runs `rabbitmqctl ...args` against this broker, as the node's user and with its Erlang
   * cookie. Resolves with standard output; rejects with a {@link RabbitmqctlError} when the
   * command fails, and with a {@link TestBrokerError} `RABBITMQCTL_UNAVAILABLE` when it cannot
   * reach the broker (a broker on another machine).
   */
  rabbitmqctl(...args: string[]): Promise<string>;
  /** Stops the node if it was started for this broker; otherwise does nothing. Idempotent. */
  stop(): Promise<void>;
}

/** Options for {@link startBroker}. Everything is optional; the defaults give a fresh node. */
export interface StartBrokerOptions {
  /**
   * Erlang node name; `@localhost` is appended when it has no host part.
   * Defaults to `warren-<pid>-<counter>-<random>@localhost` (unique even across module copies).
   */
  nodeName?: string;
  /** AMQP port on 127.0.0.1. Defaults to a free port. */
  amqpPort?: number;
  /** Erlang distribution port. Defaults to a free port (RabbitMQ's own default, AMQP + 20000, may collide). */
  distPort?: number;
  /** Extra environment for the node (and its `rabbitmqctl`), e.g. `RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS`. */
  extraEnv?: Record<string, string>;
  /** How long to wait for the node to accept AMQP before giving up. Defaults to 60 000 ms. */
  startTimeoutMs?: number;
  /** Adds a TLS (`amqps://`) listener on 127.0.0.1 beside the plain AMQP one. */
  tls?: BrokerTlsOptions;
  /**
   * Plugins to enable at boot, written to the node's `enabled_plugins` file, e.g.
   * `rabbitmq_auth_mechanism_ssl` (SASL EXTERNAL). They must be installed: Debian's package ships
   * them all under `/usr/lib/rabbitmq/lib/rabbitmq_server-<version>/plugins`. Defaults to none.
   */
  plugins?: string[];
  /**
   * More lines for the node's `rabbitmq.conf` (sysctl format), after the TLS ones, e.g.
   * `auth_mechanisms.1 = EXTERNAL` or `ssl_cert_login_from = common_name`. The file is written,
   * and passed as `RABBITMQ_CONFIG_FILE`, only when there is TLS or such a line.
   */
  extraConfig?: string[];
  /**
   * The node's Erlang cookie, written to `<dir>/home/.erlang.cookie` (its `rabbitmqctl` reads
   * the same file). Nodes that share a cookie can form a cluster. Defaults to a fresh one that
   * Erlang generates at the first start.
   */
  erlangCookie?: string;
  /**
   * When RabbitMQ is missing, installs Debian's package first (`apt-get install -y
   * rabbitmq-server`), as root on a machine with apt-get only; elsewhere it changes nothing.
   * Meant for CI images and throwaway containers, not a workstation.
   * @defaultValue false
   */
  installWithApt?: boolean;
}

/**
 * A TLS listener for {@link startBroker}, written as `rabbitmq.conf` in the node's folder and
 * passed as `RABBITMQ_CONFIG_FILE` (an `extraEnv` of that name wins). The broker does not ask
 * for a client certificate (`verify_none`, `fail_if_no_peer_cert = false`) unless
 * {@link BrokerTlsOptions.verifyPeer} says so.
 *
 * The files are PEM and must be readable by the node's user, `rabbitmq` when this process is
 * root: chown them to {@link resolveRunAs}'s uid/gid, folders included. RabbitMQ checks them at
 * boot: a file it cannot read fails the start (`failed_to_prepare_configuration`).
 *
 * For SASL EXTERNAL (log in as the client certificate's subject), add `verifyPeer: true`, the
 * {@link StartBrokerOptions.plugins} `['rabbitmq_auth_mechanism_ssl']` and the
 * {@link StartBrokerOptions.extraConfig} lines `auth_mechanisms.1 = EXTERNAL` (plus
 * `auth_mechanisms.2 = PLAIN` to keep user name and password logins) and
 * `ssl_cert_login_from = common_name`; the user must exist (`rabbitmqctl add_user`).
 */
export interface BrokerTlsOptions {
  /** TLS port on 127.0.0.1. Defaults to a free port. */
  port?: number;
  /** The broker's certificate (`ssl_options.certfile`). */
  certFile: string;
  /** The broker's private key, unencrypted (`ssl_options.keyfile`). */
  keyFile: string;
  /** The CA certificates the broker trusts and sends with its chain (`ssl_options.cacertfile`). */
  caFile: string;
  /**
   * Requires a client certificate signed by a CA in {@link caFile}: without one the TLS handshake
   * fails (`ssl_options.verify = verify_peer`, `fail_if_no_peer_cert = true`). Defaults to false.
   */
  verifyPeer?: boolean;
}

/** A running RabbitMQ node started by {@link startBroker}. */
export interface Broker extends TestBroker {
  /** `amqp://guest:guest@127.0.0.1:<amqpPort>/` */
  readonly url: string;
  /** Always `started`. */
  readonly source: 'started';
  /** Full Erlang node name, e.g. `warren-1234-1-a1b2c3@localhost`. */
  readonly nodeName: string;
  /** The AMQP port on 127.0.0.1. */
  readonly amqpPort: number;
  /** The Erlang distribution port on 127.0.0.1 (what `rabbitmqctl` and cluster peers use). */
  readonly distPort: number;
  /** The TLS port on 127.0.0.1 when started with {@link StartBrokerOptions.tls}; else undefined. */
  readonly tlsPort: number | undefined;
  /** Pid of the `rabbitmq-server` script (of the latest start); the Erlang VM is its child. */
  readonly pid: number;
  /** The node's temporary folder (data, logs, home); removed by {@link Broker.stop}. */
  readonly dir: string;
  /**
   * Runs `rabbitmqctl -n <nodeName> ...args` as the node's user with the node's environment.
   * Resolves with stdout; rejects with a {@link RabbitmqctlError} carrying stderr on failure.
   */
  rabbitmqctl(...args: string[]): Promise<string>;
  /**
   * Kills the node as a crash would: SIGKILL to the start script, the Erlang VM and its helpers
   * at once, no shutdown of any kind (the kernel closes its sockets). Keeps the folder, so that
   * {@link Broker.restart} can bring the same node back. Resolves once the process has exited;
   * does nothing when it is not running.
   */
  kill(): Promise<void>;
  /**
   * Starts a node that {@link Broker.kill} killed (or that died) again: same name, ports, cookie
   * and data, so a cluster member rejoins its cluster. Resolves once it accepts AMQP; rejects
   * with the tail of its output and logs otherwise (the folder stays until {@link Broker.stop}).
   */
  restart(): Promise<void>;
  /**
   * Stops the node gracefully (SIGTERM, then SIGKILL of the whole process tree after 15 s),
   * removes its folder, and stops epmd if this process started it and no node uses it any more.
   * Idempotent: later calls return the same promise.
   */
  stop(): Promise<void>;
}
