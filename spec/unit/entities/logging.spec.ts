/**
 * What the connection logs where the real broker is hard to drive: a block
 * and an unblock (a memory alarm would block every test sharing the
 * broker), a listener that throws (logged, not a process warning), and a
 * connection the broker closes with recovery off (`failed`, at error).
 */
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import type { Logger, LogRecord } from '../../../lib/index.js';
import { scriptedConnection, teardown, until } from './harness.js';

afterEach(teardown);

/** A logger that keeps `[level, record]` for every call. */
function recording(): Logger & { lines: [string, LogRecord][] } {
  const lines: [string, LogRecord][] = [];
  const at = (level: string) => (record: LogRecord) => {
    lines.push([level, record]);
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('the connection logs', () => {
  it('a block at warn with its reason, and the unblock at info', async () => {
    const logger = recording();
    const s = await scriptedConnection(false, { logger });

    s.peer.send(0, 'connection.blocked', { reason: 'low on memory' });
    s.peer.send(0, 'connection.unblocked', {});
    await until(() => s.connection.blocked === false && logger.lines.length >= 3);

    expect(logger.lines.slice(1)).toEqual([
      ['warn', { event: 'warren.connection.blocked', reason: 'low on memory' }],
      ['info', { event: 'warren.connection.unblocked' }],
    ]);
  });

  it('a listener that throws, instead of a process warning', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    onTestFinished(() => warn.mockRestore());
    const logger = recording();
    const s = await scriptedConnection(false, { logger });
    s.connection.on('blocked', () => {
      throw new RangeError('listener bug');
    });

    s.peer.send(0, 'connection.blocked', { reason: 'disk' });
    await until(() => logger.lines.some(([, record]) => record.event === 'warren.callback.threw'));

    const [level, record] = logger.lines.at(-1) ?? [];
    expect(level).toBe('warn');
    expect(record).toMatchObject({
      event: 'warren.callback.threw',
      callback: 'a blocked listener',
      err: { type: 'RangeError', message: 'listener bug' },
    });
    expect(warn).not.toHaveBeenCalled();
  });

  it('a close by the broker with recovery off as failed, at error, with the reply', async () => {
    const logger = recording();
    const s = await scriptedConnection(false, { logger });

    s.peer.send(0, 'connection.close', {
      replyCode: 320,
      replyText: 'CONNECTION_FORCED - broker shutting down',
      classId: 0,
      methodId: 0,
    });
    await s.connection.closed;

    const failed = logger.lines.filter(([, record]) => record.event === 'warren.connection.failed');
    expect(failed).toEqual([
      [
        'error',
        expect.objectContaining({
          code: 'CONNECTION_FORCED',
          replyCode: 320,
          replyText: 'CONNECTION_FORCED - broker shutting down',
          err: expect.objectContaining({ type: 'ConnectionError', code: 'CONNECTION_FORCED' }),
        }),
      ],
    ]);
    expect(logger.lines.map(([, record]) => record.event)).not.toContain(
      'warren.connection.closed',
    );
  });
});
