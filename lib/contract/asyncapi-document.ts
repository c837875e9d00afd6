/**
 * The shape of the AsyncAPI 3.0 document the export writes: the part of
 * the specification (https://www.asyncapi.com/docs/reference/specification/v3.0.0)
 * and of its AMQP bindings (version 0.3.0) that a contract fills in.
 */
import type { JsonObject } from './json-value.js';

/** The AMQP bindings version the document's bindings follow. */
export type AmqpBindingVersion = '0.3.0';

/** A pointer to another part of the document, such as `#/components/messages/order.created`. */
export interface AsyncApiReference {
  /** A URI fragment: `#` and a JSON Pointer into the document. */
  readonly $ref: string;
}

/**
 * An AsyncAPI 3.0 document, as {@link asyncApi} makes one from a contract.
 * (A type, not an interface, so that it is a `Record<string, unknown>`, as
 * tools such as `@asyncapi/parser` take a document.)
 */
export type AsyncApiDocument = {
  /** The specification's version. */
  readonly asyncapi: '3.0.0';
  /** What the document describes: from the contract's `info`. */
  readonly info: AsyncApiInfo;
  /** Every message is JSON. */
  readonly defaultContentType: 'application/json';
  /** The brokers, by name: from the `servers` option, without credentials. */
  readonly servers?: Readonly<Record<string, AsyncApiServer>>;
  /** Where messages travel: an exchange and a routing key, a queue, or a reply address. */
  readonly channels: Readonly<Record<string, AsyncApiChannel>>;
  /** What the routes do: publishers send, consumers receive, request/reply endpoints both. */
  readonly operations: Readonly<Record<string, AsyncApiOperation>>;
  /** Every kind of message of the contract. */
  readonly components: {
    /** The kinds of message, each with the JSON Schema of its body. */
    readonly messages: Readonly<Record<string, AsyncApiMessage>>;
  };
};

/** The document's `info`. */
export interface AsyncApiInfo {
  /** The system's name. */
  readonly title: string;
  /** The contract's version. */
  readonly version: string;
  /** What the system does. */
  readonly description?: string;
}

/** A broker, made from an AMQP URL; user name and password are never written. */
export interface AsyncApiServer {
  /** Host name and port, as in the URL: `broker.example.com:5671`. */
  readonly host: string;
  /** `amqp`, or `amqps` for TLS. */
  readonly protocol: 'amqp' | 'amqps';
  /** The protocol version warren speaks. */
  readonly protocolVersion: '0.9.1';
  /** The vhost as the URL's path (`/shop`); absent for the default vhost `/`. */
  readonly pathname?: string;
}

/** A channel: where messages travel. */
export interface AsyncApiChannel {
  /**
   * The routing key messages are published with (an exchange's channel),
   * the queue's name (a queue's channel), or `null` where it is known only
   * at run time (a reply's channel).
   */
  readonly address: string | null;
  /** The exchange's or queue's `description`, or what the channel is for. */
  readonly description?: string;
  /** The kinds of message it carries, each a reference to `components.messages`. */
  readonly messages: Readonly<Record<string, AsyncApiReference>>;
  /** The exchange or queue it stands for; absent on a reply's channel. */
  readonly bindings?: {
    /** The AMQP channel binding. */
    readonly amqp: AmqpChannelBinding;
  };
}

/** A channel's AMQP binding: the exchange (with the routing key as address) or the queue. */
export type AmqpChannelBinding =
  | {
      /** The address is a routing key on the exchange below. */
      readonly is: 'routingKey';
      /** The exchange messages are published to. */
      readonly exchange: AmqpExchangeBinding;
      /** The bindings version. */
      readonly bindingVersion: AmqpBindingVersion;
    }
  | {
      /** The address is a queue. */
      readonly is: 'queue';
      /** The queue. */
      readonly queue: AmqpQueueBinding;
      /** The contract's bindings that route messages into the queue. */
      readonly 'x-bindings'?: readonly AmqpQueueBindingRoute[];
      /** The bindings version. */
      readonly bindingVersion: AmqpBindingVersion;
    };

