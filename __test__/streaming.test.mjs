// Streaming by default (imap/imapUnordered without a chunksize) and small numeric maps sent
// as one express-lane call: behaviour only (order, types, errors, read-ahead, cancellation).
// Their speed is measured by `npm run bench` (W4m, W7, W8), never here.
import { createRequire } from 'node:module';
import test from 'ava';
import fc from 'fast-check';
import { AbortError, Pool, TimeoutError } from '../dist/index.mjs';

// The express lane is internal; its calls are counted to check the property test below
// really exercised it (the module is the one dist/index.mjs loads).
const { WorkerGroup } = createRequire(import.meta.url)('../dist/engine/worker-group.js');
const laneMaps = { tried: 0, taken: 0 };
const express = WorkerGroup.prototype.express;
WorkerGroup.prototype.express = function (f, args, budgetNs, call, ...rest) {
  const r = express.call(this, f, args, budgetNs, call, ...rest);
  if (call === 1) {
    laneMaps.tried++;
    if (r !== undefined) laneMaps.taken++;
  }
  return r;
};

/** The most items a stream holds: its read-ahead (2 chunks a worker) of at most 4,096
 * items each, plus the chunk being read. */
const streamBound = (processes) => (2 * processes + 1) * 4096;

async function collect(it) {
  const out = [];
  for await (const x of it) out.push(x);
  return out;
}

for (const method of ['imap', 'imapUnordered']) {
  test(`${method} over an Array streams by default: the first result comes while the later items wait for it`, async (t) => {
    // Every item but the first waits (on shared memory, not a clock) until this thread has
    // received a result: with the whole input cut into a few big chunks up front, the
    // first result would need those items done, and they would time out waiting.
    const got = new Int32Array(new SharedArrayBuffer(4));
    const pool = new Pool({ processes: 2, initializer: (sab) => (globalThis.got = new Int32Array(sab)), initargs: [got.buffer] });
    t.teardown(() => pool.terminate());
    const task = (x) => {
      if (x === 0) return 0;
      return Atomics.wait(globalThis.got, 0, 0, 10_000) === 'timed-out' ? -1 : x * 2;
    };
    const input = Array.from({ length: 200 }, (_, i) => i);
    const results = [];
    for await (const r of pool[method](task, input)) {
      results.push(r);
      Atomics.store(got, 0, 1);
      Atomics.notify(got, 0);
    }
    t.is(results[0], 0, 'item 0 (the only one that does not wait) first');
    const want = input.map((x) => x * 2);
    t.deepEqual(method === 'imap' ? results : [...results].sort((a, b) => a - b), want, 'every result, none timed out');
  });
}

test('imap without a chunksize keeps input order across growing chunks, and does not send one job an item', async (t) => {
  const pool = new Pool({ processes: 2 });
  t.teardown(() => pool.terminate());
  function* gen(n) {
    for (let i = 0; i < n; i++) yield i % 7 === 0 ? -i : i;
  }
  const n = 20_000;
  const before = pool.stats().chunksDone;
  const out = await collect(pool.imap((x) => x * 3, gen(n)));
  t.deepEqual(out, Array.from(gen(n), (x) => x * 3));
  t.true(pool.stats().chunksDone - before < n / 20, `chunks grow (${pool.stats().chunksDone - before} chunks for ${n} items)`);
  // Mixed items and an async generator: order and values as they were.
  async function* mixed() {
    for (let i = 0; i < 3000; i++) yield i % 3 === 0 ? `s${i}` : i % 3 === 1 ? i : { i };
  }
  const want = [];
  for await (const x of mixed()) want.push(JSON.stringify(x));
  t.deepEqual(await collect(pool.imap((x) => JSON.stringify(x), mixed())), want);
});

