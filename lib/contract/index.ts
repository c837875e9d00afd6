/** The contract capability: its public names, gathered for lib/index.ts. */

export type { ContractWarning, ContractWarningCode } from './check.js';
export { Contract, type ContractInfo, type ContractParts, defineContract } from './contract.js';
export * from './model.js';
