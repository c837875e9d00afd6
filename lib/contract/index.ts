/** The contract capability: its public names, gathered for lib/index.ts. */
export {
  AppliedContract,
  type ApplyOptions,
  type ConsumerHandles,
  type ConsumerName,
  type ContractPartEntry,
  type ContractPartNames,
  type ExchangeHandles,
  type PublisherHandles,
  type PublisherName,
  type QueueHandles,
  type RpcHandles,
  type RpcName,
} from './apply.js';
export { Contract, type ContractInfo, type ContractParts, defineContract } from './contract.js';
export {
  type ConsumedData,
  ConsumerHandle,
  type ContractCallOptions,
  type ContractConsumeOptions,
  type ContractHandler,
  type ContractPublishOptions,
  type ContractServeOptions,
  type MessageKinds,
  PublisherHandle,
  RpcHandle,
} from './handles.js';
export * from './model.js';
export type { ContractWarning, ContractWarningCode } from './warnings.js';
