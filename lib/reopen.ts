/**
 * Reopening a channel after the broker closed it with a soft error: the
 * option, and the bound that keeps a channel failing the same way from
 * reopening forever. The reopening itself is recovery's (Channel.reopen and
 * Channel.resumeConsumers), run for one channel.
 */
import { ChannelError } from './engine/errors.js';
import { checkCount, checkTimeout } from './validate.js';

/**
 * How a channel comes back after the broker closes it for one failed
 * operation (`openChannel({ reopen })`): at most `maxReopens` times within
 * `interval` ms; the next close within that time is final.
 */
export interface ReopenOptions {
  /**
   * How many times the channel may reopen within `interval`; the next
   * broker close within that time closes it for good (`RECOVERY_FAILED`).
   * @default 10
   */
  maxReopens?: number;
  /** The time `maxReopens` counts over, in ms. @default 10000 */
  interval?: number;
}

/** The reopen options with defaults applied, and the closes counted against them. @internal */
export class ReopenBound {
  /** When the recent closes happened (ms since the epoch), oldest first. */
  readonly #closes: number[] = [];

  private constructor(
    readonly maxReopens: number,
    readonly interval: number,
  ) {}

  /** Checks `reopen` and applies the defaults; `null` when reopening is off. */
  static resolve(reopen: boolean | ReopenOptions | undefined): ReopenBound | null {
    if (reopen === undefined || reopen === false) return null;
    if (reopen === true) return new ReopenBound(10, 10_000);
    if (typeof reopen !== 'object' || reopen === null || Array.isArray(reopen)) {
      throw new TypeError('reopen must be a boolean or an options object');
    }
    for (const key of Object.keys(reopen)) {
      if (key !== 'maxReopens' && key !== 'interval') {
        throw new TypeError(`reopen has no option '${key}' (it takes maxReopens, interval)`);
      }
    }
    checkCount(reopen.maxReopens, 'reopen.maxReopens', 1);
    checkTimeout(reopen.interval, 'reopen.interval');
    return new ReopenBound(reopen.maxReopens ?? 10, reopen.interval ?? 10_000);
  }

  /**
   * Counts a close at `now`, and says whether the channel may reopen after
   * it: not when `maxReopens` closes were already counted within `interval`.
   */
  admit(now: number): boolean {
    const closes = this.#closes;
    while (closes.length > 0 && now - (closes[0] as number) >= this.interval) closes.shift();
    if (closes.length >= this.maxReopens) return false;
    closes.push(now);
    return true;
  }

  /** The error a channel closes with when `last` came once too often. */
  exceeded(last: ChannelError): ChannelError {
    const reason =
      last.replyCode === undefined
        ? undefined
        : {
            replyCode: last.replyCode,
            replyText: last.replyText ?? '',
            classId: last.classId ?? 0,
            methodId: last.methodId ?? 0,
          };
    return new ChannelError(
      'RECOVERY_FAILED',
      `the broker closed the channel ${this.maxReopens + 1} times within ${this.interval} ms; it stays closed (last: ${last.message})`,
      reason,
      { cause: last },
    );
  }
}
