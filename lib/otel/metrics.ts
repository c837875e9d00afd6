/**
 * Metrics from warren's diagnostics channels: the messaging conventions'
 * sent and consumed message counts and operation and processing durations,
 * plus what operators of warren ask for: recoveries and their duration,
 * returned messages, and messages the broker nacked.
 */
import type { Attributes, Meter } from '@opentelemetry/api';
import {
  type ConnectionRecoveredDiagnostic,
  DIAGNOSTICS_CHANNELS,
  type ProcessDiagnostic,
  type PublishDiagnostic,
  type ReceiveDiagnostic,
  type ReturnDiagnostic,
  type SettleDiagnostic,
} from 'warren';
import { ATTR, baseAttributes, errorType } from './semconv.js';
import { onMessage, onTrace, type Undo } from './subscriptions.js';

/** The names of the metrics warren/otel records (see docs/observability.md for their attributes). */
export const METRICS = Object.freeze({
  /** Counter: messages published, failed ones with `error.type` (conventions). */
  sent: 'messaging.client.sent.messages',
  /** Counter: messages delivered to a consumer or fetched with `get` (conventions). */
  consumed: 'messaging.client.consumed.messages',
  /** Histogram, seconds: publishes, until the confirm when there is one (conventions). */
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
  /** Counter: deliveries acked, nacked or rejected by the application, by `warren.settle.kind` (warren). */
  settled: 'warren.client.settled.messages',
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
  const counter = (name: string, description: string, unit = '{message}') =>
    meter.createCounter(name, { description, unit });
  const sent = counter(METRICS.sent, 'Messages a producer attempted to send to the broker.');
  const consumed = counter(
    METRICS.consumed,
    'Messages delivered to the application (consumers and basic.get).',
  );
  const operationDuration = histogram(
    METRICS.operationDuration,
    'Duration of publishes, until the confirm when there is one.',
  );
  const processDuration = histogram(
    METRICS.processDuration,
    'Duration of processing a delivered message, until it is settled.',
  );
  const recoveries = counter(
    METRICS.recoveries,
    'Connections recovered after a loss.',
    '{recovery}',
  );
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

  const publishStarts = new WeakMap<PublishDiagnostic, number>();
  const publishAttributes = (message: PublishDiagnostic): Attributes => {
    const attributes: Attributes = {
      ...baseAttributes(message),
      [ATTR.destination]: message.exchange,
      [ATTR.operationType]: 'send',
      [ATTR.operationName]: 'send',
    };
    if (message.error !== undefined) attributes[ATTR.errorType] = errorType(message.error);
    return attributes;
  };
  const published = (message: PublishDiagnostic): void => {
    const started = publishStarts.get(message);
    const attributes = publishAttributes(message);
    sent.add(1, attributes);
    if (started !== undefined) operationDuration.record(secondsSince(started), attributes);
    if (attributes[ATTR.errorType] === 'PUBLISH_NACKED') nacked.add(1, attributes);
  };

  const processStarts = new WeakMap<ProcessDiagnostic, number>();
  const processed = (message: ProcessDiagnostic): void => {
    const started = processStarts.get(message);
    if (started === undefined) return;
    const attributes: Attributes = {
      ...baseAttributes(message),
      [ATTR.destination]: message.exchange,
      [ATTR.consumerGroup]: message.queue,
      [ATTR.operationType]: 'process',
      [ATTR.operationName]: 'process',
    };
    if (message.error !== undefined) attributes[ATTR.errorType] = errorType(message.error);
    processDuration.record(secondsSince(started), attributes);
  };

  return [
    onTrace<PublishDiagnostic>(DIAGNOSTICS_CHANNELS.publish, {
      start: (message) => publishStarts.set(message, performance.now()),
      asyncEnd: published,
    }),
    onTrace<ProcessDiagnostic>(DIAGNOSTICS_CHANNELS.process, {
      start: (message) => processStarts.set(message, performance.now()),
      asyncEnd: processed,
    }),
    onMessage<ReceiveDiagnostic>(DIAGNOSTICS_CHANNELS.receive, (message) => {
      consumed.add(1, {
        ...baseAttributes(message),
        [ATTR.destination]: message.exchange,
        [ATTR.consumerGroup]: message.queue,
        [ATTR.operationType]: 'receive',
        [ATTR.operationName]: message.consumerTag === undefined ? 'get' : 'deliver',
      });
    }),
    onMessage<SettleDiagnostic>(DIAGNOSTICS_CHANNELS.settle, (message) => {
      settled.add(1, {
        ...baseAttributes(message),
        [ATTR.operationType]: 'settle',
        [ATTR.operationName]: message.kind,
        [ATTR.settleKind]: message.kind,
      });
    }),
    onMessage<ReturnDiagnostic>(DIAGNOSTICS_CHANNELS.return, (message) => {
      returned.add(1, { ...baseAttributes(message), [ATTR.destination]: message.exchange });
    }),
    onMessage<ConnectionRecoveredDiagnostic>(
      DIAGNOSTICS_CHANNELS.connectionRecovered,
      (message) => {
        const attributes = baseAttributes(message);
        recoveries.add(1, attributes);
        recoveryDuration.record(message.downtime / 1000, attributes);
      },
    ),
  ];
}
