/**
 * `npm run demo`: a publisher and a worker against a real RabbitMQ.
 *
 * The entity API (Connection, Channel, Queue, Consumer) lands with the engine;
 * until then this says so instead of pretending.
 */
console.log(
  'warren demo: not yet. The codec is in place; the publisher/worker demo arrives with the connection API.',
);
