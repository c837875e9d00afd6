/**
 * Metrics from warren's diagnostics channels: the messaging conventions'
 * sent and consumed message counts and operation and processing durations,
 * plus what operators of warren ask for: recoveries and their duration,
 * returned messages, messages the broker nacked, retried and dead-lettered
 * messages, and publishes waiting for a connection that is down or blocked.
 */
import type { Attributes, Meter } from '@opentelemetry/api';
import {
  type ConnectionRecoveredDiagnostic,
  type ConnectionWaitingDiagnostic,
  DIAGNOSTICS_CHANNELS,
  type EndpointDiagnostic,
  type FailureDiagnostic,
  type OperationDiagnostic,
  type ProcessDiagnostic,
  type PublishDiagnostic,
  type ReturnDiagnostic,
  type SettleDiagnostic,
} from 'warren';
import {
  consumerTemplate,
  errorType,
  metricAttributes,
  metricKey,
  producerTemplate,
} from './semconv.js';
import { onMessage, onTrace, type Undo } from './subscriptions.js';
import { Tally } from './tally.js';
import { WaitingPublishes } from './waiting.js';

/** The names of the metrics warren/otel records (see docs/observability.md for their attributes). */
export const METRICS = Object.freeze({
  /** Counter: messages published, failed ones with `error.type` (conventions). */
  sent: 'messaging.client.sent.messages',
  /** Counter: messages handed to a consumer's handler or fetched with `get` (conventions). */
  consumed: 'messaging.client.consumed.messages',
  /** Histogram, seconds: publishes (until the confirm when there is one) and gets (conventions). */
  operationDuration: 'messaging.client.operation.duration',
  /** Histogram, seconds: a handler's processing of a message, until it is settled (conventions). */
  processDuration: 'messaging.process.duration',
  /** Counter: connections recovered after a loss (warren). */
  recoveries: 'warren.connection.recoveries',
  /** Histogram, seconds: how long a recovered connection was down (warren). */
  recoveryDuration: 'warren.connection.recovery.duration',
  /** Counter: mandatory messages the broker returned (warren). */
  returned: 'warren.client.returned.messages',
  /** Counter: publishes the broker nacked (warren). */
  nacked: 'warren.client.nacked.messages',
  /** Counter: deliveries acked, nacked or rejected by the application, by `messaging.operation.name` (warren). */
  settled: 'warren.client.settled.messages',
  /** Counter: failed messages a failure policy sent to wait for a retry (warren). */
  retried: 'warren.client.retried.messages',
  /** Counter: failed messages a failure policy dead-lettered, by `warren.dead_letter.reason` (warren). */
  deadLettered: 'warren.client.dead_lettered.messages',
  /** Up-down counter: publishes waiting for a connection that is down or blocked (warren). */
  waitingPublishes: 'warren.client.waiting.publishes',
  /** Up-down counter, bytes: their bodies (warren). */
  waitingBytes: 'warren.client.waiting.bytes',
} as const);

/** The conventions' histogram buckets for messaging durations, in seconds. */
const DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/** Seconds since `start`, a `performance.now()` reading. */
function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}

