import net from 'node:net';
import tls from 'node:tls';

/** Where to connect, and how. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  /** TLS options for `amqps://`; absent for plain TCP. */
  readonly tls?: tls.ConnectionOptions | undefined;
}

/**
 * Reads a plain TCP socket without its stream machinery: `buffer()` says where each read goes
 * (so a large body can be read straight into place), `read()` gets what was read.
 */
export interface SocketReader {
  buffer(): Buffer;
  read(chunk: Buffer): void;
}

/**
 * Opens a TCP or TLS socket to `endpoint`. Resolves once it is connected
 * (for TLS: once the handshake has verified the broker); rejects with the
 * socket's error, or when `signal` aborts, destroying the socket either way.
 * A plain TCP socket is read through `reader` when one is given; a TLS
 * socket always emits 'data'.
 */
export function openSocket(
  endpoint: Endpoint,
  signal: AbortSignal,
  reader?: SocketReader,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      endpoint.tls === undefined
        ? net.connect({
            host: endpoint.host,
            port: endpoint.port,
            // With a reader, reads go where it says and no 'data' event is emitted.
            ...(reader === undefined
              ? {}
              : {
                  onread: {
                    buffer: () => reader.buffer(),
                    callback: (bytes: number, buffer: Uint8Array) => {
                      reader.read((buffer as Buffer).subarray(0, bytes));
                      return true; // keep reading
                    },
                  },
                }),
          })
        : tls.connect({
            servername: net.isIP(endpoint.host) === 0 ? endpoint.host : undefined,
            ...endpoint.tls,
            host: endpoint.host,
            port: endpoint.port,
          });
    const ready = endpoint.tls === undefined ? 'connect' : 'secureConnect';
    const cleanup = (): void => {
      socket.off(ready, onReady);
      socket.off('error', onError);
      signal.removeEventListener('abort', onAbort);
    };
    const onReady = (): void => {
      cleanup();
      socket.setNoDelay(true);
      resolve(socket);
    };
    const onError = (error: Error): void => {
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onAbort = (): void => onError(signal.reason as Error);
    socket.once(ready, onReady);
    socket.once('error', onError);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}
