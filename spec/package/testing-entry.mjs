// Loaded by testing-entry.spec.ts with plain Node (no vitest resolver in between): what
// `warren/testing` and `warren` resolve to inside this package (its self-reference), and
// whether they share their classes. Prints one JSON line.
import { createRequire } from 'node:module';
import * as warren from 'warren';
import * as testing from 'warren/testing';

const require = createRequire(import.meta.url);
const cjsWarren = require('warren');
const cjsTesting = require('warren/testing');

const error = new testing.TestBrokerError('BROKER_STOPPED', 'x');
const cjsError = new cjsTesting.RabbitmqctlError('x', 1, '', '');
console.log(
  JSON.stringify({
    warren: import.meta.resolve('warren'),
    testing: import.meta.resolve('warren/testing'),
    esmExtendsEsm: Object.getPrototypeOf(testing.TestBrokerError) === warren.AmqpError,
    cjsExtendsCjs: Object.getPrototypeOf(cjsTesting.TestBrokerError) === cjsWarren.AmqpError,
    esmInstanceOfEsm: error instanceof warren.AmqpError,
    cjsInstanceOfCjs: cjsError instanceof cjsWarren.AmqpError,
    rabbitmqctlExtendsEsm: Object.getPrototypeOf(testing.RabbitmqctlError) === warren.AmqpError,
    ownName: String(error).startsWith('TestBrokerError: '),
  }),
);
