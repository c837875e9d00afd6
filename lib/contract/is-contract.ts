/**
 * Telling a contract by its shape rather than its class: a contract module
 * built against another copy of warren (an older release, installed beside
 * this one) makes contracts whose class is not this copy's `Contract`.
 */
import type { Contract } from './contract.js';

/** Whether `value` is a contract (made by `defineContract` of any copy of warren). */
export function isContract(value: unknown): value is Contract {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Record<keyof Contract, unknown>>;
  return (
    typeof candidate.parts === 'object' &&
    candidate.parts !== null &&
    Array.isArray(candidate.messages) &&
    Array.isArray(candidate.exchanges) &&
    Array.isArray(candidate.queues) &&
    Array.isArray(candidate.bindings)
  );
}
