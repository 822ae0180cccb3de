// opts.args (extra arguments after each item, sent once per call) and sharedArray().
import test from 'ava';
import { createRequire } from 'node:module';
import { Lock, Pool, Value, kernels, sharedArray } from '../dist/index.mjs';

const require = createRequire(import.meta.url);
const pool = new Pool(2);
test.after.always(() => pool.terminate());

const affine = (x, a, b) => x * a + b;

test('map: args after the item, on the board (chunksize 1), for arrays and typed arrays', async (t) => {
  t.deepEqual(await pool.map(affine, [1, 2, 3, 4], { args: [10, 1], chunksize: 1 }), [11, 21, 31, 41]);
  t.deepEqual(await pool.map(affine, Float64Array.of(1, 2), { args: [2, 0.5], chunksize: 1 }), Float64Array.of(2.5, 4.5));
  t.deepEqual(await pool.map((s, sep, n) => s.padStart(n, sep), ['a', 'bb'], { args: ['.', 3] }), ['..a', '.bb']);
  // A large numeric map runs as shared chunks (read and written in place).
  const big = Float64Array.from({ length: 50_000 }, (_, i) => i);
  const r = await pool.map((x, k) => x + k[0], big, { args: [Float64Array.of(0.5)] });
  t.is(r.length, big.length);
  t.true(r.every((v, i) => v === i + 0.5));
  // Empty args: as if none.
  t.deepEqual(await pool.map((x, y) => [x, y], [1], { args: [] }), [[1, undefined]]);
});

test('starmap: fn(...tuple, ...args); mapAsync and starmapAsync too', async (t) => {
  t.deepEqual(await pool.starmap((a, b, c) => a + b + c, [[1, 2], [3, 4]], { args: [100] }), [103, 107]);
  t.deepEqual(await pool.starmap((a, b, c, d) => [a, b, c, d], [[1], [2, 3]], { args: ['x'], chunksize: 1 }), [[1, 'x', undefined, undefined], [2, 3, 'x', undefined]]);
  t.deepEqual(await pool.mapAsync((x, k) => x * k, [1, 2, 3], { args: [3] }).get(), [3, 6, 9]);
  t.deepEqual(await pool.starmapAsync((x, y, k) => x * y * k, [[1, 2]], { args: [5] }), [10]);
});

test.serial('imap and imapUnordered: every chunk of a stream gets the args, encoded once for the call', async (t) => {
  const wire = require('../dist/wire/payloads.js');
  const original = wire.encodeCallArgs;
  let encoded = 0;
  wire.encodeCallArgs = (...a) => {
    encoded++;
    return original(...a);
  };
  try {
    const out = [];
    for await (const r of pool.imap((x, k, s) => x * k + s.length, Array.from({ length: 200 }, (_, i) => i), { args: [2, 'abc'] })) out.push(r);
    t.deepEqual(out, Array.from({ length: 200 }, (_, i) => 2 * i + 3));
    t.is(encoded, 1);
    function* gen() {
      for (let i = 0; i < 50; i++) yield i;
    }
    const un = [];
    for await (const r of pool.imapUnordered((x, k) => x - k, gen(), { args: [1], chunksize: 7 })) un.push(r);
    t.deepEqual(
      un.sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, i) => i - 1),
    );
    t.is(encoded, 2);
  } finally {
    wire.encodeCallArgs = original;
  }
});

test('express lane: small maps of numbers with numeric args; unshared typed arrays arrive as copies', async (t) => {
  const p = new Pool(2);
  t.teardown(() => p.terminate());
  const { ExpressLane } = require('../dist/engine/lane.js');
  const call = ExpressLane.prototype.call;
  let lane = 0;
  ExpressLane.prototype.call = function (...a) {
    const r = call.apply(this, a);
    if (r !== undefined && a[5] !== undefined) lane++;
    return r;
  };
  try {
    const own = (x, c) => x * c[0] + c[1] + (c.byteOffset === 0 && c.buffer.byteLength === c.byteLength ? 0 : 1e9);
    const coef = Float64Array.of(0, 10, 20).subarray(1); // a view: copied with its own elements only
    for (let i = 0; i < 40; i++) t.deepEqual(await p.map(own, [1, 2, 3], { args: [coef] }), [30, 40, 50]);
    t.deepEqual(await p.map(own, Float32Array.of(1, 2), { args: [coef] }), Float32Array.of(30, 40));
    const shift = (x, k) => x + k;
    for (let i = 0; i < 40; i++) t.deepEqual(await p.map(shift, [1, 2], { args: [i] }), [1 + i, 2 + i]);
    t.true(lane > 0, 'some maps went through the lane');
    // Args that do not fit the lane (shared memory, strings): the board, same results.
    const sh = sharedArray(Float64Array, [7]);
    for (let i = 0; i < 5; i++) t.deepEqual(await p.map((x, s) => x + s[0], [1, 2], { args: [sh] }), [8, 9]);
    for (let i = 0; i < 5; i++) t.deepEqual(await p.map((x, s) => s + x, [1, 2], { args: ['n'] }), ['n1', 'n2']);
  } finally {
    ExpressLane.prototype.call = call;
  }
});

test('inline runs on the caller get the args too', async (t) => {
  const p = new Pool({ processes: 2, inline: true });
  t.teardown(() => p.terminate());
  const fn = (x, k) => x * k;
  for (let i = 0; i < 30; i++) t.deepEqual(await p.map(fn, [1, 2, 3], { args: [i] }), [i, 2 * i, 3 * i]);
  const star = (a, b, k) => a + b + k;
  for (let i = 0; i < 30; i++) t.deepEqual(await p.starmap(star, [[1, 2]], { args: [i] }), [3 + i]);
  t.deepEqual(await p.apply((a) => a, [5]), 5);
});

