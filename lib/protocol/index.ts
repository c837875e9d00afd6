/**
 * The pure AMQP 0-9-1 codec: bytes in, frames and methods out, and back. No
 * sockets, no timers. Internal to warren; the public names are re-exported
 * from `lib/index.ts`.
 * @internal
 * @packageDocumentation
 */
export * from './assembler.js';
export * from './errors.js';
export * from './field-table.js';
export * from './field-types.js';
export * from './frames.js';
export * from './parser.js';
export * from './reader.js';
export * from './spec.js';
export * from './writer.js';
