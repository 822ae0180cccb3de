// Every element-wise kernel against a sequential JS reference, over Float64Array,
// Float32Array and number[], at sizes that run inline, assisted and on the native pool.
import test from 'ava';
import { Pool, kernels } from '../dist/index.mjs';
import { firstMismatch, randomDoubles, runSeed, sameBytes, SPECIALS } from './support/helpers.mjs';

const SEED = runSeed();
const pool = new Pool();
test.after.always(() => pool.terminate());

// Results that must be bit-identical to the JS expression.
const EXACT = [
  ['square', kernels.square, (x) => x * x],
  ['sqrt', kernels.sqrt, Math.sqrt],
  ['abs', kernels.abs, Math.abs],
  ['neg', kernels.neg, (x) => -x],
  ['affine(2.5, -1)', kernels.affine(2.5, -1), (x) => 2.5 * x + -1],
  ['affine(-3, 0.1)', kernels.affine(-3, 0.1), (x) => -3 * x + 0.1],
  ['clamp(-1, 2)', kernels.clamp(-1, 2), (x) => Math.min(Math.max(x, -1), 2)],
  ['clamp(-1e300, 1e-3)', kernels.clamp(-1e300, 1e-3), (x) => Math.min(Math.max(x, -1e300), 1e-3)],
];
// Transcendental ones: Rust's libm and V8's may differ in the last place.
const CLOSE = [
  ['exp', kernels.exp, Math.exp],
  ['log', kernels.log, Math.log],
  ['sin', kernels.sin, Math.sin],
  ['cos', kernels.cos, Math.cos],
  ['pow(2.5)', kernels.pow(2.5), (x) => x ** 2.5],
  ['pow(-1.5)', kernels.pow(-1.5), (x) => x ** -1.5],
  ['pow(3)', kernels.pow(3), (x) => x ** 3],
  ['pow(0.5)', kernels.pow(0.5), (x) => x ** 0.5],
];
const F64_ULPS = 2;
const F32_ULPS = 1;

// Where a call runs depends on its work, elements times the kernel's cost (1 for the cheap
// kernels, 16 for the transcendental ones; crates/core/src/chunking.rs): up to 128 Ki on the
// caller alone, up to 1 Mi on the caller with pool threads helping (assisted), above that
// on the native pool. Each kernel gets sizes of all three modes, and the empty input.
const SIZES_EXACT = [0, 1, 7, 1000, 131_073, 1_100_003];
const SIZES_CLOSE = [0, 1, 7, 1000, 20_011, 131_073];
const DATA = new Map([...new Set([...SIZES_EXACT, ...SIZES_CLOSE])].map((n, i) => [n, randomDoubles(SEED + i, n)]));

const TYPES = [
  ['Float64Array', (d) => Float64Array.from(d)],
  ['Float32Array', (d) => Float32Array.from(d)],
  ['number[]', (d) => Array.from(d)],
];

/** f over each element, sequentially; stored in a Float32Array (so Math.fround'ed) for f32 input. */
function reference(f, input) {
  const out = input instanceof Float32Array ? new Float32Array(input.length) : new Float64Array(input.length);
  for (let i = 0; i < input.length; i++) out[i] = f(input[i]);
  return out;
}

// number[] and Float64Array inputs hold the same doubles, so they share a reference.
const references = new Map();
function cachedReference(name, f, n, input) {
  const key = `${name}/${n}/${input instanceof Float32Array ? 32 : 64}`;
  if (!references.has(key)) references.set(key, reference(f, input));
  return references.get(key);
}

function checkResultType(t, input, out, what) {
  if (Array.isArray(input)) {
    t.true(Array.isArray(out), `${what}: number[] in gives number[]`);
  } else {
    t.is(Object.getPrototypeOf(out), Object.getPrototypeOf(input), `${what}: same typed array type out`);
    t.not(out, input, `${what}: a new array`);
    t.not(out.buffer, input.buffer, `${what}: not a view of the input's buffer`);
  }
  t.is(out.length, input.length, `${what}: length`);
}

