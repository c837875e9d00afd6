/**
 * lib/log.ts alone: the one function the entities log through, with and
 * without a logger (the process warnings of before, word for word), a
 * logger that throws, what an error becomes in a line (hostile values
 * included), the scrubbing of passwords, and the check of the option.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkLogger, Log, type Logger, loggedError, scrubCredentials } from '../../lib/log.js';
import { AmqpError } from '../../lib/protocol/errors.js';
import { hostile, hostileNames } from '../support/hostile.js';

/** A logger that records its calls. */
function recording(): Logger & { calls: [string, unknown, string][] } {
  const calls: [string, unknown, string][] = [];
  const at =
    (level: string) =>
    (record: unknown, message: string): void => {
      calls.push([level, record, message]);
    };
  return { calls, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Spies on process warnings, keeping them off stderr. */
function spyWarnings() {
  return vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('Log.write without a logger', () => {
  it('emits the process warning the event has always been, with its code', () => {
    const warn = spyWarnings();
    const log = new Log(undefined);

    log.write('warren.channel.returned', {
      channel: 3,
      exchange: 'x',
      routingKey: 'k',
      replyCode: 312,
      replyText: 'NO_ROUTE',
      messageId: undefined,
    });

    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(
      "warren: the broker returned a mandatory message (exchange 'x', routing key 'k': 312 NO_ROUTE) and channel 3 has no return handler; further returns for this exchange and routing key are not reported",
      { code: 'WARREN_UNHANDLED_RETURN' },
    );
  });

  it('drops an event that was never a warning, and one the application listens for', () => {
    const warn = spyWarnings();
    const log = new Log(undefined);

    log.write('warren.connection.blocked', { reason: 'low on memory' });
    log.write('warren.callback.threw', { callback: 'a listener', err: loggedError('x') }, false);

    expect(warn).not.toHaveBeenCalled();
    expect(log.enabled).toBe(false);
    expect(log.guarded).toBeUndefined();
  });
});

describe('Log.write with fields made on demand', () => {
  it('makes them only when a line or a warning is written', () => {
    const warn = spyWarnings();
    const make = vi.fn(() => ({ callback: 'a listener', err: loggedError('x') }));

    new Log(undefined).write('warren.callback.threw', make, false);
    expect(make).not.toHaveBeenCalled();

    new Log(undefined).write('warren.callback.threw', make);
    const logger = recording();
    new Log(logger).write('warren.callback.threw', make, false);

    expect(make).toHaveBeenCalledTimes(2);
    expect(warn).toHaveBeenCalledWith('warren: a listener threw: x', {
      code: 'WARREN_CALLBACK_THREW',
    });
    expect(logger.calls.map(([level]) => level)).toEqual(['warn']);
  });
});

describe('Log.write with a logger', () => {
  it('calls the level method with the event and its fields, then the message; no warning', () => {
    const warn = spyWarnings();
    const logger = recording();
    const log = new Log(logger);

    log.write('warren.connection.blocked', { reason: 'low on memory' });
    log.write('warren.callback.threw', { callback: 'a listener', err: loggedError('x') });

    expect(logger.calls).toEqual([
      [
        'warn',
        { event: 'warren.connection.blocked', reason: 'low on memory' },
        'warren: the broker blocked the connection: low on memory',
      ],
      [
        'warn',
        {
          event: 'warren.callback.threw',
          callback: 'a listener',
          err: { type: 'string', message: 'x' },
        },
        'warren: a listener threw: x',
      ],
    ]);
    expect(warn).not.toHaveBeenCalled();
  });

  it('survives a logger that throws: one process warning, then silence', () => {
    const warn = spyWarnings();
    const broken = () => {
      throw new Error('disk full');
    };
    const log = new Log({ debug: broken, info: broken, warn: broken, error: broken });

    log.write('warren.connection.unblocked', {});
    log.write('warren.connection.blocked', { reason: 'r' });
    log.guarded?.error({ event: 'warren.deadLetter.unknownExchange', queue: 'q' }, 'm');

    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toContain('disk full');
    expect(warn.mock.calls[0]?.[1]).toEqual({ code: 'WARREN_LOGGER_THREW' });
  });

  it('scrubs the password of a URL quoted in a message', () => {
    const logger = recording();
    new Log(logger).write('warren.connection.recoveryFailure', {
      entity: 'connection',
      err: loggedError(new Error('no route to amqp://app:s3cret@rabbit:5672/')),
    });

    expect(JSON.stringify(logger.calls)).not.toContain('s3cret');
    expect(logger.calls[0]?.[2]).toContain('amqp://app:***@rabbit:5672/');
  });
});

describe('loggedError', () => {
  it("gives warren's errors their code and no stack, the application's their stack", () => {
    const amqp = loggedError(new AmqpError('CONNECTION_FORCED', 'closed by an operator'));
    const thrown = loggedError(new TypeError('bad'), true);

    expect(amqp).toEqual({
      type: 'AmqpError',
      message: 'closed by an operator',
      code: 'CONNECTION_FORCED',
    });
    expect(thrown).toMatchObject({ type: 'TypeError', message: 'bad' });
    expect(thrown.stack).toContain('log.spec.ts');
  });

  it.each(hostileNames)('never throws for %s', (name) => {
    const logged = loggedError(hostile(name), true);

    expect(typeof logged.type).toBe('string');
    expect(typeof logged.message).toBe('string');
  });
});

describe('scrubCredentials', () => {
  it.each([
    ['amqp://u:p@h/', 'amqp://u:***@h/'],
    ['x AMQPS://user:pa%40ss@host:5671/v y', 'x AMQPS://user:***@host:5671/v y'],
    ['amqp://guest@localhost:5672/%2F', 'amqp://guest@localhost:5672/%2F'],
    ['two: amqp://a:1@h amqp://b:2@k', 'two: amqp://a:***@h amqp://b:***@k'],
  ])('%s', (text, scrubbed) => {
    expect(scrubCredentials(text)).toBe(scrubbed);
  });
});

describe('checkLogger', () => {
  it('takes console, and an object with the four methods', () => {
    expect(checkLogger(console)).toBe(console);
    expect(checkLogger(undefined)).toBeUndefined();
  });

  it('refuses anything else with a TypeError naming what is missing', () => {
    const { warn, error } = recording();
    expect(() => checkLogger({ warn, error })).toThrow(/^logger has no debug method/);
    expect(() => checkLogger({ debug: warn, info: 'no', warn, error })).toThrow(
      /^logger has no info method/,
    );
    expect(() => checkLogger('console')).toThrow(TypeError);
    expect(() => checkLogger(null)).toThrow(/got null/);
  });
});