/** Subscribes the metrics; returns what unsubscribes them. */
export function measureWarren(meter: Meter): Undo[] {
  const histogram = (name: string, description: string) =>
    meter.createHistogram(name, {
      description,
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
  const tallies: Tally[] = [];
  const counter = (name: string, description: string) => {
    const tally = new Tally(meter, name, { description, unit: '{message}' });
    tallies.push(tally);
    return tally;
  };
  const sent = counter(METRICS.sent, 'Messages a producer attempted to send to the broker.');
  const consumed = counter(
    METRICS.consumed,
    'Messages handed to the application (consumer handlers and basic.get).',
  );
  const operationDuration = histogram(
    METRICS.operationDuration,
    'Duration of publishes (until the confirm when there is one) and of gets.',
  );
  const processDuration = histogram(
    METRICS.processDuration,
    'Duration of processing a delivered message, until it is settled.',
  );
  const recoveries = meter.createCounter(METRICS.recoveries, {
    description: 'Connections recovered after a loss.',
    unit: '{recovery}',
  });
  const recoveryDuration = histogram(
    METRICS.recoveryDuration,
    'How long a connection was down, from its loss to its recovery.',
  );
  const returned = counter(
    METRICS.returned,
    'Mandatory messages the broker returned as unroutable.',
  );
  const nacked = counter(
    METRICS.nacked,
    'Published messages the broker nacked (publisher confirms).',
  );
  const settled = counter(
    METRICS.settled,
    'Delivered messages the application acked, nacked or rejected.',
  );
  const retried = counter(METRICS.retried, 'Failed messages sent to wait for a retry.');
  const deadLettered = counter(METRICS.deadLettered, 'Failed messages dead-lettered, by reason.');
  const waiting = new WaitingPublishes(meter, {
    publishes: METRICS.waitingPublishes,
    bytes: METRICS.waitingBytes,
  });

  /** Counts one in `tally`, under the attributes every measurement has. */
  const count = (
    tally: Tally,
    operation: string,
    template: string | undefined,
    endpoint: EndpointDiagnostic,
    error: unknown,
  ): void => {
    tally.add(metricKey(operation, template, endpoint, error), () =>
      metricAttributes(operation, template, endpoint, error),
    );
  };

  // When each publish, handler and get began: the durations end at their asyncEnd.
  const started = new WeakMap<object, number>();
  const begin = (message: object): void => {
    started.set(message, performance.now());
  };
  const duration = (message: object): number | undefined => {
    const start = started.get(message);
    if (start === undefined) return undefined;
    started.delete(message);
    return secondsSince(start);
  };

  const published = (message: PublishDiagnostic): void => {
    const template = producerTemplate(message.exchange, message.routingKey);
    const { error } = message;
    count(sent, 'send', template, message, error);
    const seconds = duration(message);
    if (seconds !== undefined) {
      operationDuration.record(seconds, metricAttributes('send', template, message, error));
    }
    if (error !== undefined && errorType(error) === 'PUBLISH_NACKED') {
      count(nacked, 'send', template, message, error);
    }
  };

  const processing = (message: ProcessDiagnostic): void => {
    begin(message);
    count(consumed, 'process', consumerTemplate(message.queue), message, undefined);
  };
  const processed = (message: ProcessDiagnostic): void => {
    const seconds = duration(message);
    if (seconds === undefined) return;
    const template = consumerTemplate(message.queue);
    processDuration.record(seconds, metricAttributes('process', template, message, message.error));
  };

  // `get`: a receive, and a consumed message when the broker had one (get-ok has a delivery tag).
  const fetched = (message: OperationDiagnostic): void => {
    if (message.method !== 'basic.get') return;
    const seconds = duration(message);
    const queue = message.arguments.queue;
    const template = consumerTemplate(typeof queue === 'string' ? queue : '');
    if (seconds !== undefined) {
      operationDuration.record(seconds, metricAttributes('get', template, message, message.error));
    }
    if (typeof message.reply?.deliveryTag === 'number') {
      count(consumed, 'get', template, message, undefined);
    }
  };

  // What threw at once has no async phase: it ends at `end`, its error set.
  const endedAtOnce =
    <M extends { error?: unknown }>(ended: (message: M) => void) =>
    (message: M): void => {
      if (message.error !== undefined) ended(message);
    };

  return [
    onTrace<PublishDiagnostic>(DIAGNOSTICS_CHANNELS.publish, {
      start: begin,
      end: endedAtOnce(published),
      asyncEnd: published,
    }),
    onTrace<ProcessDiagnostic>(DIAGNOSTICS_CHANNELS.process, {
      start: processing,
      asyncEnd: processed,
    }),
    onTrace<OperationDiagnostic>(DIAGNOSTICS_CHANNELS.operation, {
      start: (message) => {
        if (message.method === 'basic.get') begin(message);
      },
      end: endedAtOnce(fetched),
      asyncEnd: fetched,
    }),
    onMessage<SettleDiagnostic>(DIAGNOSTICS_CHANNELS.settle, (message) => {
      // The operation names the kind: ack, nack or reject.
      count(settled, message.kind, undefined, message, undefined);
    }),
    onMessage<ReturnDiagnostic>(DIAGNOSTICS_CHANNELS.return, (message) => {
      const template = producerTemplate(message.exchange, message.routingKey);
      count(returned, 'send', template, message, undefined);
    }),
    onMessage<ConnectionRecoveredDiagnostic>(
      DIAGNOSTICS_CHANNELS.connectionRecovered,
      (message) => {
        const attributes = {
          'messaging.system': 'rabbitmq',
          'server.address': message.serverAddress,
          'server.port': message.serverPort,
        };
        recoveries.add(1, attributes);
        recoveryDuration.record(message.downtime / 1000, attributes);
      },
    ),
    onMessage<ConnectionWaitingDiagnostic>(DIAGNOSTICS_CHANNELS.connectionWaiting, (message) =>
      waiting.update(message),
    ),
    onMessage<FailureDiagnostic>(DIAGNOSTICS_CHANNELS.failure, (message) => {
      const template = consumerTemplate(message.queue);
      const failure = errorType(message.error);
      if (message.reason === undefined) {
        retried.add(`${template}\0${failure}`, () => failureAttributes(template, failure));
      } else {
        const { reason } = message;
        deadLettered.add(`${template}\0${failure}\0${reason}`, () => ({
          ...failureAttributes(template, failure),
          'warren.dead_letter.reason': reason,
        }));
      }
    }),
    waiting.close,
    ...tallies.map((tally) => tally.close),
  ];
}

/**
 * The attributes of a retried or dead-lettered message's count: the queue's
 * template and the failure (failure policies run above the connection, so
 * the broker's address is not among them).
 */
function failureAttributes(template: string | undefined, failure: string): Attributes {
  const attributes: Attributes = { 'messaging.system': 'rabbitmq', 'error.type': failure };
  if (template !== undefined) attributes['messaging.destination.template'] = template;
  return attributes;
}
