/**
 * What a connection records of its topology (lib/topology.ts) and how
 * recovery replays it, through a real recovery: the scripted broker cuts the
 * connection, the client reconnects to the same scripted server, and a
 * second scripted broker answers whatever the client declares again. The
 * tests read the order, the channels and the arguments of what the client
 * replays: exchanges, then queues, then queue bindings, then exchange
 * bindings, each kind spread over several channels, then consumers together
 * (nowait) with one basic.qos after; nothing deleted; server-named queues
 * under their new names; a refusal skipping only its entity. The scripted
 * broker, as RabbitMQ, drops what arrives on a channel it closed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Channel, Queue, RecoveryFailure } from '../../../lib/index.js';
import type { Frame, MethodArgs, MethodName } from '../../../lib/protocol/index.js';
import { nextTurn, type ScriptedPeer } from '../../support/scripted-peer.js';
import {
  acceptReconnect,
  describeFrame,
  type Scripted,
  scriptedConnection,
  teardown,
} from './harness.js';

afterEach(teardown);

/** A method the broker received, with its arguments. */
interface Received {
  readonly name: MethodName;
  readonly channel: number;
  readonly args: Record<string, unknown>;
}

/**
 * Plays a broker that says yes to everything the client asks (or refuses what
 * `refuse` picks, with a 404 that closes the channel), and logs each method
 * in a short form: `queue.bind q x key@2`.
 */
class Responder {
  readonly log: string[] = [];
  readonly received: Received[] = [];
  private stopped = false;
  private readonly running: Promise<void>;
  private named = 0;
  private readonly closing = new Set<number>();

  constructor(
    private readonly peer: ScriptedPeer,
    private readonly serverNames: string,
    private readonly refuse: (method: Received) => boolean = () => false,
  ) {
    this.running = this.run();
  }

  /** Stops answering once what has arrived is answered; the peer is left as it is. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  /** The arguments of the `index`-th method named `name`. */
  args<N extends MethodName>(name: N, index = 0): MethodArgs<N> {
    const found = this.received.filter((method) => method.name === name)[index];
    if (found === undefined) throw new Error(`no ${name} number ${index}`);
    return found.args as MethodArgs<N>;
  }

  private async run(): Promise<void> {
    // Takes only frames already there, so that stopping leaves no reader waiting on the peer.
    while (!this.stopped || this.peer.unread.length > 0) {
      if (this.peer.unread.length === 0) {
        await nextTurn();
        continue;
      }
      const frame = await this.peer.nextFrame();
      if (frame.type === 8) continue;
      if (frame.type !== 1) throw new Error(`unexpected ${describeFrame(frame)}`);
      this.answer(frame);
    }
  }

  private answer(frame: Frame & { type: 1 }): void {
    const { channel, method } = frame;
    // As RabbitMQ, a channel it closed hears nothing but close-ok: what the client sent before
    // it read the close (recovery's nowait consumes, say) is dropped, and not logged.
    if (this.closing.has(channel)) {
      if (method.name !== 'channel.close-ok') return;
      this.closing.delete(channel);
    }
    const received: Received = {
      name: method.name,
      channel,
      args: method.args as unknown as Record<string, unknown>,
    };
    this.received.push(received);
    this.log.push(`${summary(received)}@${channel}`);
    if (this.refuse(received)) {
      this.log.push(`(refused)@${channel}`);
      this.closing.add(channel);
      this.peer.send(channel, 'channel.close', {
        replyCode: 404,
        replyText: 'NOT_FOUND - refused by the test',
        classId: 0,
        methodId: 0,
      });
      return;
    }
    const { peer } = this;
    switch (method.name) {
      case 'channel.open':
        peer.send(channel, 'channel.open-ok', { channelId: Buffer.alloc(0) });
        return;
      case 'channel.close':
        peer.send(channel, 'channel.close-ok', {});
        return;
      case 'channel.close-ok':
      case 'basic.cancel-ok':
        return;
      case 'exchange.declare':
        peer.send(channel, 'exchange.declare-ok', {});
        return;
      case 'exchange.delete':
        peer.send(channel, 'exchange.delete-ok', {});
        return;
      case 'exchange.bind':
        peer.send(channel, 'exchange.bind-ok', {});
        return;
      case 'exchange.unbind':
        peer.send(channel, 'exchange.unbind-ok', {});
        return;
      case 'queue.declare': {
        const queue =
          method.args.queue === '' ? `${this.serverNames}${++this.named}` : method.args.queue;
        peer.send(channel, 'queue.declare-ok', { queue, messageCount: 0, consumerCount: 0 });
        return;
      }
      case 'queue.delete':
        peer.send(channel, 'queue.delete-ok', { messageCount: 0 });
        return;
      case 'queue.bind':
        peer.send(channel, 'queue.bind-ok', {});
        return;
      case 'queue.unbind':
        peer.send(channel, 'queue.unbind-ok', {});
        return;
      case 'basic.qos':
        peer.send(channel, 'basic.qos-ok', {});
        return;
      case 'basic.consume':
        // Recovery resumes consumers with nowait: no answer then, as RabbitMQ gives none.
        if (method.args.nowait) return;
        peer.send(channel, 'basic.consume-ok', { consumerTag: method.args.consumerTag });
        return;
      case 'basic.cancel':
        peer.send(channel, 'basic.cancel-ok', { consumerTag: method.args.consumerTag });
        return;
      case 'confirm.select':
        peer.send(channel, 'confirm.select-ok', {});
        return;
      default:
        throw new Error(`the responder has no answer to ${method.name}`);
    }
  }
}

