/**
 * The soak's result as text (bench/soak.ts prints it; spec/faults/soak.spec.ts logs it).
 *
 * @module
 */
import { FAULT_KINDS } from './soak-chaos.js';
import { QUEUE_KINDS, type SoakResult } from './soak-run.js';

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function codes(record: Readonly<Record<string, number>>): string {
  const entries = Object.entries(record);
  return entries.length === 0 ? 'none' : entries.map(([code, n]) => `${code} ${n}`).join(', ');
}

/** The result as lines of text. */
export function formatSoak(result: SoakResult): string {
  const lines: string[] = [];
  const { totals, memory } = result;
  lines.push(
    `soak: ${result.ok ? 'OK' : 'FAILED'} (seed ${result.seed}, ${count(result.rate)} msg/s per queue, ` +
      `chaos ${seconds(result.chaosMs)}, total ${seconds(result.totalMs)})`,
    `messages: confirmed ${count(totals.confirmed)}, received ${count(totals.received)}, ` +
      `lost ${count(totals.lost)}, duplicates ${count(totals.duplicates)}`,
  );
  for (const kind of QUEUE_KINDS) {
    const queue = result.queues[kind];
    lines.push(
      `  ${kind}: ids ${count(queue.ids)}, published ${count(queue.published)} ` +
        `(retried: ${codes(queue.retried)}; channels replaced ${queue.channelsReplaced}), ` +
        `confirmed ${count(queue.confirmed)}, received ${count(queue.received)}, lost ${queue.lost}` +
        `${queue.lostIds.length > 0 ? ` (ids ${queue.lostIds.join(', ')})` : ''}, ` +
        `duplicates ${count(queue.duplicates)}`,
    );
  }
  lines.push('consumers:');
  for (const consumer of result.consumers) {
    lines.push(
      `  ${consumer.kind} on ${consumer.queue}: handled ${count(consumer.handled)}` +
        `${consumer.kind === 'auto' ? `, failed on purpose ${consumer.failedOnPurpose}` : ''}` +
        `, restarts ${consumer.restarts}`,
    );
  }
  lines.push(
    `memory (sampled every ${seconds(memory.intervalMs)}, ${memory.samples} samples; ` +
      `windows of ${seconds(memory.windowMs)}):`,
    `  rss: peak ${mib(memory.peakRss)}, first window ${mib(memory.first.rss)}, ` +
      `last window ${mib(memory.last.rss)}`,
    `  heap used: peak ${mib(memory.peakHeapUsed)}, first window ${mib(memory.first.heapUsed)}, ` +
      `last window ${mib(memory.last.heapUsed)}`,
    'connections (losses / recoveries / reconnect attempts / times blocked):',
  );
  for (const connection of result.connections) {
    lines.push(
      `  ${connection.name}: ${connection.lossCount} / ${connection.recoveries} / ` +
        `${connection.reconnectAttempts} / ${connection.blocked} (losses: ${codes(connection.losses)})` +
        `${connection.openAtEnd ? '' : ', NOT OPEN at the end'}` +
        `${connection.recoveryFailures.length > 0 ? `, recovery failures: ${connection.recoveryFailures.join('; ')}` : ''}`,
    );
  }
  lines.push(
    `chaos: ${result.chaos.events.length} faults (${FAULT_KINDS.map((kind) => `${kind} ${result.chaos.counts[kind]}`).join(', ')})`,
  );
  for (const event of result.chaos.events) {
    lines.push(
      `  ${seconds(event.atMs).padStart(8)} ${event.kind} node ${event.node + 1}: ${event.detail} ` +
        `(all open after ${seconds(event.tookMs)})`,
    );
  }
  lines.push(`unexpected: ${result.unexpected.length === 0 ? 'none' : ''}`);
  for (const what of result.unexpected) lines.push(`  ${what}`);
  if (result.warnings.length > 0) {
    lines.push(`warnings: ${result.warnings.length}`);
    for (const warning of [...new Set(result.warnings)]) lines.push(`  ${warning}`);
  }
  return lines.join('\n');
}
