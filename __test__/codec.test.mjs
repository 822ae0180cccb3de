// The plain-data codec (src/util/codec.ts) that carries most payloads between threads: whatever
// it encodes must decode to what structured clone gives, and whatever it cannot encode
// exactly it must refuse (the caller then uses V8's serialiser).
import test from 'ava';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';
import { Pool } from '../dist/index.mjs';

const { encodePlain, decodePlain, encodeAny, decodeAny } = createRequire(import.meta.url)('../dist/util/codec.js');

const plainValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(undefined, null, true, false, 0, -0, Number.NaN, Infinity, -Infinity, 2 ** 31, -(2 ** 31), 2 ** 53),
    fc.integer(),
    fc.double(),
    fc.string({ unit: 'grapheme' }),
    fc.string({ unit: 'binary' }), // lone surrogates and every code unit
    fc.string({ unit: fc.integer({ min: 0, max: 0xff }).map((c) => String.fromCharCode(c)) }),
    fc.array(tie('value'), { maxLength: 6 }),
    fc.sparseArray(tie('value'), { maxLength: 6 }),
    fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('__proto__', '0', '1', 'constructor')), tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** `v` through the plain-data codec and through structured clone (`[decoded, clone]`), or
 * undefined when the codec refuses `v`. */
function roundTrip(v) {
  const bytes = encodePlain(v);
  return bytes === undefined ? undefined : [decodePlain(bytes), structuredClone(v)];
}

test('plain values decode to what structured clone gives (holes, -0, lone surrogates, __proto__ keys)', (t) => {
  fc.assert(
    fc.property(plainValue, (v) => {
      const pair = roundTrip(v);
      if (pair === undefined) return false;
      const [back, clone] = pair;
      return isDeepStrictEqual(back, clone) && Object.is(JSON.stringify(back), JSON.stringify(clone));
    }),
    { numRuns: 2000, seed: 20261203 },
  );
  const sparse = decodePlain(encodePlain([1, , 3]));
  t.false(1 in sparse);
  t.is(sparse.length, 3);
  t.true(Object.is(decodePlain(encodePlain(-0)), -0));
  const proto = decodePlain(encodePlain(JSON.parse('{"__proto__": {"x": 1}}')));
  t.deepEqual(Object.keys(proto), ['__proto__']);
  t.is(Object.getPrototypeOf(proto), Object.prototype);
  t.is(decodePlain(encodePlain('\ud800x')), '\ud800x');
});

test('what plain data cannot carry exactly is refused, and goes through V8 intact', (t) => {
  const shared = { a: 1 };
  class Point {
    constructor() {
      this.x = 1;
    }
  }
  const cycle = { n: 1 };
  cycle.self = cycle;
  const whole = new Float64Array(4).fill(1.5);
  const refusedViews = [
    new Float64Array(new ArrayBuffer(32), 8, 2), // part of a buffer: clone copies all of it
    new Float64Array(new SharedArrayBuffer(16)), // shared memory
    [whole, new Uint8Array(whole.buffer)], // two views of one buffer: clone keeps the sharing
    new Float64Array(0), // empty (a detached array is too)
    new DataView(new ArrayBuffer(8)),
    new Float64Array(new ArrayBuffer(16, { maxByteLength: 32 })), // resizable
  ];
  for (const v of ['x'.repeat(300_000), new Date(5), new Map([[1, 2]]), new Set([1]), new Float64Array(40_000), 10n, /x/g, new Point(), [shared, shared], cycle, new Error('e'), Object(1), ...refusedViews]) {
    t.is(encodePlain(v), undefined, `refused: ${Object.prototype.toString.call(v)}`);
    const back = decodeAny(encodeAny(v));
    t.deepEqual(back, structuredClone(v));
  }
  // A Buffer (a Uint8Array subclass) goes through V8's serialiser, which keeps it a Buffer.
  t.is(encodePlain(Buffer.from([1, 2, 3])), undefined);
  t.true(Buffer.isBuffer(decodeAny(encodeAny(Buffer.from([1, 2, 3])))));
  const back = decodeAny(encodeAny([shared, shared]));
  t.is(back[0], back[1], 'sharing kept (by V8)');
  t.is(encodePlain(() => 1), undefined);
  // Structured clone's own error (a DOMException, which ava's throws() takes with `any`).
  t.throws(() => encodeAny(() => 1), { any: true, instanceOf: DOMException, name: 'DataCloneError', message: /could not be cloned/ });
});

test('typed arrays of their own buffer travel as plain data, exactly as structured clone gives them', (t) => {
  const kinds = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array];
  const typed = fc.tuple(fc.constantFrom(...kinds), fc.uint8Array({ minLength: 8, maxLength: 256 })).map(([Ctor, bytes]) => {
    const n = Math.floor(bytes.length / Ctor.BYTES_PER_ELEMENT);
    const a = new Ctor(n);
    new Uint8Array(a.buffer).set(bytes.subarray(0, n * Ctor.BYTES_PER_ELEMENT)); // NaN payloads and all
    return a;
  });
  const value = fc.oneof(typed, fc.array(typed, { maxLength: 4 }), fc.dictionary(fc.string(), fc.oneof(typed, fc.integer()), { maxKeys: 4 }));
  fc.assert(
    fc.property(value, (v) => {
      const pair = roundTrip(v);
      if (pair === undefined) return false;
      const [back, clone] = pair;
      const same = (a, b) => a.constructor === b.constructor && a.byteOffset === 0 && a.buffer.byteLength === b.buffer.byteLength && Buffer.from(a.buffer).equals(Buffer.from(b.buffer));
      const all = (a, b) => (ArrayBuffer.isView(a) ? same(a, b) : Object.keys(b).every((k) => all(a[k], b[k])) && Object.keys(a).length === Object.keys(b).length);
      return all(back, clone) && isDeepStrictEqual(back, clone);
    }),
    { numRuns: 1000, seed: 20261207 },
  );
  const a = Float64Array.of(1, Number.NaN, -0);
  const back = decodePlain(encodePlain({ a, n: 1 }));
  t.true(back.a instanceof Float64Array);
  t.not(back.a, a);
  t.true(Object.is(back.a[2], -0));
  t.is(back.a.buffer.byteLength, 24);
});

test('a getter that encodes something itself does not disturb the outer encoding', (t) => {
  const inner = { a: [1, 'two'] };
  const outer = {
    x: 1,
    get y() {
      return decodeAny(encodeAny(inner)); // an encoding inside an encoding
    },
    z: 'three',
  };
  t.deepEqual(decodeAny(encodeAny(outer)), { x: 1, y: { a: [1, 'two'] }, z: 'three' });
});

test('a getter that throws while encoding propagates its own error', (t) => {
  const bad = {
    get x() {
      throw new RangeError('no x');
    },
  };
  t.throws(() => encodePlain([bad]), { instanceOf: RangeError, message: 'no x' });
});

test('pool calls carry plain data both ways exactly', async (t) => {
  const pool = new Pool(2);
  try {
    const items = [{ s: 'é\ud83d\ude00\ud800', n: -0, a: [1, , 3], u: undefined }, 'x'.repeat(100), [[[]]]];
    const r = await pool.map((x) => x, items, { chunksize: 1 });
    t.true(isDeepStrictEqual(r, structuredClone(items)));
    t.true(Object.is(r[0].n, -0));
    t.false(1 in r[0].a);
    t.deepEqual(await pool.apply((o) => ({ ...o, k: Object.keys(o) }), [{ b: 1, a: 2 }]), { b: 1, a: 2, k: ['b', 'a'] });
  } finally {
    await pool.terminate();
  }
});
