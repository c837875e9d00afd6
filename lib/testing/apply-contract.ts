/**
 * {@link applyContract}: a contract declared in a virtual host of its own,
 * so that a test of a worker starts from exactly what the contract says and
 * tests running side by side never share a queue.
 */
import {
  type AppliedContract,
  type Connection,
  type Contract,
  type ContractParts,
  connect,
} from 'warren';
import type { TestBroker } from './broker.js';
import { type FreshVhost, type FreshVhostOptions, freshVhost } from './vhost.js';

/** Options for {@link applyContract}. */
export interface ApplyContractOptions extends FreshVhostOptions {
  /**
   * The connection's name, as the broker lists it.
   * @defaultValue 'warren test'
   */
  connectionName?: string;
}

/** A contract applied in a fresh vhost by {@link applyContract}. */
export interface AppliedTestContract<P extends ContractParts = ContractParts> {
  /** The vhost it lives in: connect other clients to {@link FreshVhost.url}. */
  readonly vhost: FreshVhost;
  /** The connection the contract was applied on. */
  readonly connection: Connection;
  /** The applied contract: its typed publishers, consumers and endpoints. */
  readonly applied: AppliedContract<P>;
  /** Closes the connection, then deletes the vhost with everything in it. Idempotent. */
  close(): Promise<void>;
  /** The same as {@link AppliedTestContract.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Makes a fresh vhost on `broker` (see {@link freshVhost}), connects to it
 * and applies the whole of `contract` there, for a test that publishes
 * through the contract's handles and checks what a worker does.
 *
 * @example
 * await using shop = await applyContract(broker, shopContract);
 * await shop.applied.publishers.orderCreated.publish({ id: 1 });
 * await runWorker(shop.vhost.url);
 * @throws TypeError for a contract that is not one (made by `defineContract`)
 */
export async function applyContract<P extends ContractParts>(
  broker: TestBroker,
  contract: Contract<P>,
  options: ApplyContractOptions = {},
): Promise<AppliedTestContract<P>> {
  if (typeof (contract as { apply?: unknown } | null)?.apply !== 'function') {
    throw new TypeError('applyContract() needs a contract made by defineContract');
  }
  const { connectionName = 'warren test', ...vhostOptions } = options;
  const vhost = await freshVhost(broker, vhostOptions);
  let connection: Connection | undefined;
  try {
    connection = await connect(vhost.url, { connectionName });
    const applied = await contract.apply(connection);
    const opened = connection;
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closing ??= opened.close().then(() => vhost.delete());
      return closing;
    };
    return { vhost, connection, applied, close, [Symbol.asyncDispose]: close };
  } catch (error) {
    await connection?.close().catch(() => undefined);
    await vhost.delete().catch(() => undefined);
    throw error;
  }
}
