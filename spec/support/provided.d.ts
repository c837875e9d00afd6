// Values spec/support/broker-setup.ts hands to integration tests via `inject()`.
export {};

declare module 'vitest' {
  export interface ProvidedContext {
    /** AMQP URL of the broker integration tests run against. */
    amqpUrl: string;
    /**
     * Erlang node name of the broker, for rabbitmqctl (spec/support/test-broker.ts), when the global setup started it;
     * an empty string when the broker came from AMQP_URL or was already listening on 5672.
     */
    brokerNode: string;
  }
}
