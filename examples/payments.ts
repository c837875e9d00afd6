/**
 * A worker that retries later and dead-letters with reasons: payments are
 * charged through a gateway that sometimes fails.
 *
 * - A failure the gateway may get over (`GatewayUnavailableError`) is retried
 *   after 100 ms, then 300 ms, through wait queues on the broker
 *   (`retry()`): the payment that fails twice is charged on its third
 *   attempt.
 * - A declined card will not get better: `retryIf` marks it permanent, so it
 *   is dead-lettered at once (`x-warren-reason: permanent`).
 * - A payment that is still failing after its third attempt is dead-lettered
 *   as `exhausted`; one that does not match the schema as `invalid`, without
 *   reaching the handler and without a retry.
 *
 * Then the gateway comes back, and an operator's script reads the dead
 * letters, says why each is there, and replays the exhausted one to the
 * queue it came from (`replay()` with a filter), where it is charged. The
 * others stay in the dead-letter queue.
 *
 * Run alone: `AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/payments.ts`
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { type Channel, connect, replay, retry, WarrenHeaders } from '../lib/index.js';

/** A payment to charge, in cents. */
export const Payment = z.object({
  id: z.number().int().positive(),
  amount: z.number().int().positive(),
  card: z.string().min(1),
});
export type Payment = z.infer<typeof Payment>;

/** The queue the worker charges payments from. */
export const PAYMENTS_QUEUE = 'demo.payments';
/** Where payments that will not be charged end up, saying why. */
export const PAYMENTS_DEAD = 'demo.payments.dead';

/** The gateway is down for now: worth retrying later. */
class GatewayUnavailableError extends Error {
  override name = 'GatewayUnavailableError';
  readonly code = 'GATEWAY_UNAVAILABLE';
}

/** The bank said no: no retry will change that. */
class CardDeclinedError extends Error {
  override name = 'CardDeclinedError';
  readonly code = 'CARD_DECLINED';
}

/**
 * The payment gateway, standing in for an HTTP call. Card `flaky` fails
 * its first two attempts; card `declined` is always declined; card `outage`
 * fails while the gateway is in an outage.
 */
class Gateway {
  outage = true;

  charge(payment: Payment, attempt: number): void {
    if (payment.card === 'declined') throw new CardDeclinedError(`card of payment ${payment.id}`);
    if (payment.card === 'flaky' && attempt < 3) throw new GatewayUnavailableError('timed out');
    if (payment.card === 'outage' && this.outage) throw new GatewayUnavailableError('outage');
  }
}

/** A dead letter, as the operator's script read it. */
export interface DeadLetterReport {
  readonly id: unknown;
  readonly reason: unknown;
  readonly attempt: unknown;
  readonly error: unknown;
}

/** What a run did. */
export interface PaymentsReport {
  /** `id@attempt` for every payment charged, in order. */
  readonly charged: string[];
  /** `id@attempt` for every failed attempt, in order. */
  readonly failed: string[];
  /** The dead letters, as the operator found them. */
  readonly deadLetters: DeadLetterReport[];
  /** How many dead letters the operator replayed. */
  replayed: number;
}

/** Publishes five payments and runs the worker and the operator's script; resolves once done. */
export async function runPayments(url: string): Promise<PaymentsReport> {
  await using connection = await connect(url, { connectionName: 'payments example' });
  const channel = await connection.openChannel({ confirm: true });
  // This run's own queues (exclusive: gone when the connection closes), and so its wait queues.
  const deadLetters = await channel.declareQueue(PAYMENTS_DEAD, { exclusive: true });
  const payments = await channel.declareQueue(PAYMENTS_QUEUE, {
    exclusive: true,
    schema: Payment,
    arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': PAYMENTS_DEAD },
  });

  const gateway = new Gateway();
  const report: PaymentsReport = { charged: [], failed: [], deadLetters: [], replayed: 0 };
  const consumer = await payments.consume(
    (message) => {
      gateway.charge(message.data, message.attempt);
      console.log(`worker:    payment ${message.data.id} charged on attempt ${message.attempt}`);
      report.charged.push(`${message.data.id}@${message.attempt}`);
    },
    {
      settle: 'auto',
      onFailure: retry({
        delays: [100, 300],
        retryIf: (error) => !(error instanceof CardDeclinedError),
      }),
    },
  );
  consumer.on('error', (error, message) => {
    const id = (message.data as Payment).id;
    console.log(`worker:    payment ${id} failed on attempt ${message.attempt}: ${error}`);
    report.failed.push(`${id}@${message.attempt}`);
  });
  consumer.on('invalid', (error) => console.log(`worker:    ${error.message}`));

  // Straight to the queue, through the default exchange; the schema checks each payment.
  const publisher = channel.exchange('', { schema: Payment });
  await publisher.publish({ id: 1, amount: 1_250, card: 'visa' }, PAYMENTS_QUEUE);
  await publisher.publish({ id: 2, amount: 3_000, card: 'flaky' }, PAYMENTS_QUEUE);
  await publisher.publish({ id: 3, amount: 990, card: 'declined' }, PAYMENTS_QUEUE);
  await publisher.publish({ id: 4, amount: 4_500, card: 'outage' }, PAYMENTS_QUEUE);
  // A payment from an older publisher, unchecked, with a negative amount: the worker refuses it.
  await channel.exchange('').publish({ id: 5, amount: -5, card: 'visa' }, PAYMENTS_QUEUE);
  console.log('publisher: 5 payments confirmed by the broker');

  // Payments 3, 4 and 5 end up dead-lettered; 1 and 2 are charged.
  await until(channel, 3, () => report.charged.length === 2);
  gateway.outage = false;
  console.log('operator:  the gateway is back; reading the dead letters');

  const result = await replay(deadLetters, {
    filter: (message) => {
      const { headers } = message;
      const letter: DeadLetterReport = {
        id: (message.json() as { id?: unknown }).id,
        reason: headers[WarrenHeaders.reason],
        attempt: headers[WarrenHeaders.attempt],
        error: headers[WarrenHeaders.errorName],
      };
      console.log(
        `operator:  payment ${letter.id}: ${letter.reason} on attempt ${letter.attempt}` +
          ` (${letter.error ?? headers[WarrenHeaders.errorMessage]})`,
      );
      report.deadLetters.push(letter);
      // Retries used up during the outage: worth another go now. The others are not.
      return letter.reason === 'exhausted';
    },
  });
  report.replayed = result.moved;
  console.log(`operator:  replayed ${result.moved}, left ${result.skipped} in ${PAYMENTS_DEAD}`);

  await until(channel, 2, () => report.charged.length === 3);
  await consumer.cancel();
  return report;
}

/**
 * Waits until the dead-letter queue holds `deadLetters` messages and `done()`
 * holds, as an operator watching the queues would; gives up after 10 s.
 */
async function until(channel: Channel, deadLetters: number, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const queue = await channel.declareQueue(PAYMENTS_DEAD, { passive: true });
    if (queue.declared?.messageCount === deadLetters && done()) return;
    if (Date.now() > deadline) throw new Error('the payments did not settle within 10 s');
    await sleep(20);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runPayments(process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/');
}
