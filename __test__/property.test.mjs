// Property tests (fast-check): for random inputs, chunk sizes and pool sizes, kernel maps
// and reductions equal their JS definitions, and a pool's map, imap, imapUnordered and
// starmap of JS functions agree with Array.prototype.map, losing or doubling no item.
// npm test runs a few cases of each; FERROPOOL_LONG=1 (npm run test:soak) twenty times as
// many. A failure prints fast-check's seed and path to replay it.
import test from 'ava';
import fc from 'fast-check';
import { Pool, kernels } from '../dist/index.mjs';
import { collect, firstMismatch, randomDoubles, runs } from './support/helpers.mjs';

// A few pools, made once per (processes, inline) and reused by every run. With `inline: true`
// a call measured cheap may run on this thread; `inline: false` (the default) sends every
// call to the workers.
const pools = new Map();
function poolFor(processes, inline) {
  const key = `${processes}/${inline}`;
  let p = pools.get(key);
  if (!p) pools.set(key, (p = new Pool({ processes, inline })));
  return p;
}
test.after.always(() => Promise.all([...pools.values()].map((p) => p.terminate())));
const TIMEOUT = runs(60_000, 900_000);

// --- kernels -------------------------------------------------------------------------

const KERNEL_RUNS = runs(25, 500);
// Mostly small arrays (fast-check's own, with NaN, ±Infinity, -0 and shrinking); now and
// then a big seeded one, so the native pool's chunking is exercised too.
const bigDoubles = (opts) =>
  fc.record({ n: fc.integer({ min: 100_000, max: 300_000 }), seed: fc.integer() }).map(({ n, seed }) => {
    const x = randomDoubles(seed, n, { specials: !opts?.noNaN });
    if (opts?.noNaN) for (let i = 0; i < n; i += 9973) x[i] = i % 2 ? -0 : 0;
    return x;
  });
const doubles = (opts = {}) =>
  fc.oneof(
    { weight: 9, arbitrary: fc.float64Array({ maxLength: 3000, ...opts }) },
    { weight: 1, arbitrary: bigDoubles(opts) },
  );
const asArrayOrTyped = (arb) => fc.tuple(arb, fc.boolean()).map(([x, plain]) => (plain ? Array.from(x) : x));
const chunksize = fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined });
const processes = fc.integer({ min: 1, max: 4 });
const param = fc.double({ noNaN: true });

/** Object.is on every element, with a description of the first difference. */
function equalElementwise(got, want) {
  const mismatch = firstMismatch(got, want);
  if (mismatch) throw new Error(mismatch);
  return true;
}

test('map(kernels.square) equals Array.prototype.map', async (t) => {
  t.timeout(TIMEOUT);
  await fc.assert(
    fc.asyncProperty(asArrayOrTyped(doubles()), chunksize, processes, async (x, cs, procs) => {
      const got = await poolFor(procs, false).map(kernels.square, x, { chunksize: cs });
      if (Array.isArray(x) !== Array.isArray(got)) throw new Error('result type');
      return equalElementwise(got, Array.prototype.map.call(x, (v) => v * v));
    }),
    { numRuns: KERNEL_RUNS },
  );
  t.pass('fast-check found no counterexample');
});

test('map(kernels.affine(a, b)) equals Array.prototype.map of a * x + b', async (t) => {
  t.timeout(TIMEOUT);
  await fc.assert(
    fc.asyncProperty(asArrayOrTyped(doubles()), param, param, chunksize, processes, async (x, a, b, cs, procs) => {
      const got = await poolFor(procs, false).map(kernels.affine(a, b), x, { chunksize: cs });
      return equalElementwise(got, Array.prototype.map.call(x, (v) => a * v + b));
    }),
    { numRuns: KERNEL_RUNS },
  );
  t.pass('fast-check found no counterexample');
});

test('map over a Float32Array equals Math.fround of the double result', async (t) => {
  t.timeout(TIMEOUT);
  await fc.assert(
    fc.asyncProperty(doubles(), param, chunksize, processes, async (x64, a, cs, procs) => {
      const x = Float32Array.from(x64);
      const got = await poolFor(procs, false).map(kernels.affine(a, 1), x, { chunksize: cs });
      if (!(got instanceof Float32Array)) throw new Error('result type');
      return equalElementwise(got, Array.from(x, (v) => Math.fround(a * v + 1)));
    }),
    { numRuns: KERNEL_RUNS },
  );
  t.pass('fast-check found no counterexample');
});

