import { describeMessage } from '../protocol/describe.js';
import { ProtocolReplyCode } from '../protocol/errors.js';
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
  // An IPv6 address goes in brackets, as in a URL: [::1]:5672.
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  const where = `${host}:${endpoint.port}`;
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
    // The peer's first bytes, kept to say what it is when it is no AMQP broker.
    let first: Buffer | undefined;
    const reader: SocketReader = {
      buffer: () => reading?.readBuffer() ?? Buffer.allocUnsafe(EARLY_READ_BYTES),
      read: (chunk) => {
        first ??= Buffer.from(chunk.subarray(0, FIRST_BYTES_KEPT));
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
      if (controller.signal.aborted) throw controller.signal.reason;
      throw handshakeError(error, where, first);
    } finally {
      controller.signal.removeEventListener('abort', abandon);
    }
    return engine;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** How many of the peer's first bytes an error about a peer that is no AMQP broker shows. */
const FIRST_BYTES_KEPT = 16;

/**
 * The handshake failed: the error says where it went, and when the peer broke
 * the protocol from the start (it answered as an HTTP server does, with TLS,
 * or with bytes of no protocol at all), that it is no AMQP 0-9-1 broker and
 * what it sent.
 */
function handshakeError(error: unknown, where: string, first: Buffer | undefined): unknown {
  if (!(error instanceof ConnectionError)) return error;
  let detail = error.message;
  if (isProtocolCode(error.code) && error.replyCode === undefined) {
    detail = `the peer is not an AMQP 0-9-1 broker${peerKind(first)} (${error.message})`;
  } else if (error.code === 'CONNECTION_LOST' && first === undefined) {
    detail = `the peer closed the connection without a word: is it an AMQP broker, or a TLS port (use amqps://)? (${error.message})`;
  }
  const reason =
    error.replyCode === undefined
      ? undefined
      : {
          replyCode: error.replyCode,
          replyText: error.replyText ?? '',
          classId: error.classId ?? 0,
          methodId: error.methodId ?? 0,
        };
  // The same error, said with where it came from: its cause stays what the caller may inspect.
  const options = error.cause === undefined ? undefined : { cause: error.cause };
  return new ConnectionError(
    error.code,
    `could not connect to ${where}: ${detail}`,
    reason,
    options,
  );
}

function isProtocolCode(code: string): boolean {
  return code in ProtocolReplyCode;
}

/** What the peer's first bytes say it is, as a phrase that follows "not an AMQP broker". */
function peerKind(first: Buffer | undefined): string {
  if (first === undefined || first.length === 0) return '';
  // A TLS record: a handshake (22) or an alert (21), version 3.x.
  if ((first[0] === 0x15 || first[0] === 0x16) && first[1] === 0x03) {
    return ': it speaks TLS (use amqps://, or the tls option)';
  }
  const text = first.toString('latin1');
  if (text.startsWith('HTTP/')) return `: it answered as an HTTP server ("${printable(text)}…")`;
  return `: its first bytes were ${printable(text)}`;
}

/** Printable ASCII as is, any other byte as \xNN. */
function printable(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.charCodeAt(0);
    out += code >= 0x20 && code < 0x7f ? char : `\\x${code.toString(16).padStart(2, '0')}`;
  }
  return out;
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
