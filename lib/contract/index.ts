/** The contract capability: its public names, gathered for lib/index.ts. */
export { Contract, type ContractInfo, type ContractParts, defineContract } from './contract.js';
export * from './model.js';
export type { ContractWarning, ContractWarningCode } from './warnings.js';
