/** How a Message encodes its body (lib/message.ts), without a broker. */
import { describe, expect, it } from 'vitest';
import { Message } from '../../lib/message.js';

describe('new Message', () => {
  it('sends a Buffer as it is, and a Uint8Array as a view of its bytes', () => {
    const bytes = Buffer.from([1, 2, 3]);
    expect(new Message(bytes).body).toBe(bytes);
    const array = new Uint8Array([0, 4, 5, 6]).subarray(1);
    const body = new Message(array).body;
    expect(Buffer.isBuffer(body)).toBe(true);
    expect([...body]).toEqual([4, 5, 6]);
    array[0] = 9;
    expect(body[0]).toBe(9);
    expect(new Message(bytes).properties).toEqual({});
  });

  it('sends a string as UTF-8, with no content type', () => {
    const message = new Message('grüße');
    expect(message.body.equals(Buffer.from('grüße', 'utf8'))).toBe(true);
    expect(message.properties).toEqual({});
    expect(message.data).toBe('grüße');
  });

  it('sends any other value as JSON, typed application/json unless told otherwise', () => {
    const message = new Message({ orderId: 42 }, { deliveryMode: 2 });
    expect(message.text()).toBe('{"orderId":42}');
    expect(message.properties).toEqual({ deliveryMode: 2, contentType: 'application/json' });
    expect(message.data).toEqual({ orderId: 42 });
    expect(new Message([1], { contentType: 'application/x-list' }).properties.contentType).toBe(
      'application/x-list',
    );
    expect(new Message(7, { contentType: undefined }).properties.contentType).toBe(
      'application/json',
    );
  });

  it('refuses a value with no JSON form', () => {
    const cycle: { self?: unknown } = {};
    cycle.self = cycle;
    expect(() => new Message(cycle)).toThrow(TypeError);
    expect(() => new Message(10n)).toThrow(TypeError);
    expect(() => new Message(undefined)).toThrow(/no JSON form/);
  });
});

describe('Message.asJson', () => {
  it('sends a string as a JSON string, and keeps the value', () => {
    const message = Message.asJson('hello', { correlationId: 'c-1' });
    expect(message.text()).toBe('"hello"');
    expect(message.data).toBe('hello');
    expect(message.properties).toEqual({ correlationId: 'c-1', contentType: 'application/json' });
  });

  it('encodes a message made from a string again; one made from bytes or a value goes as it is', () => {
    const text = new Message('hi', { messageId: 'm' });
    const again = Message.asJson(text, { correlationId: 'c' });
    expect(again.text()).toBe('"hi"');
    expect(again.data).toBe('hi');
    expect(again.properties).toEqual({
      messageId: 'm',
      correlationId: 'c',
      contentType: 'application/json',
    });
    const bytes = new Message(Buffer.from('raw'));
    expect(Message.asJson(bytes)).toBe(bytes);
    const value = new Message({ a: 1 });
    const withExtra = Message.asJson(value, { correlationId: 'c' });
    expect(withExtra.body).toBe(value.body);
    expect(withExtra.data).toBe(value.data);
    expect(withExtra.properties).toEqual({ contentType: 'application/json', correlationId: 'c' });
  });

  it('leaves the next plain Message alone, even after a failure', () => {
    expect(() => Message.asJson(10n)).toThrow(TypeError);
    expect(Message.asJson('x').text()).toBe('"x"');
    const plain = new Message('x');
    expect(plain.text()).toBe('x');
    expect(plain.properties).toEqual({});
  });
});
