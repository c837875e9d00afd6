/**
 * Spans from warren's diagnostics channels, per the messaging semantic
 * conventions for RabbitMQ: PRODUCER `send` spans for publishes (until the
 * confirm), CONSUMER `process` spans around handlers (their parent is the
 * producer's span, taken from the message's headers), CLIENT spans for RPC
 * calls and, when asked, for connecting and channel operations. Settlements
 * are events of the process span; a returned message, an event of its
 * publish span while that waits for its confirm.
 */
import {
  type Attributes,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import {
  type ConnectDiagnostic,
  DIAGNOSTICS_CHANNELS,
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
import { ATTR, baseAttributes, errorMessage, errorType, setIfDefined } from './semconv.js';
import { onMessage, onTrace, runInContext, type Undo } from './subscriptions.js';

/** What the tracing part of {@link instrument} needs. */
export interface TracingSetup {
  readonly tracer: Tracer;
  /** Whether connecting and channel operations get CLIENT spans too. */
  readonly operations: boolean;
}

/** The span name's destination part: the conventions leave out an empty one (the default exchange). */
function spanName(operation: string, destination: string): string {
  return destination === '' ? operation : `${operation} ${destination}`;
}

/** Marks `span` failed with `error`, as the conventions say (`error.type`, status ERROR). */
function fail(span: Span, error: unknown): void {
  span.setAttribute(ATTR.errorType, errorType(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
}

/**
 * The spans of one traced channel: `open` makes a message's span, which
 * fails on `error` and ends on `asyncEnd` (or on `end` when it threw
 * synchronously and no async phase follows).
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

  asyncEnd = (message: M): void => {
    const span = this.#spans.get(message);
    if (span === undefined) return;
    this.#spans.delete(message);
    span.end();
  };
}

/** Subscribes the spans; returns what unsubscribes them. */
export function traceWarren({ tracer, operations }: TracingSetup): Undo[] {
  const undo: Undo[] = [traceProcess(tracer), ...tracePublish(tracer), traceRpc(tracer)];
  if (operations) undo.push(traceConnect(tracer), traceOperations(tracer));
  return undo;
}

/** PRODUCER `send <exchange>` spans, whose context goes into the message's headers. */
function tracePublish(tracer: Tracer): Undo[] {
  const open = new OpenSpans<PublishDiagnostic>();
  // Publishes waiting for their confirm, by span id: a returned message's headers name its own.
  const waiting = new Map<string, Span>();
  const start = (message: PublishDiagnostic): void => {
    const attributes: Attributes = {
      ...baseAttributes(message),
      [ATTR.destination]: message.exchange,
      [ATTR.operationType]: 'send',
      [ATTR.operationName]: 'send',
      [ATTR.bodySize]: message.bodySize,
    };
    setIfDefined(attributes, ATTR.routingKey, message.routingKey);
    setIfDefined(attributes, ATTR.messageId, message.messageId);
    setIfDefined(attributes, ATTR.conversationId, message.correlationId);
    const span = tracer.startSpan(
      spanName('send', message.exchange),
      { kind: SpanKind.PRODUCER, attributes },
      context.active(),
    );
    open.set(message, span);
    if (message.confirm) waiting.set(span.spanContext().spanId, span);
    propagation.inject(trace.setSpan(context.active(), span), message.headers, headerSetter);
  };
  const asyncEnd = (message: PublishDiagnostic): void => {
    const span = open.get(message);
    if (span !== undefined) waiting.delete(span.spanContext().spanId);
    open.asyncEnd(message);
  };
  const returned = (message: ReturnDiagnostic): void => {
    const parent = propagation.extract(ROOT_CONTEXT, message.message.headers, headerGetter);
    const spanId = trace.getSpanContext(parent)?.spanId;
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
      asyncEnd,
    }),
    onMessage(DIAGNOSTICS_CHANNELS.return, returned),
  ];
}

/**
 * CONSUMER `process <queue>` spans, the handler running inside: their parent
 * is the context the message's headers carry (the producer's span). The
 * conventions let a span that processes one message take its creation
 * context as parent rather than a link; a handler's own spans then nest in
 * the producer's trace, as users of other clients expect.
 */
function traceProcess(tracer: Tracer): Undo {
  const open = new OpenSpans<ProcessDiagnostic>();
  // Settlements name the message, not the diagnostic: its span, while it is open.
  const byMessage = new WeakMap<IncomingMessage<unknown>, Span>();
  const enter = (message: ProcessDiagnostic) => {
    const parent = propagation.extract(ROOT_CONTEXT, message.properties.headers, headerGetter);
    const attributes: Attributes = {
      ...baseAttributes(message),
      [ATTR.destination]: message.exchange,
      [ATTR.operationType]: 'process',
      [ATTR.operationName]: 'process',
      [ATTR.consumerGroup]: message.queue,
      [ATTR.deliveryTag]: message.deliveryTag,
      [ATTR.bodySize]: message.bodySize,
      [ATTR.attempt]: message.attempt,
      [ATTR.redelivered]: message.redelivered,
    };
    setIfDefined(attributes, ATTR.routingKey, message.routingKey);
    setIfDefined(attributes, ATTR.messageId, message.messageId);
    setIfDefined(attributes, ATTR.conversationId, message.correlationId);
    const span = tracer.startSpan(
      spanName('process', message.queue || message.exchange),
      { kind: SpanKind.CONSUMER, attributes },
      parent,
    );
    open.set(message, span);
    byMessage.set(message.message, span);
    return trace.setSpan(parent, span);
  };
  const settled = (message: SettleDiagnostic): void => {
    byMessage.get(message.message)?.addEvent(message.kind, {
      [ATTR.operationType]: 'settle',
      [ATTR.operationName]: message.kind,
      [ATTR.requeue]: message.requeue,
    });
  };
  const asyncEnd = (message: ProcessDiagnostic): void => {
    byMessage.delete(message.message);
    open.asyncEnd(message);
  };
  const undo = [
    runInContext(DIAGNOSTICS_CHANNELS.process, enter),
    onTrace<ProcessDiagnostic>(DIAGNOSTICS_CHANNELS.process, { error: open.error, asyncEnd }),
    onMessage(DIAGNOSTICS_CHANNELS.settle, settled),
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
    const active = context.active();
    const attributes: Attributes = {
      ...baseAttributes(message),
      [ATTR.destination]: message.exchange,
      [ATTR.conversationId]: message.correlationId,
    };
    setIfDefined(attributes, ATTR.routingKey, message.routingKey);
    const span = tracer.startSpan(
      spanName('call', message.routingKey),
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
      attributes: { ...baseAttributes(message), 'warren.vhost': message.vhost },
    });
    open.set(message, span);
  };
  const asyncStart = (message: ConnectDiagnostic): void => {
    // Set once connected: the host actually reached.
    open.get(message)?.setAttributes(baseAttributes(message));
  };
  return onTrace<ConnectDiagnostic>(DIAGNOSTICS_CHANNELS.connect, {
    start,
    asyncStart,
    error: open.error,
    asyncEnd: open.asyncEnd,
  });
}

/** CLIENT spans named by the AMQP method (`queue.declare`, `basic.get`, …) for channel operations. */
function traceOperations(tracer: Tracer): Undo {
  const open = new OpenSpans<OperationDiagnostic>();
  const start = (message: OperationDiagnostic): void => {
    const attributes: Attributes = {
      ...baseAttributes(message),
      [ATTR.operationName]: message.method,
    };
    const target = message.arguments.queue ?? message.arguments.exchange;
    if (typeof target === 'string') attributes[ATTR.destination] = target;
    if (message.method === 'basic.get') attributes[ATTR.operationType] = 'receive';
    open.set(message, tracer.startSpan(message.method, { kind: SpanKind.CLIENT, attributes }));
  };
  return onTrace<OperationDiagnostic>(DIAGNOSTICS_CHANNELS.operation, {
    start,
    error: open.error,
    asyncEnd: open.asyncEnd,
  });
}
