/** The contract capability: its public names, gathered for lib/index.ts. */
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
export * from './model.js';
export type { SchemaChange } from './schema-compatibility.js';
