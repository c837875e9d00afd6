/**
 * The checks of {@link startBroker}'s options: a wrong kind of value is a
 * TypeError, a value out of range a RangeError, before anything starts.
 */
import type { StartBrokerOptions } from './broker.js';

function checkPort(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number')
    throw new TypeError(`${name} must be a number, not ${typeof value}`);
  if (!Number.isInteger(value) || value < 1 || value > 65_535) {
    throw new RangeError(`${name} must be an integer from 1 to 65535, not ${value}`);
  }
}

function checkStrings(name: string, value: unknown): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw new TypeError(`${name} must be an array of strings`);
  }
}

/** @throws TypeError, RangeError for an option that cannot be right */
export function checkStartOptions(options: StartBrokerOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('startBroker() options must be an object');
  }
  const { nodeName, startTimeoutMs, extraEnv, erlangCookie, tls } = options;
  if (nodeName !== undefined) {
    if (typeof nodeName !== 'string') throw new TypeError('nodeName must be a string');
    if (!/^[A-Za-z0-9_.-]+(@[A-Za-z0-9_.-]+)?$/.test(nodeName)) {
      throw new RangeError(`nodeName '${nodeName}' is not an Erlang node name (name or name@host)`);
    }
  }
  checkPort('amqpPort', options.amqpPort);
  checkPort('distPort', options.distPort);
  checkPort('tls.port', tls?.port);
  if (startTimeoutMs !== undefined) {
    if (typeof startTimeoutMs !== 'number') throw new TypeError('startTimeoutMs must be a number');
    if (!(startTimeoutMs > 0) || !Number.isFinite(startTimeoutMs)) {
      throw new RangeError(`startTimeoutMs must be a positive number, not ${startTimeoutMs}`);
    }
  }
  if (extraEnv !== undefined) {
    if (typeof extraEnv !== 'object' || extraEnv === null) {
      throw new TypeError('extraEnv must be an object of strings');
    }
    for (const [key, value] of Object.entries(extraEnv)) {
      if (typeof value !== 'string') throw new TypeError(`extraEnv.${key} must be a string`);
    }
  }
  checkStrings('plugins', options.plugins);
  checkStrings('extraConfig', options.extraConfig);
  if (erlangCookie !== undefined && (typeof erlangCookie !== 'string' || erlangCookie === '')) {
    throw new TypeError('erlangCookie must be a non-empty string');
  }
  if (tls !== undefined) {
    for (const key of ['certFile', 'keyFile', 'caFile'] as const) {
      if (typeof tls[key] !== 'string') throw new TypeError(`tls.${key} must be a file name`);
    }
  }
}
