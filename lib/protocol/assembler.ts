import { ProtocolError } from './errors.js';
import type { BodyFrame, HeaderFrame, MethodFrame } from './frames.js';
import { type BasicProperties, type Method, methodInfo } from './spec.js';

/** The largest body accepted unless the caller sets another cap: 128 MiB. */
export const DEFAULT_MAX_BODY_SIZE = 128 * 1024 * 1024;

/** A method as the channel acts on it: with its content when it carries one. */
export interface Command {
  readonly method: Method;
  /** Present for content-carrying methods (deliver, get-ok, return, publish). */
  readonly content?: Content;
  /** Present instead of `content` when the body is over the cap: it is skipped, never kept. */
  readonly oversized?: OversizedContent;
}

/** The content of a message whose body is larger than the cap: its properties and sizes, no body. */
export interface OversizedContent {
  readonly properties: BasicProperties;
  /** The body size its header announced, in bytes. */
  readonly bodySize: number;
  /** The cap it exceeds. */
  readonly maxBodySize: number;
}

/** The properties and body of a message. */
export interface Content {
  readonly properties: BasicProperties;
  readonly body: Buffer;
}

/**
 * Reassembles one channel's frames into commands: a content-carrying method,
 * then its header, then body frames until the header's body size is reached.
 * A frame out of that order is an `UNEXPECTED_FRAME` error. A body larger than
 * the cap is refused from its header, before anything is allocated for it: the
 * command comes out at once with `oversized` instead of `content`, and the body
 * frames that follow are counted and dropped, so that the channel can refuse the
 * message and go on.
 */
export class ContentAssembler {
  private readonly maxBodySize: number;
  private method: Method | null = null;
  private properties: BasicProperties | null = null;
  private body: Buffer | null = null;
  private bodySize = 0;
  private received = 0;
  /** Whether the body being received is over the cap: its frames are counted, not kept. */
  private skipping = false;

  constructor(maxBodySize = DEFAULT_MAX_BODY_SIZE) {
    this.maxBodySize = maxBodySize;
  }

  /** Whether a content-carrying method still waits for its header or body. */
  get busy(): boolean {
    return this.method !== null;
  }

  /** Feeds one frame of this channel; returns a command once one is complete. */
  push(frame: MethodFrame | HeaderFrame | BodyFrame): Command | null {
    switch (frame.type) {
      case 1:
        return this.onMethod(frame.method);
      case 2:
        return this.onHeader(frame);
      case 3:
        return this.onBody(frame.payload);
    }
  }

  private onMethod(method: Method): Command | null {
    if (this.method !== null) {
      throw unexpected(`${method.name} arrived while ${this.method.name} awaited its content`);
    }
    if (!methodInfo[method.name].content) return { method };
    this.method = method;
    return null;
  }

  private onHeader(frame: HeaderFrame): Command | null {
    const method = this.method;
    if (method === null || this.properties !== null) {
      throw unexpected('a content header arrived without a method that carries content');
    }
    if (frame.classId !== methodInfo[method.name].id >>> 16) {
      throw unexpected(`content header of class ${frame.classId} follows ${method.name}`);
    }
    this.properties = frame.properties;
    this.bodySize = frame.bodySize;
    this.received = 0;
    if (frame.bodySize > this.maxBodySize) {
      // Refusing the whole connection would only have the broker redeliver it after recovery,
      // forever: hand the method on now, so its channel refuses it, and skip the body.
      this.skipping = true;
      const oversized = {
        properties: frame.properties,
        bodySize: frame.bodySize,
        maxBodySize: this.maxBodySize,
      };
      return { method, oversized };
    }
    return frame.bodySize === 0 ? this.complete(Buffer.alloc(0)) : null;
  }

  private onBody(payload: Buffer): Command | null {
    if (this.properties === null) {
      throw unexpected('a body frame arrived without a content header');
    }
    const received = this.received + payload.length;
    if (received > this.bodySize) {
      throw new ProtocolError(
        'FRAME_ERROR',
        `body frames carry ${received} bytes, more than the ${this.bodySize} the header announced`,
      );
    }
    if (this.skipping) {
      this.received = received;
      if (received === this.bodySize) this.reset();
      return null;
    }
    if (received === this.bodySize && this.body === null) return this.complete(payload);
    if (this.body === null) this.body = Buffer.allocUnsafe(this.bodySize);
    // Bytes read straight into place (through window()) need no copy.
    if (!isAt(payload, this.body, this.received)) payload.copy(this.body, this.received);
    this.received = received;
    return received === this.bodySize ? this.complete(this.body) : null;
  }

  /** Body bytes still to come for the message being received (0 when none is, or it is skipped). */
  get bodyLeft(): number {
    return this.properties === null || this.skipping ? 0 : this.bodySize - this.received;
  }

  /**
   * Where the next bytes of the body being received go, at most `max` of them: a view of the
   * body's buffer (allocated now if it was not yet), for a reader to read into directly. Null
   * when no body is being received, or when it is skipped (over the cap).
   */
  window(max: number): Buffer | null {
    if (this.properties === null || this.skipping) return null;
    this.body ??= Buffer.allocUnsafe(this.bodySize);
    return this.body.subarray(
      this.received,
      this.received + Math.min(max, this.bodySize - this.received),
    );
  }

  private complete(body: Buffer): Command {
    const command: Command = {
      method: this.method as Method,
      content: { properties: this.properties as BasicProperties, body },
    };
    this.reset();
    return command;
  }

  private reset(): void {
    this.method = null;
    this.properties = null;
    this.body = null;
    this.skipping = false;
  }
}

/** Whether `view` is the bytes of `buffer` from `offset` on. */
function isAt(view: Buffer, buffer: Buffer, offset: number): boolean {
  return view.buffer === buffer.buffer && view.byteOffset === buffer.byteOffset + offset;
}

function unexpected(message: string): ProtocolError {
  return new ProtocolError('UNEXPECTED_FRAME', message);
}
