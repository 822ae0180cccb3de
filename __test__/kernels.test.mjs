import test from 'ava';
import { Pool, kernels } from '../dist/index.mjs';
import { firstMismatch, randomDoubles } from './helpers.mjs';

const pool = new Pool();
test.after.always(() => pool.terminate());

const EDGES = [0, -0, 1, -1, NaN, Infinity, -Infinity, 5e-324, 16777217, 0.1];
const EXACT = [
  ['square', kernels.square, (x) => x * x],
  ['sqrt', kernels.sqrt, Math.sqrt],
  ['abs', kernels.abs, Math.abs],
  ['neg', kernels.neg, (x) => -x],
  ['affine', kernels.affine(2.5, -1), (x) => 2.5 * x + -1],
  ['clamp', kernels.clamp(-1, 2), (x) => (Number.isNaN(x) ? NaN : Math.min(Math.max(x, -1), 2))],
];
// libm and V8's Math may differ by an ulp on these.
const CLOSE = [
  ['exp', kernels.exp, Math.exp],
  ['log', kernels.log, Math.log],
  ['sin', kernels.sin, Math.sin],
  ['cos', kernels.cos, Math.cos],
  ['pow', kernels.pow(1.5), (x) => x ** 1.5],
];
// Sizes that run inline, assisted (caller + pool) and pooled.
const SIZES = [0, 1, 7, 1000, 131_073, 400_001, 1_500_003];

for (const [name, kernel, f] of [...EXACT, ...CLOSE]) {
  const rel = EXACT.some((e) => e[0] === name) ? 0 : 4e-16;
  test(`map(kernels.${name}) matches the JS reference on Float64Array`, async (t) => {
    for (const n of SIZES) {
      const input = Float64Array.from([...EDGES, ...randomDoubles(n + 1, n)]);
      const out = await pool.map(kernel, input);
      t.true(out instanceof Float64Array);
      t.not(out, input);
      t.is(firstMismatch(out, input.map(f), rel), undefined, `n=${n}`);
    }
  });
  test(`map(kernels.${name}) on Float32Array rounds once, like Math.fround`, async (t) => {
    const input = Float32Array.from([...EDGES, ...randomDoubles(5, 200_003)]);
    const out = await pool.map(kernel, input);
    t.true(out instanceof Float32Array);
    t.is(firstMismatch(out, Float32Array.from(input, (x) => Math.fround(f(x))), rel ? 1.2e-7 : 0), undefined);
  });
}

test('arrays and iterables of numbers give number[]', async (t) => {
  t.deepEqual(await pool.map(kernels.square, [1, 2, 3]), [1, 4, 9]);
  t.deepEqual(await pool.map(kernels.neg, new Set([1, 2])), [-1, -2]);
  t.deepEqual(await pool.map(kernels.abs, (function* () { yield -3; yield 4; })()), [3, 4]);
  t.deepEqual(await pool.map(kernels.sqrt, (async function* () { yield 9; yield 16; })()), [3, 4]);
  t.deepEqual(await pool.map(kernels.square, []), []);
});

test('explicit chunk sizes give the same answer', async (t) => {
  const input = randomDoubles(3, 300_007);
  const want = input.map((x) => x * x);
  for (const chunksize of [1, 3, 1000, 300_008]) {
    const got = await pool.map(kernels.square, chunksize === 1 ? input.subarray(0, 5000) : input, { chunksize });
    t.is(firstMismatch(got, chunksize === 1 ? want.subarray(0, 5000) : want), undefined, `chunksize ${chunksize}`);
  }
});

test('opts.out receives the results, and may be the input itself', async (t) => {
  for (const n of [10, 1_500_003]) {
    const input = randomDoubles(n, n);
    const want = input.map((x) => -x);
    const out = new Float64Array(n);
    t.is(await pool.map(kernels.neg, input, { out }), out);
    t.is(firstMismatch(out, want), undefined);
    t.is(await pool.map(kernels.neg, input, { out: input }), input);
    t.is(firstMismatch(input, want), undefined, 'in place');
  }
  const viaArray = new Float64Array(2);
  t.is(await pool.map(kernels.square, [3, 4], { out: viaArray }), viaArray);
  t.deepEqual([...viaArray], [9, 16]);
});

