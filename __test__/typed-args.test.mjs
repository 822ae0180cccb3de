// Large typed arrays as arguments (issue 24, A1): each travels as a part of its own, copied
// once on each side, and the task still gets what structured clone gives: an array of the
// same kind and elements, in an ArrayBuffer of its own at byteOffset 0.
import test from 'ava';
import { createRequire } from 'node:module';
import { Pool } from '../dist/index.mjs';

const require = createRequire(import.meta.url);
const { native } = require('../dist/util/native.js');
const wire = require('../dist/wire/payloads.js');
const { PART_BYTES } = require('../dist/wire/args.js');
const pool = new Pool(2);
test.after.always(() => pool.terminate());

/** Bytes that are not all alike: NaNs with payloads, -0, odd values. */
function noise(bytes, seed) {
  let s = seed >>> 0 || 1;
  for (let i = 0; i < bytes.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    bytes[i] = s & 0xff;
  }
}

/** A view of `Ctor` with `length` elements at `offset` bytes into a larger buffer of noise. */
function make(Ctor, length, offset, seed) {
  const per = Ctor === DataView ? 1 : Ctor.BYTES_PER_ELEMENT;
  const buffer = new ArrayBuffer(offset + length * per + 24);
  noise(new Uint8Array(buffer), seed);
  return new Ctor(buffer, offset, length);
}

