// Property tests: kernel maps and reductions equal their JS definitions for random data,
// random chunk sizes and random pool sizes.
import test from 'ava';
import fc from 'fast-check';
import { Pool, kernels } from '../dist/index.mjs';
import { firstMismatch, randomDoubles } from './support/numeric.mjs';

const pools = new Map();
const poolOf = (processes) => {
  if (!pools.has(processes)) pools.set(processes, new Pool({ processes }));
  return pools.get(processes);
};
test.after.always(() => Promise.all([...pools.values()].map((p) => p.terminate())));

const NUM_RUNS = 100;
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
  await fc.assert(
    fc.asyncProperty(asArrayOrTyped(doubles()), chunksize, processes, async (x, cs, procs) => {
      const got = await poolOf(procs).map(kernels.square, x, { chunksize: cs });
      if (Array.isArray(x) !== Array.isArray(got)) throw new Error('result type');
      return equalElementwise(got, Array.prototype.map.call(x, (v) => v * v));
    }),
    { numRuns: NUM_RUNS },
  );
  t.pass('fast-check found no counterexample');
});

test('map(kernels.affine(a, b)) equals Array.prototype.map of a * x + b', async (t) => {
  await fc.assert(
    fc.asyncProperty(asArrayOrTyped(doubles()), param, param, chunksize, processes, async (x, a, b, cs, procs) => {
      const got = await poolOf(procs).map(kernels.affine(a, b), x, { chunksize: cs });
      return equalElementwise(got, Array.prototype.map.call(x, (v) => a * v + b));
    }),
    { numRuns: NUM_RUNS },
  );
  t.pass('fast-check found no counterexample');
});

test('map over a Float32Array equals Math.fround of the double result', async (t) => {
  await fc.assert(
    fc.asyncProperty(doubles(), param, chunksize, processes, async (x64, a, cs, procs) => {
      const x = Float32Array.from(x64);
      const got = await poolOf(procs).map(kernels.affine(a, 1), x, { chunksize: cs });
      if (!(got instanceof Float32Array)) throw new Error('result type');
      return equalElementwise(got, Array.from(x, (v) => Math.fround(a * v + 1)));
    }),
    { numRuns: NUM_RUNS },
  );
  t.pass('fast-check found no counterexample');
});

// Math.max(-0, 0) is 0 and Math.min(0, -0) is -0, but kernels.max/min treat the two zeros
// as equal and may return either (reported as a deviation); every other value must match.
const sameMinMax = (got, want) => Object.is(got, want) || (got === 0 && want === 0);

test('reduce(kernels.max / kernels.min) equals Math.max / Math.min for non-empty NaN-free input', async (t) => {
  await fc.assert(
    fc.asyncProperty(asArrayOrTyped(doubles({ noNaN: true, minLength: 1 })), chunksize, processes, async (x, cs, procs) => {
      const pool = poolOf(procs);
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
    { numRuns: NUM_RUNS },
  );
  t.pass('fast-check found no counterexample');
});

test('reduce(kernels.max / kernels.min) is NaN when any element is NaN', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.float64Array({ minLength: 1, maxLength: 3000 }), fc.nat(), chunksize, processes, async (x, at, cs, procs) => {
      x[at % x.length] = NaN;
      const pool = poolOf(procs);
      return Number.isNaN(await pool.reduce(kernels.max, x, { chunksize: cs })) && Number.isNaN(await pool.reduce(kernels.min, x, { chunksize: cs }));
    }),
    { numRuns: NUM_RUNS },
  );
  t.pass('fast-check found no counterexample');
});

test('reduce(kernels.sum) of small integers is exact, whatever the chunking', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: -1e6, max: 1e6 }), { maxLength: 3000 }), chunksize, processes, async (x, cs, procs) => {
      const want = x.reduce((s, v) => s + v, 0);
      return (await poolOf(procs).reduce(kernels.sum, x, { chunksize: cs })) === want;
    }),
    { numRuns: NUM_RUNS },
  );
  t.pass('fast-check found no counterexample');
});