test('opts.out of the wrong type, length or overlap is refused', async (t) => {
  const input = new Float64Array(8);
  await t.throwsAsync(pool.map(kernels.abs, input, { out: new Float32Array(8) }), { instanceOf: TypeError, message: /opts\.out/ });
  await t.throwsAsync(pool.map(kernels.abs, input, { out: new Float64Array(7) }), { instanceOf: RangeError, message: /opts\.out.*length/ });
  const buf = new ArrayBuffer(8 * 9);
  await t.throwsAsync(pool.map(kernels.abs, new Float64Array(buf, 0, 8), { out: new Float64Array(buf, 8, 8) }), { instanceOf: TypeError, message: /overlaps/ });
});

test('reductions match sequential references', async (t) => {
  for (const n of [1, 7, 1000, 400_001, 2_000_003]) {
    const x = randomDoubles(n + 7, n);
    const sum = x.reduce((a, b) => a + b, 0);
    const scale = x.reduce((a, b) => a + Math.abs(b), 0);
    t.true(Math.abs((await pool.reduce(kernels.sum, x)) - sum) <= n * Number.EPSILON * scale, `sum n=${n}`);
    t.true(Math.abs((await pool.reduce(kernels.mean, x)) - sum / n) <= Number.EPSILON * scale, `mean n=${n}`);
    let min = Infinity;
    let max = -Infinity;
    for (const v of x) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    t.is(await pool.reduce(kernels.min, x), min);
    t.is(await pool.reduce(kernels.max, x), max);
  }
});

test('fused opts.map, opts.initial, empty inputs and NaN', async (t) => {
  const x = new Float64Array([3, -4, 12]);
  t.is(await pool.reduce(kernels.sum, x, { map: kernels.square }), 169);
  t.is(await pool.reduce(kernels.sum, [4, 9], { map: kernels.sqrt }), 5);
  t.is(await pool.reduce(kernels.sum, x, { initial: 100 }), 111);
  t.is(await pool.reduce(kernels.min, x, { initial: -10 }), -10);
  t.is(await pool.reduce(kernels.sum, []), 0);
  t.is(await pool.reduce(kernels.min, []), Infinity);
  t.is(await pool.reduce(kernels.max, new Float32Array(0)), -Infinity);
  t.true(Number.isNaN(await pool.reduce(kernels.mean, [])));
  t.true(Number.isNaN(await pool.reduce(kernels.max, [1, NaN, 3])));
  await t.throwsAsync(pool.reduce(kernels.mean, x, { initial: 1 }), { instanceOf: TypeError, message: /initial/ });
  await t.throwsAsync(pool.reduce(kernels.square, x), { instanceOf: TypeError, message: /opts\.map/ });
  await t.throwsAsync(pool.map(kernels.sum, x), { instanceOf: TypeError, message: /reduce/ });
});

test('reductions are deterministic across runs and pool sizes', async (t) => {
  const x = randomDoubles(11, 3_000_017);
  const one = new Pool(1);
  const results = [await pool.reduce(kernels.sum, x), await pool.reduce(kernels.sum, x), await one.reduce(kernels.sum, x)];
  await one.terminate();
  t.true(results.every((r) => Object.is(r, results[0])), results.join(' '));
});

test('a SharedArrayBuffer-backed array works', async (t) => {
  const x = new Float64Array(new SharedArrayBuffer(8 * 300_000)).fill(3);
  const out = await pool.map(kernels.square, x);
  t.is(out[299_999], 9);
  t.is(await pool.reduce(kernels.sum, x), 900_000);
});

test('pow, clamp, min and max follow JS exactly at the edges (±1 ** ±Infinity, NaN exponents, signed zeros)', async (t) => {
  const xs = [1, -1, 0, -0, 2, NaN, Infinity, -Infinity];
  for (const p of [Infinity, -Infinity, NaN, 0, 0.5, -1]) {
    t.is(firstMismatch(await pool.map(kernels.pow(p), xs), xs.map((x) => x ** p)), undefined, `pow(${p})`);
  }
  for (const [lo, hi] of [[0, 1], [-1, -0], [-0, 0], [0, 0]]) {
    const want = xs.map((x) => Math.min(Math.max(x, lo), hi));
    t.is(firstMismatch(await pool.map(kernels.clamp(lo, hi), xs), want), undefined, `clamp(${lo}, ${hi})`);
  }
  t.true(Object.is(await pool.reduce(kernels.max, [-0, 0]), 0));
  t.true(Object.is(await pool.reduce(kernels.max, [0, -0]), 0));
  t.true(Object.is(await pool.reduce(kernels.min, [0, -0]), -0));
  t.true(Object.is(await pool.reduce(kernels.min, [-0, 0]), -0));
  t.true(Object.is(await pool.reduce(kernels.max, [-0, -0]), -0));
});
