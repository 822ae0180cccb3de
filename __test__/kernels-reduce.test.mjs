// The reduction kernels (sum, min, max, mean) against sequential references, fused
// opts.map, opts.initial, empty inputs, NaN, and determinism across runs and pool sizes.
import test from 'ava';
import { Pool, kernels } from '../dist/index.mjs';
import { mulberry32, runSeed } from './support/helpers.mjs';

const SEED = runSeed();
const pool = new Pool();
test.after.always(() => pool.terminate());

const SIZES = [1, 2, 7, 8, 9, 1000, 131_073, 1_000_003, 3_000_017];

/** Finite doubles of mixed sign and magnitude (no NaN or Infinity: those have their own tests). */
function finiteDoubles(seed, n) {
  const r = mulberry32(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const k = r();
    out[i] = k < 0.7 ? (r() - 0.5) * 200 : k < 0.9 ? (r() - 0.5) * 1e9 : (r() - 0.5) * 1e-6;
  }
  return out;
}

function sequential(x, f = (v) => v) {
  let sum = 0;
  let abs = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const v = f(x[i]);
    sum += v;
    abs += Math.abs(v);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { sum, abs, min, max, mean: sum / x.length };
}

/** |got - want| within the rounding error a sum of n terms of total magnitude `abs` may carry. */
function closeSum(got, want, n, abs) {
  return Math.abs(got - want) <= 2 * n * Number.EPSILON * abs;
}

const TYPES = [
  ['Float64Array', (d) => d],
  ['Float32Array', (d) => Float32Array.from(d)],
  ['number[]', (d) => Array.from(d)],
];

for (const [typeName, make] of TYPES) {
  test(`sum, min, max and mean over ${typeName} match sequential references`, async (t) => {
    for (const n of SIZES) {
      if (typeName === 'number[]' && n > 1_000_003) continue;
      const x = make(finiteDoubles(SEED + n, n));
      const ref = sequential(x);
      const what = `seed ${SEED}, n=${n}`;
      const sum = await pool.reduce(kernels.sum, x);
      t.true(closeSum(sum, ref.sum, n, ref.abs), `sum ${sum} vs ${ref.sum}, ${what}`);
      const mean = await pool.reduce(kernels.mean, x);
      t.true(closeSum(mean, ref.mean, n, ref.abs / n), `mean ${mean} vs ${ref.mean}, ${what}`);
      t.is(await pool.reduce(kernels.min, x), ref.min, `min, ${what}`);
      t.is(await pool.reduce(kernels.max, x), ref.max, `max, ${what}`);
    }
  });
}

test('exactly representable sums are exact', async (t) => {
  for (const n of [5, 1000, 1_000_003]) {
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = (i % 1000) - 499; // small integers: every partial is exact
    let want = 0;
    for (const v of x) want += v;
    t.is(await pool.reduce(kernels.sum, x), want, `n=${n}`);
    t.is(await pool.reduce(kernels.mean, x), want / n, `n=${n}`);
    t.is(await pool.reduce(kernels.sum, x, { chunksize: 3 }), want, `n=${n}, chunksize 3`);
  }
  t.is(await pool.reduce(kernels.sum, [1, 2, 3, 4]), 10);
  t.is(await pool.reduce(kernels.mean, [1, 2, 3, 4]), 2.5);
  t.is(await pool.reduce(kernels.min, [3, -7, 5]), -7);
  t.is(await pool.reduce(kernels.max, new Float32Array([3, -7, 5])), 5);
});

test('explicit chunk sizes give the same min and max and a close sum', async (t) => {
  const x = finiteDoubles(SEED + 1, 400_009);
  const ref = sequential(x);
  for (const chunksize of [1, 3, 1000, 65_536, 400_009, 1_000_000]) {
    const what = `seed ${SEED}, chunksize=${chunksize}`;
    t.true(closeSum(await pool.reduce(kernels.sum, x, { chunksize }), ref.sum, x.length, ref.abs), `sum, ${what}`);
    t.is(await pool.reduce(kernels.min, x, { chunksize }), ref.min, `min, ${what}`);
    t.is(await pool.reduce(kernels.max, x, { chunksize }), ref.max, `max, ${what}`);
  }
});

