/**
 * `warren/testing`: a real RabbitMQ for a test suite, and the helpers a test
 * of a worker needs. A throwaway node ({@link startBroker}), or the broker the
 * environment names ({@link useBroker}); a virtual host per test
 * ({@link freshVhost}); waiting until a worker has drained its queue
 * ({@link waitUntilDrained}); reading what was dead-lettered and why
 * ({@link deadLetters}); a contract applied in a vhost of its own
 * ({@link applyContract}). It imports warren itself (the package, not a copy),
 * so its errors and the objects it takes are warren's own. See docs/testing.md.
 * @packageDocumentation
 */
export {
  type AppliedTestContract,
  type ApplyContractOptions,
  applyContract,
} from './apply-contract.js';
export type {
  Broker,
  BrokerSource,
  BrokerTlsOptions,
  StartBrokerOptions,
  TestBroker,
} from './broker.js';
export {
  type BrokerDeadLetterReason,
  type DeadLetter,
  type DeadLetterError,
  type DeadLetterIssue,
  type DeadLettersOptions,
  type Death,
  deadLetters,
} from './dead-letters.js';
export { type QueueDrainState, type WaitUntilDrainedOptions, waitUntilDrained } from './drained.js';
export { RabbitmqctlError, TestBrokerError } from './errors.js';
export { resolveRunAs } from './install.js';
export { probeAmqp } from './probe.js';
export type { RunAs } from './processes.js';
export { startBroker } from './start-broker.js';
export { type UseBrokerOptions, useBroker } from './use-broker.js';
export { type FreshVhost, type FreshVhostOptions, freshVhost } from './vhost.js';