for (const [name, kernel, f] of [...EXACT, ...CLOSE]) {
  const exact = EXACT.some((e) => e[0] === name);
  for (const [typeName, make] of TYPES) {
    test(`kernels.${name} over ${typeName} matches the sequential reference`, async (t) => {
      const single = typeName === 'Float32Array';
      const ulps = exact ? 0 : single ? F32_ULPS : F64_ULPS;
      for (const n of exact ? SIZES_EXACT : SIZES_CLOSE) {
        const input = make(DATA.get(n));
        const before = input.slice();
        const what = `seed ${SEED}, n=${n}`;
        const out = await pool.map(kernel, input);
        checkResultType(t, input, out, what);
        t.is(firstMismatch(out, cachedReference(name, f, n, input), { ulps, single, input }), undefined, what);
        const untouched = Array.isArray(input) ? firstMismatch(input, before) === undefined : sameBytes(input, before);
        t.true(untouched, `${what}: input untouched`);
      }
    });
  }
}

test('NaN, ±Infinity and -0 go through every kernel like the JS expression', async (t) => {
  const input = Float64Array.from(SPECIALS);
  const input32 = Float32Array.from(SPECIALS);
  for (const [name, kernel, f] of [...EXACT, ...CLOSE]) {
    const exact = EXACT.some((e) => e[0] === name);
    const out = await pool.map(kernel, input);
    t.is(firstMismatch(out, reference(f, input), { ulps: exact ? 0 : F64_ULPS, input }), undefined, `${name} f64`);
    const out32 = await pool.map(kernel, input32);
    t.is(firstMismatch(out32, reference(f, input32), { ulps: exact ? 0 : F32_ULPS, single: true, input: input32 }), undefined, `${name} f32`);
    const outArr = await pool.map(kernel, [...SPECIALS]);
    t.is(firstMismatch(outArr, reference(f, SPECIALS), { ulps: exact ? 0 : F64_ULPS, input: SPECIALS }), undefined, `${name} number[]`);
  }
  // A few spelled out, so a wrong reference cannot hide a wrong kernel.
  const signs = await pool.map(kernels.neg, new Float64Array([0, -0, NaN, Infinity]));
  t.true(Object.is(signs[0], -0) && Object.is(signs[1], 0) && Number.isNaN(signs[2]) && signs[3] === -Infinity);
  const roots = await pool.map(kernels.sqrt, [-0, -1, Infinity, 4]);
  t.true(Object.is(roots[0], -0) && Number.isNaN(roots[1]) && roots[2] === Infinity && roots[3] === 2);
  t.deepEqual(await pool.map(kernels.abs, [-0, -Infinity]), [0, Infinity]);
  t.deepEqual(await pool.map(kernels.exp, [-Infinity, Infinity, 0]), [0, Infinity, 1]);
  const logs = await pool.map(kernels.log, [0, -0, -1, 1, Infinity]);
  t.true(logs[0] === -Infinity && logs[1] === -Infinity && Number.isNaN(logs[2]) && Object.is(logs[3], 0) && logs[4] === Infinity);
  const clamped = await pool.map(kernels.clamp(-1, 2), [NaN, -Infinity, Infinity, -0]);
  t.true(Number.isNaN(clamped[0]) && clamped[1] === -1 && clamped[2] === 2 && Object.is(clamped[3], -0));
});

test('explicit chunk sizes give the same answers', async (t) => {
  const cases = [
    [7, 1], [1000, 1], [1000, 3], [7, 100], [131_073, 3], [200_001, 1], [1_000_003, 1000], [1_000_003, 2_000_000],
  ];
  for (const [n, chunksize] of cases) {
    const data = randomDoubles(SEED ^ n, n);
    const data32 = Float32Array.from(data);
    const what = `seed ${SEED}, n=${n}, chunksize=${chunksize}`;
    for (const [name, kernel, f] of [EXACT[0], EXACT[6], CLOSE[0], CLOSE[2]]) {
      const exact = EXACT.some((e) => e[0] === name);
      const out = await pool.map(kernel, data, { chunksize });
      t.true(out instanceof Float64Array);
      t.is(firstMismatch(out, reference(f, data), { ulps: exact ? 0 : F64_ULPS, input: data }), undefined, `${name} ${what}`);
      const out32 = await pool.map(kernel, data32, { chunksize });
      t.true(out32 instanceof Float32Array);
      t.is(firstMismatch(out32, reference(f, data32), { ulps: exact ? 0 : F32_ULPS, single: true, input: data32 }), undefined, `${name} f32 ${what}`);
    }
    if (n <= 1000) t.deepEqual(await pool.map(kernels.square, Array.from(data), { chunksize }), Array.from(data, (x) => x * x), what);
  }
});