test('imap serves next() calls made without awaiting each one in order, and yields the results before an error, then the error', async (t) => {
  const pool = new Pool({ processes: 2 });
  t.teardown(() => pool.terminate());
  const it = pool.imap((x) => x + 1, [1, 2, 3, 4, 5]);
  const all = await Promise.all(Array.from({ length: 7 }, () => it.next()));
  t.deepEqual(
    all.map((r) => (r.done ? 'done' : r.value)),
    [2, 3, 4, 5, 6, 'done', 'done'],
  );
  const got = [];
  const err = await (async () => {
    for await (const x of pool.imap((v) => {
      if (v === 40) throw new RangeError('forty');
      return v * 2;
    }, Array.from({ length: 100 }, (_, i) => i)))
      got.push(x);
  })().catch((e) => e);
  t.is(err.message, 'forty');
  t.is(err.index, 40);
  t.deepEqual(got, Array.from({ length: 40 }, (_, i) => i * 2));
});

test('an endless input is read with bounded read-ahead by default, and closed when the consumer stops', async (t) => {
  const pool = new Pool({ processes: 2 });
  t.teardown(() => pool.terminate());
  let produced = 0;
  let closed = false;
  function* naturals() {
    try {
      for (;;) yield produced++;
    } finally {
      closed = true;
    }
  }
  let consumed = 0;
  let ahead = 0;
  for await (const x of pool.imap((v) => v + 1, naturals())) {
    t.is(x, consumed + 1);
    consumed++;
    ahead = Math.max(ahead, produced - consumed);
    if (consumed === 50_000) break;
  }
  t.true(ahead <= streamBound(2), `read ahead of the consumer by at most ${streamBound(2)} items (was ${ahead})`);
  t.true(closed, "the input's return() ran");
});

test('imap without a chunksize still stops on abort and on timeout', async (t) => {
  const pool = new Pool({ processes: 2 });
  t.teardown(() => pool.terminate());
  function* naturals() {
    for (let i = 0; ; i++) yield i;
  }
  const ac = new AbortController();
  let n = 0;
  await t.throwsAsync(
    async () => {
      for await (const _ of pool.imap((x) => x, naturals(), { signal: ac.signal })) if (++n === 100) ac.abort();
    },
    { instanceOf: AbortError },
  );
  await t.throwsAsync(
    () =>
      collect(
        pool.imap(
          () => {
            for (;;);
          },
          [1, 2, 3],
          { timeout: 200 },
        ),
      ),
    { instanceOf: TimeoutError },
  );
  // The pool is still usable (the spinning workers were replaced).
  t.deepEqual(await collect(pool.imap((x) => -x, [1, 2, 3])), [-1, -2, -3]);
});

// Small maps: once the pool has measured the function, a map of numbers predicted to take
// microseconds goes through the express lane as one call. Whatever way it goes, it must
// give what a serial map gives.

const lanePool = new Pool({ processes: 2 });
test.after.always(() => lanePool.terminate());

/** What `pool.map(fn, input)` must give, computed serially. */
async function serialMap(fn, input) {
  const results = [];
  for (const x of input) results.push(await fn(x));
  // A typed array's numeric results come as an array of its type (an Int32Array's
  // converted as its own map converts them); anything else as an Array.
  if (!ArrayBuffer.isView(input) || !results.every((r) => typeof r === 'number')) return results;
  return input.constructor.from(results);
}

const fns = {
  sqrt: (x) => Math.sqrt(Math.abs(x)),
  affine: (x) => x * 3 - 1,
  // Some results are not numbers: the answer is an array.
  labels: (x) => (x > 0 ? x : `neg${x}`),
  // Throws at the first item over 100: the error names its input position.
  throws: (x) => {
    if (x > 100) throw new RangeError(`too big: ${x}`);
    return x / 2;
  },
  // An async function: awaited per item.
  async: async (x) => x + 0.5,
};

const arbInput = fc.oneof(
  fc.array(fc.integer({ min: -200, max: 200 }), { maxLength: 300 }),
  fc.array(fc.double({ noNaN: true, min: -300, max: 300 }), { maxLength: 300 }).map((a) => Float64Array.from(a)),
  fc.array(fc.float({ noNaN: true, min: -300, max: 300 }), { maxLength: 300 }).map((a) => Float32Array.from(a)),
  // Read in place in the lane when its elements are as wide as the results; an Int32Array's
  // are not, and is copied out first. Its results come back as an Int32Array.
  fc.array(fc.integer({ min: -200, max: 200 }), { maxLength: 300 }).map((a) => Int32Array.from(a)),
);

