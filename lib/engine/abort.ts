import { AbortError, TimeoutError } from './errors.js';

/**
 * Ties a pending operation to an `AbortSignal`, once: an already-aborted
 * signal rejects at once, the listener is `once`, and `release()` removes it
 * when the operation settles by itself.
 */
export interface AbortHook {
  release(): void;
}

const NOOP: AbortHook = { release() {} };

/** Throws the {@link AbortError} for `signal` when it is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortError(`${what} was aborted`, signal.reason);
}

/** Calls `onAbort` with an {@link AbortError} when `signal` aborts; returns the hook to release. */
export function onAbort(
  signal: AbortSignal | undefined,
  what: string,
  abort: (error: AbortError) => void,
): AbortHook {
  if (signal === undefined) return NOOP;
  const listener = (): void => abort(new AbortError(`${what} was aborted`, signal.reason));
  signal.addEventListener('abort', listener, { once: true });
  return { release: () => signal.removeEventListener('abort', listener) };
}

/** How long a caller is willing to wait. */
export interface WaitLimits {
  /** Gives up after this many milliseconds with a {@link TimeoutError}. */
  timeout?: number | undefined;
  /** Gives up when it aborts, with an {@link AbortError}. */
  signal?: AbortSignal | undefined;
}

/**
 * Waits for `promise`, giving up on the timeout or the signal; the timer and
 * the listener are always removed. A promise given up on may still reject
 * later: that rejection is absorbed, never unhandled.
 *
 * The {@link TimeoutError} is made when the wait begins, so that its stack
 * leads to the caller that waited rather than to the timer that fired.
 */
export function waitWithin<T>(promise: Promise<T>, limits: WaitLimits, what: string): Promise<T> {
  const { timeout, signal } = limits;
  if (timeout === undefined && signal === undefined) return promise;
  if (signal?.aborted) {
    promise.catch(() => {});
    return Promise.reject(new AbortError(`${what} was aborted`, signal.reason));
  }
  const timedOut = timeout === undefined ? undefined : timeoutError(what, timeout);
  return new Promise<T>((resolve, reject) => {
    const giveUp = (error: Error): void => {
      cleanup();
      promise.catch(() => {});
      reject(error);
    };
    const timer = timedOut === undefined ? undefined : setTimeout(() => giveUp(timedOut), timeout);
    const hook = onAbort(signal, what, giveUp);
    const cleanup = (): void => {
      clearTimeout(timer);
      hook.release();
    };
    promise.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error: unknown) => {
        cleanup();
        reject(error);
      },
    );
  });
}

/** The error a wait that outlasts `timeout` rejects with; its stack starts at the caller of {@link waitWithin}. */
function timeoutError(what: string, timeout: number): TimeoutError {
  // Collecting a stack costs microseconds, and every call with a timeout (each RPC call) makes
  // one of these: collect it once, here, rather than also in the constructor.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let error: TimeoutError;
  try {
    error = new TimeoutError(`${what} timed out after ${timeout} ms`);
  } finally {
    Error.stackTraceLimit = limit;
  }
  Error.captureStackTrace(error, waitWithin);
  return error;
}
