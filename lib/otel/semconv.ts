/**
 * The attribute names of the OpenTelemetry messaging semantic conventions
 * warren's spans and metrics carry, and the values common to them. Written
 * out rather than imported from `@opentelemetry/semantic-conventions`, so
 * that `@opentelemetry/api` stays the only package warren/otel needs.
 */
import type { Attributes } from '@opentelemetry/api';
import type { EndpointDiagnostic } from 'warren';

/** The version of the semantic conventions warren/otel follows (messaging: Development status). */
export const SEMCONV_VERSION = '1.30.0';

export const ATTR = Object.freeze({
  system: 'messaging.system',
  destination: 'messaging.destination.name',
  routingKey: 'messaging.rabbitmq.destination.routing_key',
  deliveryTag: 'messaging.rabbitmq.message.delivery_tag',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  messageId: 'messaging.message.id',
  conversationId: 'messaging.message.conversation_id',
  bodySize: 'messaging.message.body.size',
  consumerGroup: 'messaging.consumer.group.name',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  errorType: 'error.type',
  // warren's own, where the conventions have no name: which delivery of a message this is.
  attempt: 'warren.message.attempt',
  redelivered: 'warren.message.redelivered',
  settleKind: 'warren.settle.kind',
  requeue: 'warren.settle.requeue',
} as const);

/** The attributes every span and measurement of warren has: the system and the broker. */
export function baseAttributes(endpoint: EndpointDiagnostic): Attributes {
  return {
    [ATTR.system]: 'rabbitmq',
    [ATTR.serverAddress]: endpoint.serverAddress,
    [ATTR.serverPort]: endpoint.serverPort,
  };
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
