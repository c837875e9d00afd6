/**
 * Values an application may throw from a callback, for the tests that check
 * warren reports them without failing itself: anything fast-check makes, and
 * the values that break the usual ways of turning a value into text.
 */
import fc from 'fast-check';

/** A Proxy whose every trap throws. */
function trappingProxy(target: object): object {
  const handler = new Proxy(
    {},
    {
      get: () => () => {
        throw new Error('a trap of a hostile Proxy');
      },
    },
  );
  return new Proxy(target, handler);
}

/** Each made afresh, as a test may change what it throws. */
const makers: Record<string, () => unknown> = {
  'a null-prototype object': () => Object.create(null),
  'an object whose toString throws': () => ({
    toString() {
      throw new Error('toString refuses');
    },
  }),
  'an object whose Symbol.toPrimitive throws': () => ({
    [Symbol.toPrimitive]() {
      throw new Error('toPrimitive refuses');
    },
  }),
  'a Proxy that throws on every trap': () => trappingProxy({}),
  'a Proxy of an Error that throws on every trap': () => trappingProxy(new Error('hidden')),
  'a revoked Proxy': () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return proxy;
  },
  'a symbol': () => Symbol('thrown'),
  'a string of 4 MiB': () => 'x'.repeat(4 * 1024 * 1024),
  'a string with a lone surrogate': () => 'half \ud800 a pair',
  'an Error whose message getter throws': () => {
    const error = new Error('x');
    Object.defineProperty(error, 'message', {
      get() {
        throw new Error('message refuses');
      },
    });
    return error;
  },
  'an Error whose code getter throws': () => {
    const error = new Error('x');
    Object.defineProperty(error, 'code', {
      get() {
        throw new Error('code refuses');
      },
    });
    return error;
  },
  'an Error with a message of 4 MiB': () => new Error('y'.repeat(4 * 1024 * 1024)),
  'an Error with a non-string message': () => Object.assign(new Error(), { message: { a: 1 } }),
  'null-prototype error code': () => Object.assign(Object.create(null), { code: 'X' }),
  undefined: () => undefined,
  null: () => null,
  'a bigint': () => 10n ** 30n,
};

/** The names of the hostile values, for `it.each`. */
export const hostileNames = Object.keys(makers);

/** A fresh hostile value by name. */
export function hostile(name: string): unknown {
  const make = makers[name];
  if (make === undefined) throw new Error(`no hostile value named ${name}`);
  return make();
}

/**
 * Any value at all, made on demand: fast-check's `anything()` (null
 * prototypes included), any string, and the hostile ones. fast-check itself
 * cannot hold a revoked Proxy, so the arbitrary gives a maker and a name.
 */
export interface Thrown {
  readonly name: string;
  make(): unknown;
}

export const thrownValue: fc.Arbitrary<Thrown> = fc.oneof(
  fc
    .anything({
      withNullPrototype: true,
      withBigInt: true,
      withBoxedValues: true,
      withMap: true,
      withSet: true,
      withSparseArray: true,
      withTypedArray: true,
      withDate: true,
    })
    .map((value) => ({ name: 'anything()', make: () => value })),
  fc.string({ unit: 'binary' }).map((value) => ({ name: 'a string', make: () => value })),
  fc.constantFrom(...hostileNames).map((name) => ({ name, make: () => hostile(name) })),
);