// Math.max(-0, 0) is 0 and Math.min(0, -0) is -0, but kernels.max/min treat the two zeros
// as equal and may return either (reported as a deviation); every other value must match.
const sameMinMax = (got, want) => Object.is(got, want) || (got === 0 && want === 0);

test('reduce(kernels.max / kernels.min) equals Math.max / Math.min for non-empty NaN-free input', async (t) => {
  t.timeout(TIMEOUT);
  await fc.assert(
    fc.asyncProperty(asArrayOrTyped(doubles({ noNaN: true, minLength: 1 })), chunksize, processes, async (x, cs, procs) => {
      const pool = poolFor(procs, false);
      let max = -Infinity;
      let min = Infinity;
      for (let i = 0; i < x.length; i++) {
        max = Math.max(max, x[i]);
        min = Math.min(min, x[i]);
      }
      const [gotMax, gotMin] = await Promise.all([pool.reduce(kernels.max, x, { chunksize: cs }), pool.reduce(kernels.min, x, { chunksize: cs })]);
      if (!sameMinMax(gotMax, max)) throw new Error(`max ${gotMax} vs ${max}`);
      if (!sameMinMax(gotMin, min)) throw new Error(`min ${gotMin} vs ${min}`);
      return true;
    }),
    { numRuns: KERNEL_RUNS },
  );
  t.pass('fast-check found no counterexample');
});

test('reduce(kernels.max / kernels.min) is NaN when any element is NaN', async (t) => {
  t.timeout(TIMEOUT);
  await fc.assert(
    fc.asyncProperty(fc.float64Array({ minLength: 1, maxLength: 3000 }), fc.nat(), chunksize, processes, async (x, at, cs, procs) => {
      x[at % x.length] = NaN;
      const pool = poolFor(procs, false);
      return Number.isNaN(await pool.reduce(kernels.max, x, { chunksize: cs })) && Number.isNaN(await pool.reduce(kernels.min, x, { chunksize: cs }));
    }),
    { numRuns: KERNEL_RUNS },
  );
  t.pass('fast-check found no counterexample');
});

test('reduce(kernels.sum) of small integers is exact, whatever the chunking', async (t) => {
  t.timeout(TIMEOUT);
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: -1e6, max: 1e6 }), { maxLength: 3000 }), chunksize, processes, async (x, cs, procs) => {
      const want = x.reduce((s, v) => s + v, 0);
      return (await poolFor(procs, false).reduce(kernels.sum, x, { chunksize: cs })) === want;
    }),
    { numRuns: KERNEL_RUNS },
  );
  t.pass('fast-check found no counterexample');
});

// --- JS functions --------------------------------------------------------------------

const JS_RUNS = runs(12, 250);
const arbPool = fc.record({ processes: fc.integer({ min: 1, max: 3 }), inline: fc.boolean() });
const arbChunksize = fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined });
const opts = (chunksize) => (chunksize === undefined ? undefined : { chunksize });

// Inputs of each kind, and a self-contained function for each.
const kinds = {
  integers: { items: fc.integer(), fn: (x) => x * 3 - 1 },
  smallIntegers: { items: fc.integer({ min: -1000, max: 1000 }), fn: (x) => x * x },
  doubles: { items: fc.double(), fn: (x) => x / 2 + 0.25 },
  strings: { items: fc.string(), fn: (s) => `${s.length}:${s.toUpperCase()}` },
  mixed: {
    items: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.array(fc.integer(), { maxLength: 3 })),
    fn: (x) => [typeof x, x],
  },
};

/** A canonical text of a result, telling -0, NaN, undefined and null apart. */
function key(v) {
  if (Array.isArray(v)) return `[${v.map(key).join(',')}]`;
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  return `${typeof v}:${String(v)}`;
}

/** The results as a sorted list of canonical texts: equal lists are permutations. */
function multiset(values) {
  return values.map(key).sort();
}

