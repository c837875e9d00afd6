// A CommonJS user's TypeScript: `require` resolves warren's CommonJS build and its types
// (index.d.cts). Type-checked with tsconfig.node16.json.
import warren = require('warren');

export const version: string = warren.VERSION;
export const open: typeof warren.connect = warren.connect;
// @ts-expect-error no such export: the types are warren's, not any
export const missing = warren.noSuchExport;

import testing = require('warren/testing');

// The CommonJS types of warren/testing refer to those of warren: the same AmqpError.
export const base: typeof warren.AmqpError = testing.TestBrokerError;
export const start: typeof testing.startBroker = testing.startBroker;