const bytesOf = (v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/** What a task reports of each argument it got (run on a worker). */
const probe = (...xs) =>
  xs.map((x) => (typeof x === 'number' ? x : { kind: x.constructor.name, offset: x.byteOffset, own: x.buffer.byteLength === x.byteLength, bytes: new Uint8Array(x.buffer, x.byteOffset, x.byteLength) }));

function expected(xs) {
  return xs.map((x) => (typeof x === 'number' ? x : { kind: x.constructor.name, offset: 0, own: true, bytes: new Uint8Array(bytesOf(x)) }));
}

const KINDS = [Float64Array, Float32Array, Int32Array, Uint8Array, Int8Array, Uint8ClampedArray, Int16Array, Uint16Array, Uint32Array, BigInt64Array, BigUint64Array, DataView];

/** One large argument of each kind, at odd lengths and byte offsets (aligned as each
 * kind needs), with small ones and numbers among them. */
function argumentsOfEveryKind(seed) {
  return KINDS.map((Ctor, k) => {
    const per = Ctor === DataView ? 1 : Ctor.BYTES_PER_ELEMENT;
    const length = Math.ceil(PART_BYTES / per) + 2 * k + 1;
    return make(Ctor, length, per * (k + 1), seed + k);
  });
}

test('starmap: large arguments of every typed-array kind and DataView arrive exact, each in an ArrayBuffer of its own', async (t) => {
  const tuples = [argumentsOfEveryKind(1).slice(0, 6), [-0, ...argumentsOfEveryKind(2).slice(6), 1.5, make(Float64Array, 3, 8, 3)], [make(Float32Array, 100_001, 4, 4), 7]];
  for (const chunksize of [1, 3]) {
    const r = await pool.starmap(probe, tuples, { chunksize });
    t.deepEqual(r, tuples.map(expected));
  }
});

test('apply and map: large typed-array arguments, as the arguments and as opts.args', async (t) => {
  const args = argumentsOfEveryKind(5);
  t.deepEqual(await pool.apply(probe, args), expected(args));
  t.deepEqual(await pool.apply(probe, [args[0]]), expected([args[0]]));
  const extra = [make(Float64Array, 20_001, 8, 6), make(Uint8Array, 33_333, 3, 7)];
  const r = await pool.map(probe, [1, 2, 3], { args: extra, chunksize: 1 });
  t.deepEqual(
    r,
    [1, 2, 3].map((x) => [x, ...expected(extra)]),
  );
  // Typed arrays as map's items (each item one array).
  const items = [make(Int32Array, 9_999, 4, 8), make(Float64Array, 4_097, 0, 9)];
  t.deepEqual(await pool.map(probe, items), items.map((x) => expected([x])));
});

test('a task may keep, change and transfer its copy: the caller’s arrays are untouched', async (t) => {
  const a = make(Float64Array, 50_000, 8, 11);
  const before = Buffer.from(bytesOf(a));
  const r = await pool.starmap(
    (x) => {
      x.fill(0);
      const moved = structuredClone(x.buffer, { transfer: [x.buffer] });
      return [x.length, moved.byteLength];
    },
    [[a], [a]],
    { chunksize: 1 },
  );
  t.deepEqual(r, [
    [0, 400_000],
    [0, 400_000],
  ]);
  t.true(bytesOf(a).equals(before));
});

test('large arguments travel as parts: views of the caller’s memory, copied once, by a worker or the caller', (t) => {
  const a = make(Float64Array, 10_000, 8, 12);
  const b = make(Uint16Array, 9_001, 2, 13);
  const parts = [];
  const payload = wire.encodeChunk(5, [[a, 2], [b]], new Map(), parts);
  t.is(parts.length, 2);
  t.is(parts[0].buffer, a.buffer);
  t.is(parts[0].byteOffset, a.byteOffset);
  t.is(parts[1].byteLength, b.byteLength);
  t.true(payload.byteLength < 128, 'the payload holds no array');
  // Through the native board, on this thread: each part comes back a buffer of its own.
  const board = native.boardOpen();
  try {
    native.boardSubmit(board, 1, '{}', [payload], undefined, undefined, false, parts, [2]);
    // Claimed before the loan ends: copied straight from the caller's arrays.
    const claim = native.boardClaim(board, 1);
    native.boardSettleParts(board, 1);
    t.is(claim.parts.length, 2);
    for (const [i, part] of claim.parts.entries()) {
      t.is(part.byteOffset, 0);
      t.is(part.buffer.byteLength, part.byteLength);
      t.true(Buffer.from(part).equals(bytesOf([a, b][i])));
    }
    const [start, lists] = wire.decodeChunk(claim.payload, undefined, claim.parts);
    t.is(start, 5);
    t.is(lists[0][1], 2);
    t.true(lists[0][0] instanceof Float64Array && lists[1][0] instanceof Uint16Array);
    t.is(lists[0][0].buffer, claim.parts[0].buffer, 'no second copy on the worker');
    t.true(bytesOf(lists[1][0]).equals(bytesOf(b)));
    // Claimed after the loan ended: the caller copied the parts into the board, and what the
    // caller does to its arrays afterwards does not reach the task.
    native.boardSubmit(board, 2, '{}', [payload, payload], undefined, undefined, false, [...parts, ...parts], [2, 2]);
    native.boardSettleParts(board, 2);
    const want = Buffer.from(bytesOf(a));
    a.fill(7);
    for (let i = 0; i < 2; i++) {
      const late = native.boardClaim(board, 1);
      t.is(late.job, 2);
      t.true(Buffer.from(late.parts[0]).equals(want));
      t.is(late.parts[0].buffer.byteLength, late.parts[0].byteLength);
    }
    bytesOf(a).set(want);
  } finally {
    native.boardClose(board);
  }
  // Without room for parts, as before: inline bytes (the express lane), or V8's serialiser
  // for the kinds that are not inline.
  t.is(wire.encodeChunk(0, [[a]])[0], 6);
  t.is(wire.encodeChunk(0, [[b]])[0], 0xff);
  // A missing part is an error, not garbage.
  t.throws(() => wire.decodeChunk(payload, undefined, []), { message: /lacks its parts/ });
});

test('a Buffer, a subclass of Float64Array and shared memory keep their own ways', async (t) => {
  const buf = Buffer.alloc(PART_BYTES + 3, 9);
  class Tagged extends Uint8Array {}
  const tagged = new Tagged(PART_BYTES + 1);
  const shared = new Float64Array(new SharedArrayBuffer(8 * 4096));
  const [r] = await pool.starmap(
    (b, g, s) => {
      s[0] = 42;
      return [Buffer.isBuffer(b), b.length, g.constructor.name, g.length];
    },
    [[buf, tagged, shared]],
  );
  // As structured clone gives them (V8's serialiser): a Buffer stays one.
  t.deepEqual(r, [true, PART_BYTES + 3, 'Uint8Array', PART_BYTES + 1]);
  t.is(shared[0], 42, 'shared memory is shared, not copied');
});

test.serial('starmap and apply send large arrays as parts; a starmap of them is spread over the workers', async (t) => {
  const original = native.boardSubmit;
  const seen = [];
  native.boardSubmit = (...a) => {
    seen.push({ chunks: a[3].length, parts: a[7]?.length ?? 0 });
    return original(...a);
  };
  try {
    const a = new Float64Array(200_000).fill(1);
    const cheap = (x) => x.length;
    // Measured cheap first (a call of microseconds would otherwise be one chunk).
    for (let i = 0; i < 5; i++) await pool.starmap(cheap, [[1], [2]]);
    seen.length = 0;
    t.deepEqual(await pool.starmap(cheap, [[a], [a]]), [200_000, 200_000]);
    t.deepEqual(seen, [{ chunks: 2, parts: 2 }]);
    seen.length = 0;
    t.is(await pool.apply(cheap, [a]), 200_000);
    t.deepEqual(seen, [{ chunks: 1, parts: 1 }]);
  } finally {
    native.boardSubmit = original;
  }
});

test.serial('arguments are what they were at the call: changing or detaching an array right after the call reaches no task', async (t) => {
  // A worker that claims a chunk while the call is being made copies its arrays straight from
  // the caller's; one that comes later gets the caller's copy. Either way the task sees the
  // array as it was when the call was made, with workers spinning (back to back), parked
  // (after a pause) or busy elsewhere (the caller then copies every chunk itself).
  const sum = (x, tag) => {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i];
    return [tag, s, x.length];
  };
  const busy = (ms) => {
    const end = Date.now() + ms;
    while (Date.now() < end);
    return ms;
  };
  for (let round = 0; round < 60; round++) {
    const n = 4096 + 1024 * (round % 7);
    const arrays = Array.from({ length: 1 + (round % 6) }, (_, k) => new Float64Array(n).fill(k + 1));
    const blocker = round % 3 === 2 ? pool.map(busy, [30, 30], { chunksize: 1 }) : undefined;
    if (round % 3 === 1) await new Promise((r) => setTimeout(r, 20));
    const call = pool.starmap(sum, arrays.map((a, k) => [a, k]), { chunksize: 1 });
    // At once, before any await: every array changed, every other one detached.
    for (const [k, a] of arrays.entries()) {
      if (k % 2) structuredClone(a.buffer, { transfer: [a.buffer] });
      else a.fill(-1);
    }
    const got = await call;
    await blocker;
    t.deepEqual(
      got,
      arrays.map((_, k) => [k, (k + 1) * n, n]),
      `round ${round}`,
    );
  }
});
