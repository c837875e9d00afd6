/**
 * `import` (ESM) and `require` (CommonJS) of the installed tarball give the same exports, and the
 * version is the package's. Run under each runtime by spec/package/check.ts.
 */
import { createRequire } from 'node:module';
import process from 'node:process';
import * as esm from 'warren';

const require = createRequire(import.meta.url);
const cjs = require('warren');
const pkg = require('warren/package.json');

const names = (module) =>
  Object.keys(module)
    .filter((name) => name !== 'default')
    .sort();
const esmNames = names(esm);
const cjsNames = names(cjs);
const problems = [];
if (esmNames.join() !== cjsNames.join()) {
  problems.push(`import gives ${esmNames.join(', ')}; require gives ${cjsNames.join(', ')}`);
}
for (const [how, module] of [
  ['import', esm],
  ['require', cjs],
]) {
  if (module.VERSION !== pkg.version) {
    problems.push(`${how}: VERSION is ${module.VERSION}, package.json says ${pkg.version}`);
  }
  for (const name of ['connect', 'Connection', 'Message', 'AmqpError']) {
    if (typeof module[name] !== 'function') problems.push(`${how}: ${name} is not a function`);
  }
}
// warren/testing loads warren itself (its ESM build the ESM one, its CJS build the CJS one), not
// a copy of its own: its error classes extend that very AmqpError.
const esmTesting = await import('warren/testing');
const cjsTesting = require('warren/testing');
for (const [how, testing, warren] of [
  ['import', esmTesting, esm],
  ['require', cjsTesting, cjs],
]) {
  for (const name of [
    'startBroker',
    'useBroker',
    'freshVhost',
    'waitUntilDrained',
    'deadLetters',
  ]) {
    if (typeof testing[name] !== 'function') problems.push(`${how} warren/testing: no ${name}`);
  }
  if (Object.getPrototypeOf(testing.TestBrokerError) !== warren.AmqpError) {
    problems.push(`${how} warren/testing: TestBrokerError does not extend warren's AmqpError`);
  }
}
if (problems.length > 0) {
  for (const problem of problems) console.error(`  ${problem}`);
  process.exit(1);
}
console.log(`  import and require: warren ${pkg.version}, the same ${esmNames.length} exports`);
