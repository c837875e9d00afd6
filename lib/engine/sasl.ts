import { writeTable } from '../protocol/field-table.js';
import { ByteWriter } from '../protocol/writer.js';

/** The SASL mechanisms warren speaks. */
export type SaslMechanism = 'PLAIN' | 'AMQPLAIN' | 'EXTERNAL';

/** Preference when the application names none: EXTERNAL only when asked for. */
const PREFERENCE: readonly SaslMechanism[] = ['PLAIN', 'AMQPLAIN'];

/**
 * Picks the mechanism to use from the broker's space-separated offer:
 * `wanted` if given and offered, else the first of PLAIN, AMQPLAIN offered.
 * Returns `undefined` when nothing fits.
 */
export function chooseMechanism(
  offered: string,
  wanted: SaslMechanism | undefined,
): SaslMechanism | undefined {
  const names = new Set(offered.split(' ').filter((name) => name !== ''));
  const candidates = wanted === undefined ? PREFERENCE : [wanted];
  return candidates.find((name) => names.has(name));
}

/** The `start-ok` response for `mechanism`. */
export function saslResponse(mechanism: SaslMechanism, username: string, password: string): Buffer {
  switch (mechanism) {
    case 'PLAIN':
      return Buffer.from(`\0${username}\0${password}`, 'utf8');
    case 'AMQPLAIN': {
      // A field table without its length prefix, as RabbitMQ expects.
      const w = new ByteWriter(256);
      writeTable(w, { LOGIN: username, PASSWORD: password }, 'AMQPLAIN response');
      return Buffer.from(w.take().subarray(4));
    }
    case 'EXTERNAL':
      return Buffer.alloc(0);
  }
}
