/**
 * The attribute names of the OpenTelemetry messaging semantic conventions
 * warren's spans and metrics carry, the conventions' rules for RabbitMQ
 * destinations, and the values common to every span and measurement.
 * Written out rather than imported from `@opentelemetry/semantic-conventions`,
 * so that `@opentelemetry/api` stays the only package warren/otel needs.
 *
 * The attribute objects are object literals with the names written out, not
 * `{ ...shared, [ATTR.x]: … }`: one is made per message, and V8 turns a
 * literal built by spreading and computed keys into a slow dictionary that
 * costs microseconds to make.
 */
import type { Attributes } from '@opentelemetry/api';
import type { EndpointDiagnostic } from 'warren';

/**
 * The version of the semantic conventions warren/otel follows (the messaging
 * conventions' status there: Development).
 */
export const SEMCONV_VERSION = '1.44.0';

/** The attribute names used, for code that reads them back (tests, docs). */
export const ATTR = Object.freeze({
  system: 'messaging.system',
  destination: 'messaging.destination.name',
  template: 'messaging.destination.template',
  temporary: 'messaging.destination.temporary',
  anonymous: 'messaging.destination.anonymous',
  routingKey: 'messaging.rabbitmq.destination.routing_key',
  deliveryTag: 'messaging.rabbitmq.message.delivery_tag',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  messageId: 'messaging.message.id',
  conversationId: 'messaging.message.conversation_id',
  bodySize: 'messaging.message.body.size',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  peerAddress: 'network.peer.address',
  peerPort: 'network.peer.port',
  errorType: 'error.type',
  // warren's own, where the conventions have no name: which delivery of a message this is.
  attempt: 'warren.message.attempt',
  redelivered: 'warren.message.redelivered',
  requeue: 'warren.settle.requeue',
} as const);

/** The destination name of a publish to the default exchange with no routing key. */
const DEFAULT_EXCHANGE = 'amq.default';

/**
 * `messaging.destination.name` of a publish: `{exchange}:{routing key}`,
 * either alone when the other is empty, `amq.default` when both are.
 */
export function producerDestination(exchange: string, routingKey: string): string {
  if (exchange === '') return routingKey === '' ? DEFAULT_EXCHANGE : routingKey;
  return routingKey === '' ? exchange : `${exchange}:${routingKey}`;
}

/**
 * `messaging.destination.name` of a delivery: `{exchange}:{routing key}:{queue}`,
 * empty parts left out, and the routing key once when it names the queue
 * (as through the default exchange).
 */
export function consumerDestination(exchange: string, routingKey: string, queue: string): string {
  const parts: string[] = [];
  if (exchange !== '') parts.push(exchange);
  if (routingKey !== '' && routingKey !== queue) parts.push(routingKey);
  if (queue !== '') parts.push(queue);
  return parts.length === 0 ? DEFAULT_EXCHANGE : parts.join(':');
}

/**
 * Whether a queue (or a routing key through the default exchange) names
 * something the broker made for one client: a server-named queue
 * (`amq.gen-…`) or a direct reply-to (`amq.rabbitmq.reply-to…`). Such names
 * are unique per client, so they stay out of span names and metrics.
 */
export function isAnonymous(name: string): boolean {
  return name.startsWith('amq.gen-') || name.startsWith('amq.rabbitmq.reply-to');
}

/** Whether a name is a direct reply-to, which lives only as long as its channel. */
export function isTemporary(name: string): boolean {
  return name.startsWith('amq.rabbitmq.reply-to');
}

/**
 * `messaging.destination.template` of a publish, the low-cardinality name
 * for spans and metrics: the exchange (`amq.default` for the default one);
 * through the default exchange, the queue routed to, unless anonymous.
 */
export function producerTemplate(exchange: string, routingKey: string): string | undefined {
  if (exchange !== '') return exchange;
  if (routingKey === '') return DEFAULT_EXCHANGE;
  return isAnonymous(routingKey) ? undefined : routingKey;
}

/** `messaging.destination.template` of a delivery: the queue, unless anonymous. */
export function consumerTemplate(queue: string): string | undefined {
  return queue === '' || isAnonymous(queue) ? undefined : queue;
}

/** A span's name: the operation, then the destination template when there is one. */
export function spanName(operation: string, template: string | undefined): string {
  return template === undefined ? operation : `${operation} ${template}`;
}

/** The attributes of every measurement: the system, the operation, the destination template and the broker. */
export function metricAttributes(
  operation: string,
  template: string | undefined,
  endpoint: EndpointDiagnostic,
  error: unknown,
): Attributes {
  const attributes: Attributes = {
    'messaging.system': 'rabbitmq',
    'messaging.operation.name': operation,
    'server.address': endpoint.serverAddress,
    'server.port': endpoint.serverPort,
  };
  if (template !== undefined) attributes['messaging.destination.template'] = template;
  if (error !== undefined) attributes['error.type'] = errorType(error);
  return attributes;
}

/**
 * What identifies {@link metricAttributes}' result, to count under (see
 * Tally): the same inputs give the same key. NUL separates the parts, a
 * character no exchange, queue or host name has in practice.
 */
export function metricKey(
  operation: string,
  template: string | undefined,
  endpoint: EndpointDiagnostic,
  error: unknown,
): string {
  const failure = error === undefined ? '' : errorType(error);
  return `${operation}\0${template ?? ''}\0${endpoint.serverAddress}\0${endpoint.serverPort}\0${failure}`;
}

/** Sets `key` to `value` when there is one (the conventions leave absent values out). */
export function setIfDefined(attributes: Attributes, key: string, value: string | undefined): void {
  if (value !== undefined && value !== '') attributes[key] = value;
}

/**
 * `error.type`: a warren error's stable `code` (`PUBLISH_NACKED`, …), else
 * the error's class name, else `_OTHER` as the conventions say.
 */
export function errorType(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && name !== '') return name;
  }
  return '_OTHER';
}

/** A readable description of `error` for a span's status. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
