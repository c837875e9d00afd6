/**
 * Field tables (headers, arguments) as the public API has them: the codec
 * defines them (lib/protocol/field-types.ts); this module gathers what
 * applications and the capabilities above the client use, as lib/errors.ts
 * does for errors.
 * @packageDocumentation
 */
export {
  Decimal,
  Field,
  type FieldTable,
  type FieldType,
  type FieldValue,
  TypedField,
} from './protocol/field-types.js';
