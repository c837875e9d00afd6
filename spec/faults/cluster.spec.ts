/**
 * Failover in a three-node RabbitMQ cluster the test owns (spec/support/cluster.ts): a node that
 * holds the connection crashes and warren moves to another one with its quorum queue and
 * consumer; then the figure, 50,000 confirmed messages through a dozen connection cuts and a node
 * crash, with nothing confirmed lost.
 *
 * Every test also fails when the process saw an unhandled rejection or an uncaught exception.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AmqpError,
  type Channel,
  type Connection,
  connect,
  type IncomingMessage,
  type ReconnectAttempt,
} from '../../lib/index.js';
import { queueCounts, uniqueName, waitFor } from '../support/amqp-helpers.js';
import { type Cluster, startCluster } from '../support/cluster.js';
import { sleep, within } from '../support/fault-helpers.js';
import { useFaultSuite } from '../support/fault-suite.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const QUORUM = { arguments: { 'x-queue-type': 'quorum' } } as const; // durable by default
const RECOVERY = { initialDelay: 50, maxDelay: 500 } as const;

let cluster: Cluster;
const { later } = useFaultSuite({ failOnWarrenWarnings: false });

beforeAll(async () => {
  cluster = await startCluster(3);
  console.log(`three-node cluster formed in ${(cluster.startMs / 1000).toFixed(1)} s`);
}, 300_000);

afterAll(async () => {
  await cluster?.stop();
});

/** `127.0.0.1:<port>`, as `hosts` takes it. */
function hostOf(url: string): string {
  const { hostname, port } = new URL(url);
  return `${hostname}:${port}`;
}

/** Connects and closes the connection after the test. */
async function connectFor(url: string, hosts: string[]): Promise<Connection> {
  const connection = await connect(url, { hosts, recovery: RECOVERY });
  later(() => connection.close());
  return connection;
}

/** What the connection went through: losses, attempts and recoveries, in order. */
function trackRecovery(connection: Connection): {
  lost: string[];
  attempts: ReconnectAttempt[];
  recovered: ReconnectAttempt[];
  failures: string[];
} {
  const track = {
    lost: [] as string[],
    attempts: [] as ReconnectAttempt[],
    recovered: [] as ReconnectAttempt[],
    failures: [] as string[],
  };
  connection.on('disconnected', (error) => track.lost.push(error.code));
  connection.on('reconnecting', (attempt) => track.attempts.push(attempt));
  connection.on('recovered', (attempt) => track.recovered.push(attempt));
  connection.on('recoveryFailure', ({ entity, error }) =>
    track.failures.push(`${entity}: ${String(error)}`),
  );
  return track;
}

