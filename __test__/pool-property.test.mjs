import test from 'ava';
import fc from 'fast-check';
import { Pool, kernels } from '../dist/index.mjs';

const pools = new Map();
const poolOf = (n) => {
  if (!pools.has(n)) pools.set(n, new Pool({ processes: n, inline: n !== 3 }));
  return pools.get(n);
};
test.after.always(() => Promise.all([...pools.values()].map((p) => p.terminate())));

const collect = async (it) => { const out = []; for await (const x of it) out.push(x); return out; };
const items = fc.oneof(fc.array(fc.integer()), fc.array(fc.double()), fc.array(fc.string()), fc.array(fc.oneof(fc.integer(), fc.string(), fc.boolean())));
const chunk = fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined });
const procs = fc.integer({ min: 1, max: 3 });

test('map equals Array.prototype.map; imap equals map; imapUnordered is a permutation', async (t) => {
  const f = (x) => (typeof x === 'number' ? x * 2 : `${x}!`);
  await fc.assert(
    fc.asyncProperty(items, chunk, procs, async (xs, chunksize, n) => {
      const pool = poolOf(n);
      const want = xs.map(f);
      const opts = { chunksize };
      const got = await pool.map(f, xs, opts);
      const inOrder = await collect(pool.imap(f, xs, opts));
      const any = await collect(pool.imapUnordered(f, xs, opts));
      const key = (v) => `${typeof v}:${Object.is(v, -0) ? '-0' : String(v)}`;
      return (
        got.length === want.length && got.every((v, i) => Object.is(v, want[i])) &&
        inOrder.every((v, i) => Object.is(v, want[i])) && inOrder.length === want.length &&
        JSON.stringify(any.map(key).sort()) === JSON.stringify(want.map(key).sort())
      );
    }),
    { numRuns: 40 },
  );
  t.pass();
});

test('starmap equals the spread map', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(fc.integer(), fc.integer())), chunk, procs, async (pairs, chunksize, n) => {
      const got = await poolOf(n).starmap((a, b) => a - b, pairs, { chunksize });
      return got.length === pairs.length && got.every((v, i) => Object.is(v, pairs[i][0] - pairs[i][1]));
    }),
    { numRuns: 30 },
  );
  t.pass();
});

test('kernel map and reductions equal their JS definitions', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.double({ noNaN: true }), { minLength: 1 }), chunk, procs, async (xs, chunksize, n) => {
      const pool = poolOf(n);
      const sq = await pool.map(kernels.affine(3, -2), xs, { chunksize });
      const okMap = sq.every((v, i) => Object.is(v, 3 * xs[i] + -2));
      const okMax = Object.is(await pool.reduce(kernels.max, xs, { chunksize }), xs.reduce((a, b) => (b > a ? b : a), -Infinity));
      const okMin = Object.is(await pool.reduce(kernels.min, xs, { chunksize }), xs.reduce((a, b) => (b < a ? b : a), Infinity));
      return okMap && okMax && okMin;
    }),
    { numRuns: 60 },
  );
  t.pass();
});