/** An exchange in a channel binding. */
export interface AmqpExchangeBinding {
  /** Its name on the broker. */
  readonly name: string;
  /**
   * Its type, when it is one the bindings name (`direct`, `fanout`,
   * `topic`, `headers`); a plugin's type (`x-delayed-message`, …) is
   * in `x-type` instead.
   */
  readonly type?: 'direct' | 'fanout' | 'topic' | 'headers';
  /** A type the bindings do not name, such as `x-delayed-message`. */
  readonly 'x-type'?: string;
  /** Survives a broker restart. */
  readonly durable: boolean;
  /** Deleted when its last binding is removed. */
  readonly autoDelete: boolean;
  /** Its declare arguments (`alternate-exchange`, …), as JSON; absent when there are none. */
  readonly 'x-arguments'?: JsonObject;
  /** Its vhost: from the `vhost` option, or the servers' vhost. */
  readonly vhost?: string;
}

/** A queue in a channel binding. */
export interface AmqpQueueBinding {
  /** Its name on the broker. */
  readonly name: string;
  /** Survives a broker restart. */
  readonly durable: boolean;
  /** Used by one connection only. */
  readonly exclusive: boolean;
  /** Deleted when its last consumer is cancelled. */
  readonly autoDelete: boolean;
  /**
   * Its declare arguments (`x-queue-type`, `x-dead-letter-exchange`,
   * `x-message-ttl`, …), as JSON; absent when there are none.
   */
  readonly 'x-arguments'?: JsonObject;
  /** Its vhost: from the `vhost` option, or the servers' vhost. */
  readonly vhost?: string;
}

/** A binding of the contract that routes into a queue, as the queue's channel lists it. */
export interface AmqpQueueBindingRoute {
  /** The exchange the queue is bound to. */
  readonly exchange: string;
  /** The binding's routing key (a pattern, for a topic exchange). */
  readonly routingKey: string;
  /** The binding's arguments (a headers exchange's match), as JSON; absent when there are none. */
  readonly arguments?: JsonObject;
}

/** An operation: a route of the contract. */
export interface AsyncApiOperation {
  /** `send` for a publisher or a request/reply caller, `receive` for a consumer or a server. */
  readonly action: 'send' | 'receive';
  /** The channel it sends to or receives from. */
  readonly channel: AsyncApiReference;
  /** The route's `description`. */
  readonly description?: string;
  /** The kinds of message it sends or receives, as references into its channel's messages. */
  readonly messages: readonly AsyncApiReference[];
  /** The reply of a request/reply endpoint. */
  readonly reply?: AsyncApiOperationReply;
  /** How it uses AMQP: a receiver acknowledges each message. */
  readonly bindings?: {
    /** The AMQP operation binding. */
    readonly amqp: AmqpOperationBinding;
  };
}

/** The reply of a request/reply endpoint. */
export interface AsyncApiOperationReply {
  /** Where the reply goes: the request's `reply-to` property. */
  readonly address: {
    /** A runtime expression: `$message.header#/reply-to`. */
    readonly location: string;
    /** What that address is. */
    readonly description?: string;
  };
  /** The reply's channel. */
  readonly channel: AsyncApiReference;
  /** The reply's kind of message, as a reference into the reply's channel. */
  readonly messages: readonly AsyncApiReference[];
}

/** An operation's AMQP binding. */
export interface AmqpOperationBinding {
  /** A receiver acknowledges each message (warren acknowledges after its handler). */
  readonly ack?: boolean;
  /** The bindings version. */
  readonly bindingVersion: AmqpBindingVersion;
}

/** A kind of message. */
export interface AsyncApiMessage {
  /** Its name: the `type` property it travels with. */
  readonly name: string;
  /** Its name, for people. */
  readonly title: string;
  /** The message definition's `summary`. */
  readonly summary?: string;
  /** The message definition's `description`. */
  readonly description?: string;
  /** Always JSON. */
  readonly contentType: 'application/json';
  /** The JSON Schema of its body (see {@link messageJsonSchema}). */
  readonly payload: JsonObject;
  /** Its AMQP binding: the `type` property it travels with. */
  readonly bindings: {
    /** The AMQP message binding. */
    readonly amqp: {
      /** The `type` property: the message's name. */
      readonly messageType: string;
      /** The bindings version. */
      readonly bindingVersion: AmqpBindingVersion;
    };
  };
  /**
   * The parts of its schema JSON Schema cannot express (each accepts any
   * value in `payload`): a JSON Pointer into `payload`, and why.
   */
  readonly 'x-unrepresentable'?: readonly string[];
}