async function outcome(promise) {
  try {
    return { ok: true, value: await promise };
  } catch (err) {
    return { ok: false, name: err.name, message: err.message, index: err.index };
  }
}

async function expected(fn, input) {
  try {
    return { ok: true, value: await serialMap(fn, input) };
  } catch (err) {
    const index = Array.from(input).findIndex((x) => x > 100);
    return { ok: false, name: err.name, message: err.message, index };
  }
}

/**
 * A map's outcome against the serial one. A map split into chunks on two workers rejects on
 * the first failure in time (API.md: "map rejects on the first failure"), which need not be
 * the lowest failing position: a failure must name a position whose item fails, with the
 * error that item throws serially.
 */
function sameOutcome(t, got, want, input, what) {
  if (want.ok || got.ok) {
    t.deepEqual(got, want, what);
    return;
  }
  const failing = Array.from(input).flatMap((x, i) => (x > 100 ? [i] : []));
  t.true(failing.includes(got.index), `${what}: index ${got.index} is one of the failing positions ${failing.slice(0, 8)}`);
  t.deepEqual(got, { ...want, index: got.index, message: `too big: ${input[got.index]}` }, what);
}

test('small numeric maps (through the express lane once measured) give what a serial map gives: values, types, errors with their index', async (t) => {
  // Measured once each, the normal way, so the next calls of each are "small".
  for (const fn of Object.values(fns)) await outcome(lanePool.map(fn, new Float64Array([1, 2, 3])));
  const before = { ...laneMaps };
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...Object.keys(fns)), arbInput, async (name, input) => {
      const fn = fns[name];
      const want = await expected(fn, input);
      const got = await outcome(lanePool.map(fn, input));
      // The normal path, for comparison: a chunksize makes a call ineligible for the lane.
      const normal = await outcome(lanePool.map(fn, input, { chunksize: 64 }));
      const what = `${name} over ${input.constructor.name}(${input.length})`;
      sameOutcome(t, got, want, input, what);
      sameOutcome(t, normal, want, input, `${what}, chunksize 64`);
      if (got.ok) t.is(got.value.constructor, want.value.constructor);
    }),
    { numRuns: 150 },
  );
  t.true(laneMaps.tried > before.tried, 'small maps were offered to the express lane');
  t.true(laneMaps.taken > before.taken, `some went through it (${laneMaps.taken - before.taken} of ${laneMaps.tried - before.tried})`);
});

test('small maps with out, signal or onProgress keep their semantics', async (t) => {
  const sq = (x) => x * x;
  const input = new Float64Array([1, 2, 3, 4]);
  for (let i = 0; i < 3; i++) await lanePool.map(sq, input);
  const out = new Float64Array(4);
  t.is(await lanePool.map(sq, input, { out }), out);
  t.deepEqual([...out], [1, 4, 9, 16]);
  const ac = new AbortController();
  ac.abort();
  await t.throwsAsync(() => lanePool.map(sq, input, { signal: ac.signal }), { instanceOf: AbortError });
  const seen = [];
  t.deepEqual([...(await lanePool.map(sq, input, { onProgress: (done, total) => seen.push([done, total]) }))], [1, 4, 9, 16]);
  t.deepEqual(seen.at(-1), [4, 4]);
  // A plain array of numbers gives a plain array.
  t.deepEqual(await lanePool.map(sq, [1, 2, 3]), [1, 4, 9]);
  // An error ends with the frames of the call, however the call went.
  const odd = (x) => {
    if (x % 2) throw new TypeError(`odd ${x}`);
    return x;
  };
  for (let i = 0; i < 3; i++) await lanePool.map(odd, new Float64Array([2, 4]));
  for (let i = 0; i < 5; i++) {
    const err = await lanePool.map(odd, new Float64Array([2, 4, 5, 6])).catch((e) => e);
    t.is(err.message, 'odd 5');
    t.is(err.index, 2);
    t.regex(err.stack, /streaming\.test\.mjs/);
  }
});