test('shared memory in args is shared: tasks write, the caller sees it; Lock and Value are live', async (t) => {
  const out = sharedArray(Int32Array, 8);
  await pool.map(
    (i, o) => {
      o[i] = i * i;
      return i;
    },
    [0, 1, 2, 3, 4, 5, 6, 7],
    { args: [out], chunksize: 2 },
  );
  t.deepEqual([...out], [0, 1, 4, 9, 16, 25, 36, 49]);
  const lock = new Lock();
  const count = new Value('i32', 0);
  await pool.map(
    (_, l, c) => {
      l.acquire();
      c.value += 1;
      l.release();
      return 0;
    },
    Array.from({ length: 100 }, (_, i) => i),
    { args: [lock, count], chunksize: 5 },
  );
  t.is(count.value, 100);
  // A plain typed array is copied: the task's writes stay on the worker.
  const plain = new Float64Array(2);
  await pool.map(
    (_i, p) => {
      p[0] = 1;
      return p[0];
    },
    [0, 1],
    { args: [plain], chunksize: 1 },
  );
  t.is(plain[0], 0);
});

test('typed-array args round trip exactly: own ArrayBuffer, byteOffset 0, views copied with their own elements', async (t) => {
  const base = Float64Array.from({ length: 1000 }, (_, i) => i * 1.5 - 7);
  const view = base.subarray(100, 600);
  const u8 = Uint8Array.of(1, 2, 3, 250);
  const probe = (_, a, b) => ({ len: a.length, first: a[0], last: a[a.length - 1], off: a.byteOffset, whole: a.buffer.byteLength === a.byteLength, kind: a.constructor.name, b: [...b], bOwn: b.buffer.byteLength === b.byteLength });
  for (const chunksize of [1, 3]) {
    const [r] = await pool.map(probe, [0, 1, 2], { args: [view, u8], chunksize });
    t.deepEqual(r, { len: 500, first: base[100], last: base[599], off: 0, whole: true, kind: 'Float64Array', b: [1, 2, 3, 250], bOwn: true });
  }
});

test('bad opts.args: not an array, cannot be cloned, with kernels, apply or reduce', async (t) => {
  for (const bad of [3, 'abc', { 0: 1 }, null]) {
    await t.throwsAsync(pool.map(affine, [1], { args: bad }), { instanceOf: TypeError, message: /opts\.args must be an array/ });
  }
  t.throws(() => pool.imap(affine, [1], { args: 1 }), { instanceOf: TypeError, message: /imap: opts\.args must be an array/ });
  const e = await t.throwsAsync(pool.map(affine, [1], { args: [1, () => 2] }), { instanceOf: TypeError, message: /map: opts\.args\[1\] cannot be sent to a worker/ });
  t.is(e.cause?.name, 'DataCloneError');
  await t.throwsAsync(pool.starmap(affine, [[1]], { args: [Symbol('s')] }), { instanceOf: TypeError, message: /starmap: opts\.args\[0\]/ });
  await t.throwsAsync(pool.map(kernels.square, Float64Array.of(1), { args: [1] }), { instanceOf: TypeError, message: /opts\.args cannot be used here: a kernel/ });
  await t.throwsAsync(pool.reduce((a, b) => a + b, [1, 2], { args: [1] }), { instanceOf: TypeError, message: /reduce: opts\.args/ });
  await t.throwsAsync(pool.apply((a) => a, [1], { args: [1] }), { instanceOf: TypeError, message: /apply: opts\.args/ });
  // The pool goes on.
  t.deepEqual(await pool.map(affine, [1, 2], { args: [2, 1] }), [3, 5]);
});

test('sharedArray: types, lengths, iterables, copies', (t) => {
  const f = sharedArray(Float64Array, 4);
  t.true(f instanceof Float64Array);
  t.true(f.buffer instanceof SharedArrayBuffer);
  t.is(f.length, 4);
  t.deepEqual([...f], [0, 0, 0, 0]);
  const src = [1, 2, 3];
  const g = sharedArray(Float32Array, src);
  t.deepEqual([...g], [1, 2, 3]);
  src[0] = 9;
  t.is(g[0], 1);
  t.deepEqual([...sharedArray(Int32Array, new Set([5, 6]))], [5, 6]);
  t.deepEqual(
    [...sharedArray(Uint8Array, (function* () {
      yield 1;
      yield 300;
    })())],
    [1, 44],
  );
  const view = Float64Array.of(1, 2, 3, 4).subarray(1, 3);
  const h = sharedArray(Float64Array, view);
  t.deepEqual([...h], [2, 3]);
  t.is(h.byteOffset, 0);
  t.is(h.buffer.byteLength, 16);
  t.deepEqual([...sharedArray(BigInt64Array, [1n, 2n])], [1n, 2n]);
  t.is(sharedArray(Uint16Array, 0).length, 0);
});

test('sharedArray: bad arguments name themselves', (t) => {
  for (const bad of [Array, ArrayBuffer, DataView, 'Float64Array', undefined, () => 1]) {
    t.throws(() => sharedArray(bad, 3), { instanceOf: TypeError, message: /sharedArray: Ctor must be a typed array constructor/ });
  }
  for (const bad of [-1, 1.5, Number.NaN, Infinity]) t.throws(() => sharedArray(Float64Array, bad), { instanceOf: RangeError, message: /sharedArray: length/ });
  for (const bad of [undefined, null, 'abc', true, {}]) t.throws(() => sharedArray(Float64Array, bad), { instanceOf: TypeError, message: /sharedArray: lengthOrValues/ });
  t.throws(() => sharedArray(BigInt64Array, [1, 2]), { instanceOf: TypeError, message: /cannot be stored in a BigInt64Array/ });
});