function summary({ name, args }: Received): string {
  const a = args as Record<string, string>;
  switch (name) {
    case 'exchange.declare':
    case 'exchange.delete':
      return `${name} ${a.exchange}`;
    case 'queue.declare':
    case 'queue.delete':
    case 'basic.consume':
      return `${name} ${a.queue === '' ? "''" : a.queue}`;
    case 'queue.bind':
    case 'queue.unbind':
      return `${name} ${a.queue} ${a.exchange} ${a.routingKey}`.trimEnd();
    case 'exchange.bind':
    case 'exchange.unbind':
      return `${name} ${a.destination} ${a.source} ${a.routingKey}`.trimEnd();
    default:
      return name;
  }
}

/** A scripted connection with recovery, one channel, and a responder answering the first broker. */
async function recoverable(): Promise<{ s: Scripted; channel: Channel; before: Responder }> {
  const s = await scriptedConnection({ initialDelay: 1, maxDelay: 5 });
  const before = new Responder(s.peer, 'amq.gen-old-');
  const channel = await s.connection.openChannel();
  return { s, channel, before };
}

/** What one recovery told the application. */
interface Recovery {
  readonly after: Responder;
  readonly failures: RecoveryFailure[];
  readonly renamed: [Queue, string, string][];
}

/**
 * Cuts the connection, lets the client reconnect to a second scripted broker
 * that answers as `refuse` says, and resolves once the connection has recovered.
 */
async function cutAndRecover(
  s: Scripted,
  before: Responder,
  refuse?: (method: Received) => boolean,
  serverNames = 'amq.gen-new-',
): Promise<Recovery> {
  await before.stop();
  const { connection } = s;
  const failures: RecoveryFailure[] = [];
  const renamed: [Queue, string, string][] = [];
  connection.on('recoveryFailure', (failure) => failures.push(failure));
  connection.on('queueRenamed', (queue, from, to) => renamed.push([queue, from, to]));
  const recovered = new Promise<void>((resolve) => connection.once('recovered', () => resolve()));
  s.peer.destroy();
  const after = new Responder(await acceptReconnect(s), serverNames, refuse);
  await recovered;
  await after.stop();
  expect(connection.isOpen).toBe(true);
  return { after, failures, renamed };
}

