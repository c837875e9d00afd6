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
export { type AsyncApiOptions, asyncApi, asyncApiJson, asyncApiYaml } from './asyncapi.js';
export type * from './asyncapi-document.js';
export {
  type CompatibilityDirection,
  type CompatibilityReport,
  type CompatibilityVerdict,
  compareContracts,
  type MessageCompatibility,
  type RouteChange,
  type RouteFinding,
  type SchemaFinding,
} from './compatibility.js';
export {
  type CompatibilityExitOptions,
  compatibilityExitCode,
  formatCompatibilityReport,
} from './compatibility-report.js';
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
export {
  type JsonSchemaNote,
  type MessageJsonSchema,
  type MessageJsonSchemaOptions,
  messageJsonSchema,
} from './json-schema.js';
export type { JsonObject, JsonValue } from './json-value.js';
export * from './model.js';
export type { SchemaChange } from './schema-compatibility.js';
export type { ContractWarning, ContractWarningCode } from './warnings.js';
