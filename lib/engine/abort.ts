import { AbortError } from './errors.js';

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