test('opts.map is applied to each element first (fused)', async (t) => {
  for (const n of [3, 1000, 1_000_003]) {
    const x = finiteDoubles(SEED + 2 * n, n);
    const what = `seed ${SEED}, n=${n}`;
    const squares = sequential(x, (v) => v * v);
    t.true(closeSum(await pool.reduce(kernels.sum, x, { map: kernels.square }), squares.sum, n, squares.abs), `sum of squares, ${what}`);
    const positive = x.map(Math.abs);
    const roots = sequential(positive, Math.sqrt);
    t.true(closeSum(await pool.reduce(kernels.sum, positive, { map: kernels.sqrt }), roots.sum, n, roots.abs), `sum of sqrt, ${what}`);
    t.is(await pool.reduce(kernels.max, x, { map: kernels.abs }), sequential(x, Math.abs).max, `max |x|, ${what}`);
    t.is(await pool.reduce(kernels.min, x, { map: kernels.neg }), -sequential(x).max, `min -x, ${what}`);
    t.is(await pool.reduce(kernels.max, x, { map: kernels.clamp(-1, 1) }), Math.min(Math.max(sequential(x).max, -1), 1), `max clamp, ${what}`);
    const affine = sequential(x, (v) => 2 * v + 1);
    t.is(await pool.reduce(kernels.min, x, { map: kernels.affine(2, 1) }), affine.min, `min affine, ${what}`);
    const f32 = Float32Array.from(x);
    t.true(closeSum(await pool.reduce(kernels.sum, f32, { map: kernels.square }), sequential(f32, (v) => v * v).sum, n, sequential(f32, (v) => v * v).abs), `f32 sum of squares, ${what}`);
  }
  t.is(await pool.reduce(kernels.sum, new Float64Array([3, 4]), { map: kernels.square }), 25);
  t.is(await pool.reduce(kernels.sum, [4, 9, 16], { map: kernels.sqrt }), 9);
  t.is(await pool.reduce(kernels.mean, [1, 2, 3], { map: kernels.square }), 14 / 3);
  t.true(Number.isNaN(await pool.reduce(kernels.sum, [4, -1], { map: kernels.sqrt })), 'sqrt(-1) makes the sum NaN');
});

test('opts.initial starts the reduction', async (t) => {
  for (const n of [4, 1_000_003]) {
    const x = finiteDoubles(SEED + 3 * n, n);
    const ref = sequential(x);
    const what = `seed ${SEED}, n=${n}`;
    t.true(closeSum(await pool.reduce(kernels.sum, x, { initial: 1e6 }), ref.sum + 1e6, n, ref.abs + 1e6), `sum, ${what}`);
    t.is(await pool.reduce(kernels.min, x, { initial: ref.min - 1 }), ref.min - 1, `min below, ${what}`);
    t.is(await pool.reduce(kernels.min, x, { initial: ref.max + 1 }), ref.min, `min above, ${what}`);
    t.is(await pool.reduce(kernels.max, x, { initial: ref.max + 1 }), ref.max + 1, `max above, ${what}`);
    t.is(await pool.reduce(kernels.max, x, { initial: ref.min - 1 }), ref.max, `max below, ${what}`);
  }
  t.is(await pool.reduce(kernels.sum, [1, 2, 3], { initial: 100 }), 106);
  t.is(await pool.reduce(kernels.sum, [1, 2, 3], { initial: 100, map: kernels.square }), 114);
  t.is(await pool.reduce(kernels.min, [5, 6], { initial: -Infinity }), -Infinity);
  t.true(Number.isNaN(await pool.reduce(kernels.max, [5, 6], { initial: NaN })), 'a NaN initial propagates');
  // An empty input gives the initial value.
  t.is(await pool.reduce(kernels.sum, [], { initial: 42 }), 42);
  t.is(await pool.reduce(kernels.min, new Float64Array(0), { initial: 3 }), 3);
  t.is(await pool.reduce(kernels.max, new Float32Array(0), { initial: -3 }), -3);
});

test('opts.initial with kernels.mean, or not a number, is a TypeError', async (t) => {
  await t.throwsAsync(pool.reduce(kernels.mean, [1, 2], { initial: 1 }), { instanceOf: TypeError, message: /initial.*mean|mean.*initial/ });
  await t.throwsAsync(pool.reduce(kernels.mean, new Float64Array(2_000_000), { initial: 0 }), { instanceOf: TypeError, message: /initial/ });
  await t.throwsAsync(pool.reduce(kernels.sum, [1, 2], { initial: '1' }), { instanceOf: TypeError, message: /opts\.initial/ });
  t.is(await pool.reduce(kernels.mean, [1, 2]), 1.5, 'the pool still works');
});

test('empty inputs give the identities', async (t) => {
  for (const empty of [() => [], () => new Float64Array(0), () => new Float32Array(0), () => new Set(), () => (function* () {})(), () => (async function* () {})()]) {
    t.is(await pool.reduce(kernels.sum, empty()), 0);
    t.is(await pool.reduce(kernels.min, empty()), Infinity);
    t.is(await pool.reduce(kernels.max, empty()), -Infinity);
    t.true(Number.isNaN(await pool.reduce(kernels.mean, empty())));
  }
  t.is(await pool.reduce(kernels.sum, [], { map: kernels.exp }), 0);
});

test('min and max of signed zeros: max prefers 0, min prefers -0, in either order', async (t) => {
  t.true(Object.is(await pool.reduce(kernels.max, [-0, 0]), 0));
  t.true(Object.is(await pool.reduce(kernels.max, [0, -0]), 0));
  t.true(Object.is(await pool.reduce(kernels.min, [0, -0]), -0));
  t.true(Object.is(await pool.reduce(kernels.min, [-0, 0]), -0));
  t.true(Object.is(await pool.reduce(kernels.max, [-0, -0]), -0));
});

