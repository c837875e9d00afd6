/**
 * Spans from warren's diagnostics channels, per the messaging semantic
 * conventions for RabbitMQ: PRODUCER `send` spans for publishes (until the
 * confirm), CONSUMER `process` spans around handlers (their parent is the
 * producer's span, taken from the message's headers, and linked too),
 * CLIENT `get` (receive) spans for `Queue.get`, CLIENT spans for RPC calls
 * and, when asked, for connecting and the other channel operations.
 * Settlements, and a failure policy's retry or dead-lettering, are events
 * of the process span; a returned message, an event of its publish span
 * while that waits for its confirm.
 */
import {
  type Attributes,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import {
  type ConnectDiagnostic,
  DIAGNOSTICS_CHANNELS,
  type EndpointDiagnostic,
  type FailureDiagnostic,
  type IncomingMessage,
  type OperationDiagnostic,
  type ProcessDiagnostic,
  type PublishDiagnostic,
  type ReturnDiagnostic,
  type RpcDiagnostic,
  type SettleDiagnostic,
  type TracedDiagnostic,
} from 'warren';
import { headerGetter, headerSetter } from './headers.js';
import {
  consumerDestination,
  consumerTemplate,
  errorMessage,
  errorType,
  isAnonymous,
  isTemporary,
  producerDestination,
  producerTemplate,
  setIfDefined,
  spanName,
} from './semconv.js';
import { onMessage, onTrace, runInContext, type Undo } from './subscriptions.js';

/** What the tracing part of {@link instrument} needs. */
export interface TracingSetup {
  readonly tracer: Tracer;
  /** Whether connecting and channel operations other than `get` get CLIENT spans too. */
  readonly operations: boolean;
  /** Whether spans carry `messaging.message.body.size` (opt-in in the conventions). */
  readonly bodySize: boolean;
}

/** Marks `span` failed with `error`, as the conventions say (`error.type`, status ERROR). */
function fail(span: Span, error: unknown): void {
  span.setAttribute('error.type', errorType(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
}

/**
 * The spans of one traced channel: `open` makes a message's span, which
 * fails on `error` and ends on `asyncEnd`, or on `end` when what it traces
 * threw at once (no async phase follows then).
 */
class OpenSpans<M extends TracedDiagnostic & object> {
  readonly #spans = new WeakMap<M, Span>();

  set(message: M, span: Span): void {
    this.#spans.set(message, span);
  }

  get(message: M): Span | undefined {
    return this.#spans.get(message);
  }

  error = (message: M): void => {
    const span = this.#spans.get(message);
    if (span !== undefined) fail(span, message.error);
  };

  end = (message: M): void => {
    if (message.error !== undefined) this.asyncEnd(message);
  };

  asyncEnd = (message: M): void => {
    const span = this.#spans.get(message);
    if (span === undefined) return;
    this.#spans.delete(message);
    span.end();
  };
}

/** The creation context a message's headers carry (its producer's span), if any. */
function creationContext(headers: PublishDiagnostic['headers'] | undefined) {
  const extracted = propagation.extract(ROOT_CONTEXT, headers, headerGetter);
  return { extracted, spanContext: trace.getSpanContext(extracted) };
}

/**
 * A span's options, with a link to the message's creation context when it
 * has one: the conventions link a message's spans to its creation.
 */
function spanOptions(
  kind: SpanKind,
  attributes: Attributes,
  creation: SpanContext | undefined,
): SpanOptions {
  const options: SpanOptions = { kind, attributes };
  if (creation !== undefined) options.links = [{ context: creation }];
  return options;
}

/** The destination's low-cardinality name, or the flags that say why there is none. */
function describeDestination(
  attributes: Attributes,
  template: string | undefined,
  name: string,
): void {
  if (template !== undefined) {
    attributes['messaging.destination.template'] = template;
  } else if (isAnonymous(name)) {
    attributes['messaging.destination.anonymous'] = true;
    if (isTemporary(name)) attributes['messaging.destination.temporary'] = true;
  }
}

/** `network.peer.*`: the address the socket reached, when connected. */
function describePeer(
  attributes: Attributes,
  endpoint: Pick<EndpointDiagnostic, 'peerAddress' | 'peerPort'>,
): void {
  if (endpoint.peerAddress === undefined) return;
  attributes['network.peer.address'] = endpoint.peerAddress;
  if (endpoint.peerPort !== undefined) attributes['network.peer.port'] = endpoint.peerPort;
}

/** Subscribes the spans; returns what unsubscribes them. */
export function traceWarren(setup: TracingSetup): Undo[] {
  const undo: Undo[] = [
    traceProcess(setup),
    ...tracePublish(setup),
    traceRpc(setup.tracer),
    traceOperations(setup.tracer, setup.operations),
  ];
  if (setup.operations) undo.push(traceConnect(setup.tracer));
  return undo;
}

/**
 * PRODUCER `send <exchange>` spans, whose context goes into the message's
 * headers as its creation context. A message whose headers already carry
 * one (the application's, or a consumed message published again, as a
 * retry does) keeps it: the send span links to it instead.
 */
function tracePublish({ tracer, bodySize }: TracingSetup): Undo[] {
  const open = new OpenSpans<PublishDiagnostic>();
  // Publishes waiting for their confirm, by span id: a returned message's headers name its own.
  const waiting = new Map<string, Span>();
  const start = (message: PublishDiagnostic): void => {
    const { exchange, routingKey } = message;
    const attributes: Attributes = {
      'messaging.system': 'rabbitmq',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.destination.name': producerDestination(exchange, routingKey),
      'server.address': message.serverAddress,
      'server.port': message.serverPort,
    };
    const template = producerTemplate(exchange, routingKey);
    describeDestination(attributes, template, exchange === '' ? routingKey : exchange);
    setIfDefined(attributes, 'messaging.rabbitmq.destination.routing_key', routingKey);
    setIfDefined(attributes, 'messaging.message.id', message.messageId);
    setIfDefined(attributes, 'messaging.message.conversation_id', message.correlationId);
    if (bodySize) attributes['messaging.message.body.size'] = message.bodySize;
    describePeer(attributes, message);
    const creation = creationContext(message.headers).spanContext;
    const active = context.active();
    const span = tracer.startSpan(
      spanName('send', template),
      spanOptions(SpanKind.PRODUCER, attributes, creation),
      active,
    );
    open.set(message, span);
    if (creation !== undefined) return;
    if (message.confirm) waiting.set(span.spanContext().spanId, span);
    propagation.inject(trace.setSpan(active, span), message.headers, headerSetter);
  };
  const asyncEnd = (message: PublishDiagnostic): void => {
    const span = open.get(message);
    if (span !== undefined) waiting.delete(span.spanContext().spanId);
    open.asyncEnd(message);
  };
  const returned = (message: ReturnDiagnostic): void => {
    const spanId = creationContext(message.message.headers).spanContext?.spanId;
    const span = spanId === undefined ? undefined : waiting.get(spanId);
    span?.addEvent('returned', {
      'warren.return.code': message.replyCode,
      'warren.return.text': message.replyText,
    });
  };
  return [
    onTrace<PublishDiagnostic>(DIAGNOSTICS_CHANNELS.publish, {
      start,
      error: open.error,
      end: open.end,
      asyncEnd,
    }),
    onMessage(DIAGNOSTICS_CHANNELS.return, returned),
  ];
}

/**
 * CONSUMER `process <queue>` spans, the handler running inside: their parent
 * is the context the message's headers carry (the producer's span), which
 * they also link to. The conventions let a span that processes one message
 * take its creation context as parent rather than only a link; a handler's
 * own spans then nest in the producer's trace, as users of other clients
 * expect.
 */
function traceProcess({ tracer, bodySize }: TracingSetup): Undo {
  const open = new OpenSpans<ProcessDiagnostic>();
  // Settlements name the message, not the diagnostic: its span, while it is open.
  const byMessage = new WeakMap<IncomingMessage<unknown>, Span>();
  const enter = (message: ProcessDiagnostic) => {
    const { extracted, spanContext } = creationContext(message.properties.headers);
    const { queue } = message;
    const attributes: Attributes = {
      'messaging.system': 'rabbitmq',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': consumerDestination(
        message.exchange,
        message.routingKey,
        queue,
      ),
      'messaging.rabbitmq.message.delivery_tag': message.deliveryTag,
      'server.address': message.serverAddress,
      'server.port': message.serverPort,
      'warren.message.attempt': message.attempt,
      'warren.message.redelivered': message.redelivered,
    };
    const template = consumerTemplate(queue);
    describeDestination(attributes, template, queue);
    setIfDefined(attributes, 'messaging.rabbitmq.destination.routing_key', message.routingKey);
    setIfDefined(attributes, 'messaging.message.id', message.messageId);
    setIfDefined(attributes, 'messaging.message.conversation_id', message.correlationId);
    if (bodySize) attributes['messaging.message.body.size'] = message.bodySize;
    const span = tracer.startSpan(
      spanName('process', template),
      spanOptions(SpanKind.CONSUMER, attributes, spanContext),
      extracted,
    );
    open.set(message, span);
    byMessage.set(message.message, span);
    return trace.setSpan(extracted, span);
  };
  const settled = (message: SettleDiagnostic): void => {
    byMessage.get(message.message)?.addEvent(message.kind, {
      'messaging.operation.type': 'settle',
      'messaging.operation.name': message.kind,
      'warren.settle.requeue': message.requeue,
    });
  };
  // A failure policy's decision, while the span waits for it to settle the message.
  const failed = (message: FailureDiagnostic): void => {
    const attributes: Attributes = { 'error.type': errorType(message.error) };
    if (message.reason !== undefined) attributes['warren.dead_letter.reason'] = message.reason;
    // In seconds, as the conventions give durations.
    if (message.delay !== undefined) attributes['warren.retry.delay'] = message.delay / 1000;
    byMessage
      .get(message.message)
      ?.addEvent(message.reason === undefined ? 'retry' : 'dead_letter', attributes);
  };
  const asyncEnd = (message: ProcessDiagnostic): void => {
    byMessage.delete(message.message);
    open.asyncEnd(message);
  };
  const undo = [
    runInContext(DIAGNOSTICS_CHANNELS.process, enter),
    onTrace<ProcessDiagnostic>(DIAGNOSTICS_CHANNELS.process, {
      error: open.error,
      end: open.end,
      asyncEnd,
    }),
    onMessage(DIAGNOSTICS_CHANNELS.settle, settled),
    onMessage(DIAGNOSTICS_CHANNELS.failure, failed),
  ];
  return () => {
    for (const each of undo) each();
  };
}

/**
 * CLIENT `call <routing key>` spans around RPC calls, active while the call
 * runs: the request's `send` span, and so the server's `process` span,
 * descend from it.
 */
function traceRpc(tracer: Tracer): Undo {
  const open = new OpenSpans<RpcDiagnostic>();
  const enter = (message: RpcDiagnostic) => {
    const { exchange, routingKey } = message;
    const active = context.active();
    const attributes: Attributes = {
      'messaging.system': 'rabbitmq',
      'messaging.operation.name': 'call',
      'messaging.destination.name': producerDestination(exchange, routingKey),
      'messaging.message.conversation_id': message.correlationId,
      'server.address': message.serverAddress,
      'server.port': message.serverPort,
    };
    const template = producerTemplate(exchange, routingKey);
    describeDestination(attributes, template, exchange === '' ? routingKey : exchange);
    setIfDefined(attributes, 'messaging.rabbitmq.destination.routing_key', routingKey);
    describePeer(attributes, message);
    const span = tracer.startSpan(
      spanName('call', routingKey === '' ? template : routingKey),
      { kind: SpanKind.CLIENT, attributes },
      active,
    );
    open.set(message, span);
    return trace.setSpan(active, span);
  };
  const undo = [
    runInContext(DIAGNOSTICS_CHANNELS.rpc, enter),
    onTrace<RpcDiagnostic>(DIAGNOSTICS_CHANNELS.rpc, {
      error: open.error,
      end: open.end,
      asyncEnd: open.asyncEnd,
    }),
  ];
  return () => {
    for (const each of undo) each();
  };
}

/** CLIENT `connect` spans, from the call until the connection is open. */
function traceConnect(tracer: Tracer): Undo {
  const open = new OpenSpans<ConnectDiagnostic>();
  const start = (message: ConnectDiagnostic): void => {
    const span = tracer.startSpan('connect', {
      kind: SpanKind.CLIENT,
      attributes: {
        'messaging.system': 'rabbitmq',
        'server.address': message.serverAddress,
        'server.port': message.serverPort,
        'warren.vhost': message.vhost,
      },
    });
    open.set(message, span);
  };
  const asyncStart = (message: ConnectDiagnostic): void => {
    // Set once connected: the host actually reached.
    const attributes: Attributes = {
      'server.address': message.serverAddress,
      'server.port': message.serverPort,
    };
    describePeer(attributes, message);
    open.get(message)?.setAttributes(attributes);
  };
  return onTrace<ConnectDiagnostic>(DIAGNOSTICS_CHANNELS.connect, {
    start,
    asyncStart,
    error: open.error,
    end: open.end,
    asyncEnd: open.asyncEnd,
  });
}

/**
 * CLIENT spans for channel operations: `get <queue>` (a receive) always,
 * and, when `all`, the others named by their AMQP method (`queue.declare`,
 * `queue.bind`, …).
 */
function traceOperations(tracer: Tracer, all: boolean): Undo {
  const open = new OpenSpans<OperationDiagnostic>();
  const start = (message: OperationDiagnostic): void => {
    const get = message.method === 'basic.get';
    if (!get && !all) return;
    const attributes: Attributes = {
      'messaging.system': 'rabbitmq',
      'messaging.operation.name': get ? 'get' : message.method,
      'server.address': message.serverAddress,
      'server.port': message.serverPort,
    };
    describePeer(attributes, message);
    const target = message.arguments.queue ?? message.arguments.exchange;
    if (typeof target === 'string' && target !== '') {
      attributes['messaging.destination.name'] = target;
    }
    if (!get) {
      open.set(message, tracer.startSpan(message.method, { kind: SpanKind.CLIENT, attributes }));
      return;
    }
    const queue = typeof target === 'string' ? target : '';
    const template = consumerTemplate(queue);
    attributes['messaging.operation.type'] = 'receive';
    describeDestination(attributes, template, queue);
    open.set(
      message,
      tracer.startSpan(spanName('get', template), { kind: SpanKind.CLIENT, attributes }),
    );
  };
  // What `get` fetched, from the broker's get-ok (a get-empty has no delivery tag).
  const asyncStart = (message: OperationDiagnostic): void => {
    const reply = message.reply;
    if (message.method !== 'basic.get' || reply === undefined) return;
    const { deliveryTag, exchange, routingKey } = reply;
    if (typeof deliveryTag !== 'number') return;
    const queue = typeof message.arguments.queue === 'string' ? message.arguments.queue : '';
    const attributes: Attributes = { 'messaging.rabbitmq.message.delivery_tag': deliveryTag };
    if (typeof exchange === 'string' && typeof routingKey === 'string') {
      attributes['messaging.destination.name'] = consumerDestination(exchange, routingKey, queue);
      setIfDefined(attributes, 'messaging.rabbitmq.destination.routing_key', routingKey);
    }
    open.get(message)?.setAttributes(attributes);
  };
  return onTrace<OperationDiagnostic>(DIAGNOSTICS_CHANNELS.operation, {
    start,
    asyncStart,
    error: open.error,
    end: open.end,
    asyncEnd: open.asyncEnd,
  });
}
