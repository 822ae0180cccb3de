// Property tests: for random inputs, chunk sizes and pool sizes, the pool's map, imap,
// imapUnordered and starmap agree with Array.prototype.map, and no item is lost or doubled.
import test from 'ava';
import fc from 'fast-check';
import { Pool } from '../dist/index.mjs';

const NUM_RUNS = 50;

// A few pools, made once per (processes, inline) and reused by every run. `inline: false`
// makes every call go to the workers; the default may run a call measured cheap here.
const pools = new Map();
function poolFor(processes, inline) {
  const key = `${processes}/${inline}`;
  let p = pools.get(key);
  if (!p) pools.set(key, (p = new Pool(inline ? { processes } : { processes, inline: false })));
  return p;
}
test.after.always(() => Promise.all([...pools.values()].map((p) => p.terminate())));

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

async function collect(iterable) {
  const out = [];
  for await (const x of iterable) out.push(x);
  return out;
}

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
    t.timeout(60_000);
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
      { numRuns: NUM_RUNS },
    );
  });
}

test('no item is lost or duplicated: unique ids through map, imap and imapUnordered', async (t) => {
  t.timeout(60_000);
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
    { numRuns: NUM_RUNS },
  );
});

test('map over a Float64Array equals the element-wise map, as a Float64Array', async (t) => {
  t.timeout(60_000);
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
    { numRuns: NUM_RUNS },
  );
});

test('starmap equals the spread map', async (t) => {
  t.timeout(60_000);
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
    { numRuns: NUM_RUNS },
  );
});