for (const [name, { items, fn }] of Object.entries(kinds)) {
  test(`map equals Array.prototype.map; imap equals map; imapUnordered is a permutation (${name})`, async (t) => {
    t.timeout(TIMEOUT);
    await fc.assert(
      fc.asyncProperty(fc.array(items, { maxLength: 150 }), arbChunksize, arbPool, async (input, chunksize, { processes, inline }) => {
        const pool = poolFor(processes, inline);
        const expected = input.map((x) => fn(x));
        const mapped = await pool.map(fn, input, opts(chunksize));
        t.true(Array.isArray(mapped));
        t.deepEqual(mapped, expected);
        t.deepEqual(await collect(pool.imap(fn, input, opts(chunksize))), expected);
        const unordered = await collect(pool.imapUnordered(fn, input, opts(chunksize)));
        t.is(unordered.length, expected.length, 'no item lost or duplicated');
        t.deepEqual(multiset(unordered), multiset(expected), 'imapUnordered gives a permutation of the results');
        // A generator input (read lazily) gives the same.
        t.deepEqual(await collect(pool.imap(fn, (function* () { yield* input; })(), opts(chunksize))), expected);
      }),
      { numRuns: JS_RUNS },
    );
  });
}

test('no item is lost or duplicated: unique ids through map, imap and imapUnordered', async (t) => {
  t.timeout(TIMEOUT);
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 400 }), arbChunksize, arbPool, async (n, chunksize, { processes, inline }) => {
      const pool = poolFor(processes, inline);
      const ids = Array.from({ length: n }, (_, i) => `id-${i}`);
      const tag = (s) => `${s}!`;
      const expected = ids.map(tag);
      t.deepEqual(await pool.map(tag, ids, opts(chunksize)), expected);
      t.deepEqual(await collect(pool.imap(tag, ids, opts(chunksize))), expected);
      const unordered = await collect(pool.imapUnordered(tag, ids, opts(chunksize)));
      t.is(unordered.length, n);
      t.is(new Set(unordered).size, n);
      t.deepEqual([...unordered].sort(), [...expected].sort());
    }),
    { numRuns: JS_RUNS },
  );
});

test('map over a Float64Array equals the element-wise map, as a Float64Array', async (t) => {
  t.timeout(TIMEOUT);
  await fc.assert(
    fc.asyncProperty(fc.array(fc.double(), { maxLength: 300 }), arbChunksize, arbPool, async (values, chunksize, { processes, inline }) => {
      const pool = poolFor(processes, inline);
      const input = Float64Array.from(values);
      const fn = (x) => x * 1.5 - 2;
      const out = await pool.map(fn, input, opts(chunksize));
      t.true(out instanceof Float64Array);
      t.deepEqual(out, input.map(fn));
      t.deepEqual(input, Float64Array.from(values), 'the input is unchanged');
      const f32 = Float32Array.from(values);
      const out32 = await pool.map(fn, f32, opts(chunksize));
      t.true(out32 instanceof Float32Array);
      t.deepEqual(out32, f32.map(fn));
    }),
    { numRuns: JS_RUNS },
  );
});

test('starmap equals the spread map', async (t) => {
  t.timeout(TIMEOUT);
  const pairs = fc.array(fc.tuple(fc.integer({ min: -1e6, max: 1e6 }), fc.integer({ min: -1e6, max: 1e6 })), { maxLength: 150 });
  const tuples = fc.array(fc.array(fc.oneof(fc.integer(), fc.string()), { maxLength: 4 }), { maxLength: 100 });
  await fc.assert(
    fc.asyncProperty(pairs, tuples, arbChunksize, arbPool, async (ps, ts, chunksize, { processes, inline }) => {
      const pool = poolFor(processes, inline);
      const mul = (a, b) => a * 31 + b;
      t.deepEqual(await pool.starmap(mul, ps, opts(chunksize)), ps.map((p) => mul(...p)));
      const join = (...a) => `${a.length}|${a.join(',')}`;
      t.deepEqual(await pool.starmap(join, ts, opts(chunksize)), ts.map((a) => join(...a)));
    }),
    { numRuns: JS_RUNS },
  );
});
