import { describeMessage } from '../protocol/describe.js';
import { Engine, type EngineOptions } from './engine.js';
import { AbortError, ConnectionError } from './errors.js';
import { type Endpoint, openSocket, type SocketReader } from './transport.js';

/** Where reads go before the engine exists. */
const EARLY_READ_BYTES = 16 * 1024;

/**
 * Opens a socket to `endpoint` and runs the AMQP handshake over it, all
 * within `timeoutMs`. Rejects with a {@link ConnectionError}:
 * `CONNECT_TIMEOUT`, `CONNECTION_REFUSED` and the like for the socket, or
 * what the handshake says (ACCESS_REFUSED, NOT_ALLOWED, …).
 */
export async function connectEngine(
  endpoint: Endpoint,
  options: EngineOptions,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Engine> {
  const where = `${endpoint.host}:${endpoint.port}`;
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(
      new ConnectionError(
        'CONNECT_TIMEOUT',
        `connecting to ${where} took longer than ${timeoutMs} ms`,
      ),
    );
  }, timeoutMs);
  const onAbort = (): void =>
    controller.abort(new AbortError('connect was aborted', signal?.reason));
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    // The engine decides where reads go once it exists. A broker sends nothing before our
    // protocol header, which the engine writes; what some other server sends first is kept.
    let reading: Engine | undefined;
    const early: Buffer[] = [];
    const reader: SocketReader = {
      buffer: () => reading?.readBuffer() ?? Buffer.allocUnsafe(EARLY_READ_BYTES),
      read: (chunk) => {
        if (reading === undefined) early.push(chunk);
        else reading.receive(chunk);
      },
    };
    const socket = await openSocket(endpoint, controller.signal, reader).catch((error: unknown) => {
      throw socketError(error, where);
    });
    const engine = new Engine(socket, options);
    reading = engine;
    for (const chunk of early.splice(0)) engine.receive(chunk);
    const abandon = (): void => {
      const reason = controller.signal.reason;
      engine.fail(reason instanceof ConnectionError ? reason : toConnectionError(reason));
    };
    controller.signal.addEventListener('abort', abandon, { once: true });
    try {
      await engine.handshake();
    } catch (error) {
      // An abort or timeout ends the handshake with its own reason.
      throw controller.signal.aborted ? controller.signal.reason : error;
    } finally {
      controller.signal.removeEventListener('abort', abandon);
    }
    return engine;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

function socketError(error: unknown, where: string): unknown {
  if (error instanceof ConnectionError || error instanceof AbortError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const name = code === 'ECONNREFUSED' ? 'CONNECTION_REFUSED' : 'CONNECTION_FAILED';
  return new ConnectionError(
    name,
    `could not connect to ${where}: ${(error as Error).message}`,
    undefined,
    {
      cause: error,
    },
  );
}

function toConnectionError(reason: unknown): ConnectionError {
  return new ConnectionError('CONNECTION_CLOSED', describeMessage(reason), undefined, {
    cause: reason,
  });
}