describe('a three-node cluster', () => {
  it('fails over to another node when the node holding the connection crashes', async () => {
    const [urlA, urlB, urlC] = cluster.urls as [string, string, string];
    // The next test wants three nodes again, whatever happens here.
    let restarted = false;
    later(async () => {
      if (!restarted) await cluster.restart(0);
    });
    const connection = await connectFor(urlA, [hostOf(urlB), hostOf(urlC)]);
    const track = trackRecovery(connection);
    const channel = await connection.openChannel({ confirm: true });
    const queue = await channel.declareQueue(uniqueName('cluster-failover'), QUORUM);
    const received: string[] = [];
    const consumer = await queue.consume(
      (message: IncomingMessage) => {
        received.push(message.text());
      },
      { settle: 'auto', prefetch: 10 },
    );
    const cancelled: AmqpError[] = [];
    consumer.on('cancel', (reason) => cancelled.push(reason));
    const publish = (text: string) => channel.exchange('').publish(text, queue.name);
    await publish('before');
    await waitFor(() => received.length === 1, 10_000, "'before' arriving");

    const recovered = new Promise<ReconnectAttempt>((resolve) =>
      connection.once('recovered', resolve),
    );
    await cluster.kill(0);
    const attempt = await within(recovered, 60_000, 'recovery on another node');

    expect(track.lost).toEqual(['CONNECTION_LOST']);
    expect(track.attempts.length).toBeGreaterThanOrEqual(1);
    expect(attempt.host).not.toBe(hostOf(urlA));
    expect([hostOf(urlB), hostOf(urlC)]).toContain(attempt.host);
    expect(track.failures).toEqual([]);
    expect(connection.isOpen).toBe(true);
    expect(channel.isOpen).toBe(true);
    expect(consumer.cancelled).toBe(false);

    // Published after the failover, through the node the connection moved to.
    const after = Array.from({ length: 20 }, (_, i) => `after ${i + 1}`);
    for (const text of after) await publish(text);
    await waitFor(
      () => received.filter((text) => text !== 'before').length >= after.length,
      30_000,
      'the messages published after failover',
    );
    // 'before' may come again if the crash beat its ack to the broker (at least once).
    expect(received.filter((text) => text !== 'before')).toEqual(after);
    expect(cancelled).toEqual([]);
    // The broker agrees: the queue is empty (all acked).
    await waitFor(
      async () => (await queueCounts(connection, queue.name))?.messageCount === 0,
      20_000,
      'the queue to be empty',
    );

    // The crashed node comes back and rejoins. Until then the quorum queue keeps the consumer
    // of the dead connection as "suspected down" (consumerCount 2); once the node is back, the
    // broker drops it, and the consumer warren brought back is the only one.
    await cluster.restart(0);
    restarted = true;
    await waitFor(
      async () => (await queueCounts(connection, queue.name))?.consumerCount === 1,
      20_000,
      "the dead connection's consumer to go",
    );
    expect(await queueCounts(connection, queue.name)).toEqual({
      messageCount: 0,
      consumerCount: 1,
    });
    await queue.delete({ ifUnused: false, ifEmpty: false });
  }, 120_000);

  it('loses nothing confirmed: 50,000 messages through 12 cuts and a node crash', async () => {
    const TOTAL = 50_000;
    const WINDOW = 1_000;
    const CUT_EVERY = 4_000; // confirmed messages between cuts: 12 cuts
    const KILL_AT = 22_000; // confirmed messages before the crash
    const began = performance.now();

    const proxies = await Promise.all(cluster.urls.map((url) => TcpProxy.for(url)));
    later(async () => {
      await Promise.all(proxies.map((proxy) => proxy.close()));
    });
    const proxied = proxies.map((proxy, i) => proxy.url(cluster.urls[i] as string));
    const hosts = proxied.map(hostOf);
    const nodeBehind = (host: string): number => hosts.indexOf(host);
    // Publisher on node 0 (where the queue's leader starts), consumer on node 1.
    const publisher = await connectFor(proxied[0] as string, [hosts[1], hosts[2]] as string[]);
    expect(proxies.map((proxy) => proxy.open)).toEqual([1, 0, 0]);
    const consumerConnection = await connectFor(
      proxied[1] as string,
      [hosts[2], hosts[0]] as string[],
    );
    const publisherTrack = trackRecovery(publisher);
    const consumerTrack = trackRecovery(consumerConnection);
    let publisherNode = 0;
    publisher.on('recovered', ({ host }) => {
      publisherNode = nodeBehind(host);
    });

    const name = uniqueName('cluster-figure');
    let publishChannel: Channel = await publisher.openChannel({ confirm: true });
    await publishChannel.declareQueue(name, QUORUM);
    const consumeChannel = await consumerConnection.openChannel();
    const consumeQueue = await consumeChannel.declareQueue(name, QUORUM);

    // The consumer counts each id, and how often it came.
    const seen = new Uint16Array(TOTAL);
    let receivedUnique = 0;
    let deliveries = 0;
    let redelivered = 0;
    const malformed: string[] = [];
    const consumer = await consumeQueue.consume(
      (message: IncomingMessage) => {
        deliveries++;
        if (message.redelivered) redelivered++;
        const { id } = message.json() as { id: unknown };
        if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= TOTAL) {
          malformed.push(message.text());
          return;
        }
        if (seen[id] === 0) receivedUnique++;
        seen[id] = (seen[id] ?? 0) + 1;
      },
      { settle: 'auto', prefetch: 500 },
    );
    const consumerCancelled: AmqpError[] = [];
    consumer.on('cancel', (reason) => consumerCancelled.push(reason));

    // The publisher keeps WINDOW publishes in flight and republishes what it cannot know arrived.
    const confirmed = new Uint8Array(TOTAL);
    let confirmedCount = 0;
    let published = 0;
    const republishedFor: Record<string, number> = {};
    const otherErrors: unknown[] = [];
    const retry: number[] = [];
    let next = 0;
    let inFlight = 0;
    // RabbitMQ 3.10 nacks every publish of a channel to a quorum queue for good when the
    // channel's first publish found the queue's recorded leader down (rabbit_fifo_client's
    // first enqueue: {badrpc, nodedown} -> reject_publish, state unchanged). A publisher that
    // sees nacks therefore moves to a new channel, as an application would have to.
    let channelsReplaced = 0;
    let replacing: Promise<void> | undefined;
    let pump: () => void = () => {};
    const replaceChannel = (stuck: Channel): void => {
      if (stuck !== publishChannel || replacing !== undefined) return;
      replacing = (async () => {
        await sleep(250);
        publishChannel = await publisher.openChannel({ confirm: true });
        channelsReplaced++;
        // Its publishes still in flight reject with PUBLISH_UNCONFIRMED and go again.
        await stuck.close().catch(() => {});
      })().then(
        () => {
          replacing = undefined;
          pump();
        },
        (error: unknown) => {
          otherErrors.push(error);
        },
      );
    };
    const publishedAll = new Promise<void>((resolve, reject) => {
      pump = (): void => {
        while (replacing === undefined && inFlight < WINDOW && (retry.length > 0 || next < TOTAL)) {
          const id = retry.length > 0 ? (retry.shift() as number) : next++;
          const channel = publishChannel;
          inFlight++;
          published++;
          channel
            .exchange('')
            .publish({ id }, name)
            .then(
              () => {
                inFlight--;
                if (confirmed[id] === 0) confirmedCount++;
                confirmed[id] = 1;
                if (confirmedCount === TOTAL) resolve();
                else pump();
              },
              (error: unknown) => {
                inFlight--;
                const code = (error as AmqpError).code;
                // Unknown fate (the channel or connection went), not sent, or refused: again.
                if (
                  code === 'PUBLISH_UNCONFIRMED' ||
                  code === 'DISCONNECTED' ||
                  code === 'PUBLISH_NACKED'
                ) {
                  republishedFor[code] = (republishedFor[code] ?? 0) + 1;
                  retry.push(id);
                  if (code === 'PUBLISH_NACKED') replaceChannel(channel);
                  pump();
                } else {
                  otherErrors.push(error);
                  reject(error);
                }
              },
            );
        }
      };
      pump();
    });
    // A failure surfaces through `within` below; keep it handled meanwhile.
    publishedAll.catch(() => {});

    // Cut both connections every CUT_EVERY confirms (each time once both are up again), and
    // crash the node behind the publisher once.
    let cuts = 0;
    let killedNode: number | undefined;
    const state = (): string =>
      `publisher open ${publisher.isOpen} recovering ${publisher.isRecovering} ` +
      `(lost ${publisherTrack.lost.length}, attempts ${publisherTrack.attempts.length}, ` +
      `recovered ${publisherTrack.recovered.length}), consumer open ${consumerConnection.isOpen} ` +
      `recovering ${consumerConnection.isRecovering} (lost ${consumerTrack.lost.length}, ` +
      `attempts ${consumerTrack.attempts.length}, recovered ${consumerTrack.recovered.length}), ` +
      `proxies open ${proxies.map((proxy) => proxy.open).join('/')}`;
    const bothUp = async (what: string): Promise<void> => {
      try {
        await waitFor(() => publisher.isOpen && consumerConnection.isOpen, 60_000, what);
      } catch (error) {
        throw new Error(`${(error as Error).message}: ${state()}`);
      }
    };
    const chaos = (async () => {
      for (let k = 1; k * CUT_EVERY < TOTAL; k++) {
        await waitFor(() => confirmedCount >= k * CUT_EVERY, 120_000, `${k * CUT_EVERY} confirms`);
        await bothUp('both connections to be up before a cut');
        if (killedNode === undefined && confirmedCount >= KILL_AT) {
          const losses = publisherTrack.lost.length;
          killedNode = publisherNode;
          await cluster.kill(killedNode);
          await waitFor(
            () => publisherTrack.lost.length > losses,
            10_000,
            'the publisher to notice',
          );
          await bothUp('both connections to be up after the crash');
        }
        const losses = [publisherTrack.lost.length, consumerTrack.lost.length] as const;
        for (const proxy of proxies) proxy.cut();
        cuts++;
        // Each cut counts once both sides have noticed it (the socket closes asynchronously).
        await waitFor(
          () => publisherTrack.lost.length > losses[0] && consumerTrack.lost.length > losses[1],
          10_000,
          'both sides to notice the cut',
        );
      }
    })();
    chaos.catch(() => {});

    await within(
      Promise.all([publishedAll, chaos]),
      150_000,
      () =>
        `publishing (${confirmedCount} of ${TOTAL} confirmed, ${inFlight} in flight, ` +
        `${retry.length} to retry, ${cuts} cuts, republished ${JSON.stringify(republishedFor)}, ` +
        `${channelsReplaced} channels replaced, received ${receivedUnique})`,
    );
    const publishSeconds = (performance.now() - began) / 1000;
    // Everything confirmed arrives, however long the last recovery takes.
    await waitFor(
      () => receivedUnique === TOTAL,
      60_000,
      `every confirmed id to arrive (${receivedUnique} of ${TOTAL})`,
    ).catch(() => {});
    const missing: number[] = [];
    for (let id = 0; id < TOTAL; id++) if (confirmed[id] === 1 && seen[id] === 0) missing.push(id);
    let duplicates = 0;
    for (const count of seen) if (count > 1) duplicates += count - 1;
    const seconds = (performance.now() - began) / 1000;

    console.log(
      [
        'cluster figure:',
        `published ${published} (ids ${TOTAL}, republished ${JSON.stringify(republishedFor)})`,
        `confirmed ${confirmedCount}`,
        `received unique ${receivedUnique} (deliveries ${deliveries}, redelivered flag ${redelivered})`,
        `lost ${missing.length}`,
        `duplicates ${duplicates}`,
        `cuts ${cuts}`,
        `publish channels replaced after nacks ${channelsReplaced}`,
        `node kills ${killedNode === undefined ? 0 : 1} (node ${killedNode})`,
        `publisher losses ${publisherTrack.lost.length} / recoveries ${publisherTrack.recovered.length}`,
        `consumer losses ${consumerTrack.lost.length} / recoveries ${consumerTrack.recovered.length}`,
        `seconds ${seconds.toFixed(1)} (publishing ${publishSeconds.toFixed(1)}, ${Math.round(TOTAL / publishSeconds)} msg/s)`,
      ].join('\n  '),
    );

    expect(otherErrors).toEqual([]);
    expect(malformed).toEqual([]);
    expect(confirmedCount).toBe(TOTAL);
    expect(missing.slice(0, 20)).toEqual([]);
    expect(receivedUnique).toBe(TOTAL);
    expect(cuts).toBeGreaterThanOrEqual(10);
    expect(killedNode).toBeDefined();
    expect(consumerCancelled).toEqual([]);
    expect(publisherTrack.failures).toEqual([]);
    expect(consumerTrack.failures).toEqual([]);
    // Both sides went through every cut (and the publisher through the crash), and came back.
    expect(publisherTrack.lost.length).toBeGreaterThanOrEqual(cuts + 1);
    expect(consumerTrack.lost.length).toBeGreaterThanOrEqual(cuts);
    await waitFor(
      () => publisher.isOpen && consumerConnection.isOpen,
      60_000,
      'both connections up at the end',
    );
    expect(publisherTrack.recovered.length).toBe(publisherTrack.lost.length);
    expect(consumerTrack.recovered.length).toBe(consumerTrack.lost.length);
    // The broker agrees: nothing is left in the queue, and the consumer is on it.
    await waitFor(
      async () => (await queueCounts(consumerConnection, name))?.messageCount === 0,
      30_000,
      'the queue to be empty',
    );
    expect(await queueCounts(consumerConnection, name)).toEqual({
      messageCount: 0,
      consumerCount: 1,
    });
  }, 180_000);
});