test('iterables and async iterables of numbers give number[]', async (t) => {
  const values = Array.from(randomDoubles(SEED + 99, 500));
  function* gen() {
    yield* values;
  }
  async function* agen() {
    for (const v of values) yield v;
  }
  const want = values.map((x) => x * x);
  for (const [what, make] of [
    ['a generator', gen],
    ['a Set', () => new Set(values)],
    ['Map.prototype.values()', () => new Map(values.map((v, i) => [i, v])).values()],
    ['an async generator', agen],
  ]) {
    const out = await pool.map(kernels.square, make());
    t.true(Array.isArray(out), what);
    // A Set drops repeated values; compare with what the iterable really yields.
    const seen = what === 'a Set' ? [...new Set(values)].map((x) => x * x) : want;
    t.is(firstMismatch(out, seen), undefined, `${what}, seed ${SEED}`);
  }
  t.deepEqual(await pool.map(kernels.sqrt, new Set([4, 9, 16])), [2, 3, 4]);
  t.deepEqual(await pool.map(kernels.neg, (async function* () {})()), []);
  t.deepEqual(await pool.map(kernels.neg, []), []);
  // A big generator goes to the pool and still comes back as number[].
  const big = randomDoubles(SEED + 7, 300_001);
  const out = await pool.map(kernels.affine(2, 3), (function* () { yield* big; })());
  t.true(Array.isArray(out));
  t.is(firstMismatch(out, Array.from(big, (x) => 2 * x + 3)), undefined, `big generator, seed ${SEED}`);
});

test('views with an offset into a larger buffer are mapped, not the whole buffer', async (t) => {
  const whole = randomDoubles(SEED + 3, 400_000);
  for (const [start, end] of [[1, 6], [3, 200_003], [17, 399_990]]) {
    const view = whole.subarray(start, end);
    const out = await pool.map(kernels.cos, view);
    t.is(out.length, end - start);
    t.is(firstMismatch(out, Array.from(view, Math.cos), { ulps: F64_ULPS, input: view }), undefined, `[${start}, ${end}), seed ${SEED}`);
  }
  const f32 = Float32Array.from(whole);
  const view32 = f32.subarray(5, 300_005);
  t.is(firstMismatch(await pool.map(kernels.square, view32), reference((x) => x * x, view32)), undefined, `f32 view, seed ${SEED}`);
});

test('mapAsync takes kernels too: an AsyncResult of the same array type, with its callback', async (t) => {
  let called;
  const r = pool.mapAsync(kernels.neg, new Float64Array([1, -2, 3]), { callback: (v) => { called = v; } });
  const out = await r.get(5000);
  t.true(out instanceof Float64Array);
  t.deepEqual([...out], [-1, 2, -3]);
  t.is(called, out);
  t.true(r.successful());
  const f32 = await pool.mapAsync(kernels.square, new Float32Array([2, 3])).get();
  t.true(f32 instanceof Float32Array);
  t.deepEqual([...f32], [4, 9]);
  t.deepEqual(await pool.mapAsync(kernels.abs, [-1, 2]), [1, 2]);
  let failed;
  const bad = pool.mapAsync(kernels.sqrt, new Float64Array(2), { out: new Float64Array(1), errorCallback: (e) => { failed = e; } });
  const err = await t.throwsAsync(() => bad.get());
  t.is(failed, err);
});

test('pow and clamp follow JS exactly at the edges (±1 ** ±Infinity, NaN exponents, signed zeros)', async (t) => {
  const xs = [1, -1, 0, -0, 2, NaN, Infinity, -Infinity];
  for (const p of [Infinity, -Infinity, NaN, 0, 0.5, -1]) {
    t.is(firstMismatch(await pool.map(kernels.pow(p), xs), xs.map((x) => x ** p)), undefined, `pow(${p})`);
  }
  for (const [lo, hi] of [[0, 1], [-1, -0], [-0, 0], [0, 0]]) {
    const want = xs.map((x) => Math.min(Math.max(x, lo), hi));
    t.is(firstMismatch(await pool.map(kernels.clamp(lo, hi), xs), want), undefined, `clamp(${lo}, ${hi})`);
  }
});