test('NaN anywhere propagates through sum, min, max and mean', async (t) => {
  for (const n of [1, 9, 1000, 1_000_003]) {
    const base = finiteDoubles(SEED + 4 * n, n);
    for (const at of new Set([0, n >> 1, n - 1])) {
      for (const [typeName, make] of TYPES) {
        const x = make(base.slice());
        x[at] = NaN;
        for (const k of ['sum', 'min', 'max', 'mean']) {
          t.true(Number.isNaN(await pool.reduce(kernels[k], x)), `${k} ${typeName} n=${n} NaN at ${at}`);
        }
      }
    }
  }
  // With infinities: min and max still see the NaN; +Infinity + -Infinity is NaN too.
  t.true(Number.isNaN(await pool.reduce(kernels.min, [-Infinity, NaN])));
  t.true(Number.isNaN(await pool.reduce(kernels.max, [NaN, Infinity])));
  t.true(Number.isNaN(await pool.reduce(kernels.sum, [Infinity, -Infinity])));
  t.is(await pool.reduce(kernels.sum, [Infinity, 1]), Infinity);
  t.is(await pool.reduce(kernels.min, [Infinity, -Infinity, 0]), -Infinity);
  t.is(await pool.reduce(kernels.max, [Infinity, -Infinity, 0]), Infinity);
  // A NaN made by opts.map propagates the same way.
  const big = new Float64Array(1_000_003).fill(4);
  big[777_777] = -1;
  t.true(Number.isNaN(await pool.reduce(kernels.max, big, { map: kernels.sqrt })));
  t.true(Number.isNaN(await pool.reduce(kernels.min, big, { map: kernels.log })));
});

test('reductions are deterministic: the same input twice, and with pools of 1 and 2 processes', async (t) => {
  const one = new Pool(1);
  const two = new Pool(2);
  t.teardown(() => Promise.all([one.terminate(), two.terminate()]));
  const x = finiteDoubles(SEED + 5, 3_000_017);
  const x32 = Float32Array.from(x);
  const cases = [
    ['sum', x, {}],
    ['mean', x, {}],
    ['sum', x, { map: kernels.square }],
    ['sum', x, { chunksize: 10_007 }],
    ['mean', x, { chunksize: 333 }],
    ['sum', x32, {}],
    ['min', x, {}],
    ['max', x, { map: kernels.sin }],
  ];
  for (const [k, data, opts] of cases) {
    const results = [
      await pool.reduce(kernels[k], data, opts),
      await pool.reduce(kernels[k], data, opts),
      await one.reduce(kernels[k], data, opts),
      await two.reduce(kernels[k], data, opts),
      ...(await Promise.all([two.reduce(kernels[k], data, opts), one.reduce(kernels[k], data, opts)])),
    ];
    t.true(results.every((r) => Object.is(r, results[0])), `${k} ${JSON.stringify(Object.keys(opts))}: ${results.join(' ')} (seed ${SEED})`);
  }
});

test('a map kernel passed to reduce is a TypeError pointing to opts.map', async (t) => {
  for (const k of [kernels.square, kernels.sqrt, kernels.affine(1, 2)]) {
    await t.throwsAsync(pool.reduce(k, [1, 2]), { instanceOf: TypeError, message: /opts\.map/ });
  }
  await t.throwsAsync(pool.reduce(kernels.square, new Float64Array(2_000_000)), { instanceOf: TypeError, message: /opts\.map/ });
  t.is(await pool.reduce(kernels.sum, [1, 2]), 3);
});

test('a reduce kernel passed to map, or as opts.map, is a TypeError mentioning reduce', async (t) => {
  for (const k of [kernels.sum, kernels.min, kernels.max, kernels.mean]) {
    await t.throwsAsync(pool.map(k, [1, 2]), { instanceOf: TypeError, message: /reduc/ });
    await t.throwsAsync(pool.map(k, new Float64Array(2)), { instanceOf: TypeError, message: /reduc/ });
    await t.throwsAsync(pool.reduce(kernels.sum, [1, 2], { map: k }), { instanceOf: TypeError, message: /opts\.map.*reduc/ });
  }
  await t.throwsAsync(pool.reduce(kernels.sum, [1, 2], { map: (x) => x }), { instanceOf: TypeError, message: /opts\.map/ });
  await t.throwsAsync(pool.reduce(kernels.sum, [1, 2], { map: 'square' }), { instanceOf: TypeError, message: /opts\.map/ });
  await t.throwsAsync(pool.reduce('sum', [1, 2]), { instanceOf: TypeError, message: /reduc/ });
  t.deepEqual(await pool.map(kernels.square, [2]), [4]);
});
