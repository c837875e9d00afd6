/**
 * The publishes waiting for connections that are down or blocked, as two
 * observable up-down counters (count and bytes) per broker: what
 * `warren:connection:waiting` says of each connection, summed over the
 * connections to the same broker when the SDK collects.
 */
import type { Attributes, Meter, ObservableResult } from '@opentelemetry/api';
import type { Connection, ConnectionWaitingDiagnostic } from 'warren';
import type { Undo } from './subscriptions.js';

/** One broker's series: its attributes, and the waiting publishes of each of its connections. */
interface Broker {
  readonly attributes: Attributes;
  readonly connections: Map<Connection, { publishes: number; bytes: number }>;
}

/** The waiting publishes, by broker. */
export class WaitingPublishes {
  // A broker stays once seen, reported as 0 when nothing waits: a series that vanished would
  // leave dashboards showing its last value. Brokers are few; connections leave at 0.
  readonly #brokers = new Map<string, Broker>();
  readonly #undo: Undo;

  constructor(meter: Meter, names: { readonly publishes: string; readonly bytes: string }) {
    const publishes = meter.createObservableUpDownCounter(names.publishes, {
      description: 'Publishes waiting for a connection that is down or blocked.',
      unit: '{message}',
    });
    const bytes = meter.createObservableUpDownCounter(names.bytes, {
      description: 'Body bytes of the publishes waiting for a connection that is down or blocked.',
      unit: 'By',
    });
    const observePublishes = (result: ObservableResult) => this.#observe(result, 'publishes');
    const observeBytes = (result: ObservableResult) => this.#observe(result, 'bytes');
    publishes.addCallback(observePublishes);
    bytes.addCallback(observeBytes);
    this.#undo = () => {
      publishes.removeCallback(observePublishes);
      bytes.removeCallback(observeBytes);
    };
  }

  /** Records what a `warren:connection:waiting` message says. */
  update(message: ConnectionWaitingDiagnostic): void {
    const key = `${message.serverAddress}\0${message.serverPort}`;
    let broker = this.#brokers.get(key);
    if (broker === undefined) {
      broker = {
        attributes: {
          'messaging.system': 'rabbitmq',
          'server.address': message.serverAddress,
          'server.port': message.serverPort,
        },
        connections: new Map(),
      };
      this.#brokers.set(key, broker);
    }
    if (message.publishes === 0 && message.bytes === 0) {
      broker.connections.delete(message.connection);
    } else {
      broker.connections.set(message.connection, {
        publishes: message.publishes,
        bytes: message.bytes,
      });
    }
  }

  #observe(result: ObservableResult, field: 'publishes' | 'bytes'): void {
    for (const { attributes, connections } of this.#brokers.values()) {
      let sum = 0;
      for (const waiting of connections.values()) sum += waiting[field];
      result.observe(sum, attributes);
    }
  }

  /** Stops reporting. */
  readonly close: Undo = () => {
    this.#undo();
  };
}
