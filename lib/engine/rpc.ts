import type { Command } from '../protocol/assembler.js';
import type { AmqpError } from '../protocol/errors.js';
import { ProtocolError } from '../protocol/errors.js';
import { type MethodArgs, type MethodName, methodInfo } from '../protocol/spec.js';
import { type AbortHook, onAbort, throwIfAborted } from './abort.js';

/** Every method that answers a synchronous request. */
const REPLIES: ReadonlySet<MethodName> = new Set(
  Object.values(methodInfo).flatMap((info) => info.replies),
);

/** Whether `name` is the answer to some synchronous request, such as `queue.declare-ok`. */
export function isReply(name: MethodName): boolean {
  return REPLIES.has(name);
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
  /**
   * Runs when the reply arrives, before any later frame is handled: register
   * a consumer here. Runs even when the caller aborted after the request was
   * sent (`abandoned`), so that what the reply created (a consumer, a
   * fetched message) can be undone.
   */
  onReply?: ((reply: Command, abandoned: boolean) => void) | undefined;
}

interface Pending {
  readonly name: MethodName;
  readonly args: unknown;
  readonly replies: readonly MethodName[];
  readonly onReply: ((reply: Command, abandoned: boolean) => void) | undefined;
  readonly resolve: (reply: Command) => void;
  readonly reject: (error: Error) => void;
  readonly abort: AbortHook;
  sent: boolean;
  /** The caller gave up (aborted) after the request was sent: its reply is still due, and dropped. */
  abandoned: boolean;
}

/**
 * Synchronous requests of one channel, one in flight at a time, in call
 * order. The reply must be one the request in flight expects; anything else
 * is an `UNEXPECTED_FRAME` error for the connection.
 */
export class RpcQueue {
  private readonly queue: Pending[] = [];
  private failure: AmqpError | null = null;

  constructor(
    private readonly send: <N extends MethodName>(name: N, args: MethodArgs<N>) => void,
  ) {}

  /** Sends `name` when the requests before it are answered; resolves with its reply. */
  call<N extends MethodName>(
    name: N,
    args: MethodArgs<N>,
    options: CallOptions = {},
  ): Promise<Command> {
    if (this.failure !== null) return Promise.reject(this.failure);
    try {
      throwIfAborted(options.signal, name);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<Command>((resolve, reject) => {
      const pending: Pending = {
        name,
        args,
        replies: methodInfo[name].replies,
        onReply: options.onReply,
        resolve,
        reject,
        sent: false,
        abandoned: false,
        abort: onAbort(options.signal, name, (error) => this.abandon(pending, error)),
      };
      this.queue.push(pending);
      if (this.queue.length === 1) this.sendHead();
    });
  }

  /**
   * Hands a reply to the request in flight. Throws `UNEXPECTED_FRAME` when no
   * request waits or the request expects another reply.
   */
  settle(reply: Command): void {
    const head = this.queue[0];
    if (head === undefined || !head.replies.includes(reply.method.name)) {
      const waiting = head === undefined ? 'no request was waiting' : `${head.name} was waiting`;
      throw new ProtocolError('UNEXPECTED_FRAME', `${reply.method.name} arrived, but ${waiting}`);
    }
    this.queue.shift();
    head.abort.release();
    head.onReply?.(reply, head.abandoned);
    if (!head.abandoned) head.resolve(reply);
    if (this.queue.length > 0) this.sendHead();
  }

  /** Rejects every request, sent or not, with `error`; later calls reject with it too. */
  fail(error: AmqpError): void {
    this.failure = error;
    for (const pending of this.queue.splice(0)) {
      pending.abort.release();
      if (!pending.abandoned) pending.reject(error);
    }
  }

  private sendHead(): void {
    const head = this.queue[0];
    // A request made from an onReply hook may already have gone out.
    if (head === undefined || head.sent) return;
    head.sent = true;
    try {
      this.send(head.name, head.args as MethodArgs<typeof head.name>);
    } catch (error) {
      // The arguments could not be encoded: nothing was written, so the next request may go.
      this.queue.shift();
      head.abort.release();
      head.reject(error as Error);
      this.sendHead();
    }
  }

  private abandon(pending: Pending, error: AmqpError): void {
    if (pending.sent) {
      pending.abandoned = true;
    } else {
      this.queue.splice(this.queue.indexOf(pending), 1);
    }
    pending.abort.release();
    pending.reject(error);
  }
}
