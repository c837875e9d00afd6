/** The contract capability: its public names, gathered for lib/index.ts. */

export { type AsyncApiOptions, asyncApi, asyncApiJson, asyncApiYaml } from './asyncapi.js';
export type * from './asyncapi-document.js';
export { Contract, type ContractInfo, type ContractParts, defineContract } from './contract.js';
export {
  type JsonSchemaNote,
  type MessageJsonSchema,
  type MessageJsonSchemaOptions,
  messageJsonSchema,
} from './json-schema.js';
export type { JsonObject, JsonValue } from './json-value.js';
export * from './model.js';
export type { ContractWarning, ContractWarningCode } from './warnings.js';