describe('replay after a reconnect', () => {
  it('declares exchanges, then queues, then queue bindings, then exchange bindings, then consumers', async () => {
    const { s, channel, before } = await recoverable();
    // Declared in a mixed order: the replay sorts them by kind, keeping each kind's order.
    const q1 = await channel.declareQueue('q1', { durable: true });
    const x1 = await channel.declareExchange('x1', 'topic', { durable: true });
    const x2 = await channel.declareExchange('x2', 'fanout', { autoDelete: true });
    await x2.bind(x1, 'k.#');
    await q1.bind(x1, 'k1');
    const q2 = await channel.declareQueue('q2', {
      exclusive: true,
      arguments: { 'x-max-length': 10 },
    });
    await q2.bind(x2);
    const x3 = await channel.declareExchange('x3', 'direct');
    await x3.bind(x2);
    await q1.bind(x3, 'k3');
    await q1.consume(() => {}, { consumerTag: 'c1' });
    await q2.consume(() => {}, { consumerTag: 'c2', exclusive: true });

    const { after, failures } = await cutAndRecover(s, before);
    // Each kind over as many channels as it has entities (up to 16), the next kind after; the
    // consumers together on their own channel, and a basic.qos whose answer says they started.
    expect(after.log).toEqual([
      'channel.open@1',
      'channel.open@2',
      'channel.open@3',
      'channel.open@4',
      'exchange.declare x1@2',
      'exchange.declare x2@3',
      'exchange.declare x3@4',
      'queue.declare q1@2',
      'queue.declare q2@3',
      'queue.bind q1 x1 k1@2',
      'queue.bind q2 x2@3',
      'queue.bind q1 x3 k3@4',
      'exchange.bind x2 x1 k.#@2',
      'exchange.bind x3 x2@3',
      'channel.close@2',
      'channel.close@3',
      'channel.close@4',
      'basic.consume q1@1',
      'basic.consume q2@1',
      'basic.qos@1',
    ]);
    expect(failures).toEqual([]);
    // Each is declared again exactly as it was declared first; the consumers with nowait.
    for (const name of [
      'exchange.declare',
      'queue.declare',
      'queue.bind',
      'exchange.bind',
      'basic.consume',
    ] as const) {
      const count = before.received.filter((method) => method.name === name).length;
      for (let i = 0; i < count; i++) {
        const again = name === 'basic.consume' ? { nowait: true } : {};
        expect(after.args(name, i)).toEqual({ ...before.args(name, i), ...again });
      }
    }
  });

  it('sets the channel up again (QoS, confirms) before the topology, and consumers last', async () => {
    const s = await scriptedConnection({ initialDelay: 1, maxDelay: 5 });
    const before = new Responder(s.peer, 'amq.gen-old-');
    const channel = await s.connection.openChannel({ confirm: true });
    await channel.setQos({ prefetchCount: 7, global: true });
    const queue = await channel.declareQueue('q');
    await queue.consume(() => {}, { prefetch: 3 });
    const { after } = await cutAndRecover(s, before);
    expect(after.log).toEqual([
      'channel.open@1',
      'confirm.select@1',
      'basic.qos@1',
      'basic.qos@1',
      'channel.open@2',
      'queue.declare q@2',
      'channel.close@2',
      'basic.consume q@1',
      'basic.qos@1',
    ]);
    // The channel's QoS of both scopes; the consumer's own is the channel's latest, in force
    // already; then that latest again, for consumers started later.
    expect(after.args('basic.qos', 0)).toEqual({ prefetchCount: 7, prefetchSize: 0, global: true });
    for (const index of [1, 2]) {
      expect(after.args('basic.qos', index)).toEqual({
        prefetchCount: 3,
        prefetchSize: 0,
        global: false,
      });
    }
  });

  it('does not replay what was deleted or unbound, nor what went with it', async () => {
    const { s, channel, before } = await recoverable();
    const xa = await channel.declareExchange('xa', 'direct');
    const xb = await channel.declareExchange('xb', 'direct');
    const xdel = await channel.declareExchange('xdel', 'direct');
    await channel.declareExchange('xpassive', 'direct', { passive: true });
    const qa = await channel.declareQueue('qa');
    const qdel = await channel.declareQueue('qdel');
    await channel.declareQueue('qpassive', { passive: true });
    await qa.bind(xa, 'kept');
    const unbound = await qa.bind(xa, 'unbound');
    await qdel.bind(xa, 'with the queue');
    await qa.bind(xdel, 'with the exchange');
    await xb.bind(xa, 'kept');
    const unboundExchange = await xb.bind(xa, 'unbound');
    await xb.bind(xdel, 'with the source');
    await xdel.bind(xa, 'with the destination');

    await unbound.unbind();
    await unboundExchange.unbind();
    await qdel.delete();
    await xdel.delete();

    const { after } = await cutAndRecover(s, before);
    expect(after.log).toEqual([
      'channel.open@1',
      'channel.open@2',
      'channel.open@3',
      'exchange.declare xa@2',
      'exchange.declare xb@3',
      'queue.declare qa@2',
      'queue.bind qa xa kept@2',
      'exchange.bind xb xa kept@2',
      'channel.close@2',
      'channel.close@3',
    ]);
  });

  it('replays a queue declared again under the same name once, with its latest declaration', async () => {
    const { s, channel, before } = await recoverable();
    await channel.declareQueue('twice', { durable: false });
    await channel.declareQueue('twice', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await channel.declareExchange('x', 'direct', { durable: false });
    await channel.declareExchange('x', 'direct', { durable: true });
    const { after } = await cutAndRecover(s, before);
    expect(after.log).toEqual([
      'channel.open@1',
      'channel.open@2',
      'exchange.declare x@2',
      'queue.declare twice@2',
      'channel.close@2',
    ]);
    expect(after.args('queue.declare')).toEqual(before.args('queue.declare', 1));
    expect(after.args('exchange.declare')).toEqual(before.args('exchange.declare', 1));
  });
});

describe('a server-named queue', () => {
  it('gets its new name in its bindings and consumers, and the application hears of it', async () => {
    const { s, channel, before } = await recoverable();
    const x = await channel.declareExchange('x', 'direct');
    const y = await channel.declareExchange('y', 'fanout');
    const queue = await channel.declareQueue('', { exclusive: true });
    expect(queue.name).toBe('amq.gen-old-1');
    await queue.bind(x, 'one');
    await queue.bind(y);
    await queue.consume(() => {}, { consumerTag: 'first' });
    await queue.consume(() => {}, { consumerTag: 'second' });

    const { after, renamed } = await cutAndRecover(s, before);
    expect(after.log).toEqual([
      'channel.open@1',
      'channel.open@2',
      'channel.open@3',
      'exchange.declare x@2',
      'exchange.declare y@3',
      "queue.declare ''@2",
      'queue.bind amq.gen-new-1 x one@2',
      'queue.bind amq.gen-new-1 y@3',
      'channel.close@2',
      'channel.close@3',
      'basic.consume amq.gen-new-1@1',
      'basic.consume amq.gen-new-1@1',
      'basic.qos@1',
    ]);
    expect(after.args('basic.consume', 0).consumerTag).toBe('first');
    expect(after.args('basic.consume', 1).consumerTag).toBe('second');
    expect(queue.name).toBe('amq.gen-new-1');
    expect(renamed).toEqual([[queue, 'amq.gen-old-1', 'amq.gen-new-1']]);
  });

  it('keeps its new name through a second recovery', async () => {
    const { s, channel, before } = await recoverable();
    const queue = await channel.declareQueue('');
    await queue.bind('amq.fanout');
    const first = await cutAndRecover(s, before);
    expect(queue.name).toBe('amq.gen-new-1');
    const second = await cutAndRecover(s, first.after, undefined, 'amq.gen-third-');
    expect(second.after.log).toContain('queue.bind amq.gen-third-1 amq.fanout@2');
    expect(second.renamed).toEqual([[queue, 'amq.gen-new-1', 'amq.gen-third-1']]);
    expect(queue.name).toBe('amq.gen-third-1');
  });
});

describe('a refusal during the replay', () => {
  it('skips only that entity, reports it, and goes on on a new channel', async () => {
    const { s, channel, before } = await recoverable();
    await channel.declareExchange('xgone', 'direct');
    const xok = await channel.declareExchange('xok', 'direct');
    await channel.declareQueue('qgone');
    const qok = await channel.declareQueue('qok');
    await qok.bind(xok, 'k');
    await qok.consume(() => {});

    const refused = (method: Received): boolean =>
      (method.name === 'exchange.declare' && method.args.exchange === 'xgone') ||
      (method.name === 'queue.declare' && method.args.queue === 'qgone');
    const { after, failures } = await cutAndRecover(s, before, refused);
    expect(after.log).toEqual([
      'channel.open@1',
      'channel.open@2',
      'channel.open@3',
      'exchange.declare xgone@2',
      '(refused)@2',
      'exchange.declare xok@3',
      'channel.close-ok@2',
      // The refused lane goes on on a new channel; the other lane on its own.
      'channel.open@4',
      'queue.declare qgone@4',
      '(refused)@4',
      'queue.declare qok@3',
      'channel.close-ok@4',
      'channel.open@5',
      'queue.bind qok xok k@5',
      'channel.close@5',
      'channel.close@3',
      'basic.consume qok@1',
      'basic.qos@1',
    ]);
    expect(failures.map(({ entity, error }) => [entity, (error as { code: string }).code])).toEqual(
      [
        ["exchange 'xgone'", 'NOT_FOUND'],
        ["queue 'qgone'", 'NOT_FOUND'],
      ],
    );
  });

  it('of a consumer ends that consumer only; the others resume on the reopened channel', async () => {
    const { s, channel, before } = await recoverable();
    const gone = await channel.declareQueue('gone');
    const kept = await channel.declareQueue('kept');
    const first = await kept.consume(() => {}, { consumerTag: 'first' });
    const refusedConsumer = await gone.consume(() => {}, { consumerTag: 'refused' });
    const last = await kept.consume(() => {}, { consumerTag: 'last' });
    const cancelled: unknown[] = [];
    refusedConsumer.on('cancel', (reason) => cancelled.push(reason));

    const { after, failures } = await cutAndRecover(
      s,
      before,
      (method) => method.name === 'basic.consume' && method.args.consumerTag === 'refused',
    );
    // The consumers went out together; the refusal closed channel 1 (the broker drops what
    // follows). It reopens and they start one by one, to learn which was refused: that one
    // again, once more reopening, and then the rest.
    const tail = after.log.slice(after.log.indexOf('channel.close@3') + 1);
    expect(tail).toEqual([
      'basic.consume kept@1',
      'basic.consume gone@1',
      '(refused)@1',
      'channel.close-ok@1',
      'channel.open@4',
      'basic.consume kept@4',
      'basic.consume gone@4',
      '(refused)@4',
      'channel.close-ok@4',
      'channel.open@5',
      'basic.consume kept@5',
      'basic.consume kept@5',
    ]);
    expect(after.args('basic.consume', 4).consumerTag).toBe('first');
    expect(after.args('basic.consume', 5).consumerTag).toBe('last');
    expect(failures.map(({ entity }) => entity)).toEqual(["consumer refused on queue 'gone'"]);
    expect(cancelled).toMatchObject([{ code: 'NOT_FOUND' }]);
    expect(refusedConsumer.cancelled).toBe(true);
    expect(first.cancelled).toBe(false);
    expect(last.cancelled).toBe(false);
    expect(channel.isOpen).toBe(true);
    expect(channel.id).toBe(5);
  });
});

describe('auto-delete queues', () => {
  it('are not replayed once their last consumer stopped, nor their bindings', async () => {
    const { s, channel, before } = await recoverable();
    const xad = await channel.declareExchange('xad', 'direct', { autoDelete: true });
    const xkept = await channel.declareExchange('xkept', 'direct');
    const stopped = await channel.declareQueue('stopped', { autoDelete: true });
    await stopped.bind(xad);
    await stopped.bind(xkept);
    await (await stopped.consume(() => {})).cancel();

    const running = await channel.declareQueue('running', { autoDelete: true });
    await running.consume(() => {});

    // Its last consumer here stopped, but one on another channel of the connection runs on.
    const shared = await channel.declareQueue('shared', { autoDelete: true });
    const otherChannel = await s.connection.openChannel();
    await otherChannel.queue('shared').consume(() => {});
    await (await shared.consume(() => {})).cancel();

    const brokerCancelled = await channel.declareQueue('broker-cancelled', { autoDelete: true });
    const cancelledByBroker = await brokerCancelled.consume(() => {}, { consumerTag: 'bc' });
    const cancelled = new Promise((resolve) => cancelledByBroker.once('cancel', resolve));
    s.peer.send(channel.id, 'basic.cancel', { consumerTag: 'bc', nowait: false });
    await cancelled;

    // Not auto-delete: it stays whatever its consumers do.
    const plain = await channel.declareQueue('plain');
    await (await plain.consume(() => {})).cancel();

    const { after } = await cutAndRecover(s, before);
    const replayed = after.log.filter((line) => /^(queue|exchange)\./.test(line));
    // The auto-delete exchange went with the last queue bound to it.
    expect(replayed).toEqual([
      'exchange.declare xkept@3',
      'queue.declare running@3',
      'queue.declare shared@3',
      'queue.declare plain@4',
    ]);
  });
});
