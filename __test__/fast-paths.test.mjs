// The fast paths of JS-function calls: numbers read and written in place by the workers
// (arrays of numbers included), and small jobs the caller waits for on its own thread.
import test from 'ava';
import { Pool, PoolStateError } from '../dist/index.mjs';

const pool = new Pool(2);
test.after.always(() => pool.terminate());

test('arrays of numbers: results are a plain array, equal to Array.prototype.map', async (t) => {
  const ints = Array.from({ length: 10_000 }, (_, i) => i - 5000);
  const doubles = ints.map((x) => x / 7);
  const edge = [0, -0, NaN, Infinity, -Infinity, 2 ** 31, -(2 ** 31), 1.5, Number.MIN_VALUE];
  for (const input of [ints, doubles, edge]) {
    const out = await pool.map((x) => x * 3 - 1, input);
    t.true(Array.isArray(out));
    t.deepEqual(out, input.map((x) => x * 3 - 1));
  }
  const signs = await pool.map((x) => -x, [0, -0]);
  t.true(Object.is(signs[0], -0) && Object.is(signs[1], 0));
});

test('numbers in, anything out: a result that is not a number still comes back in order', async (t) => {
  const input = Array.from({ length: 1000 }, (_, i) => i);
  const out = await pool.map((x) => (x % 97 === 0 ? `s${x}` : x % 89 === 0 ? { x } : x * 2), input, { chunksize: 100 });
  t.deepEqual(out, input.map((x) => (x % 97 === 0 ? `s${x}` : x % 89 === 0 ? { x } : x * 2)));
  const typed = await pool.map((x) => (x > 500 ? null : x), Float64Array.from(input));
  t.deepEqual(typed, input.map((x) => (x > 500 ? null : x)));
});

test('the item that throws is named by its index, for typed arrays and arrays of numbers', async (t) => {
  for (const input of [Float64Array.from({ length: 10 }, (_, i) => i), Array.from({ length: 10 }, (_, i) => i)]) {
    const err = await t.throwsAsync(pool.map((x) => { if (x === 7) throw new RangeError('seven'); return x; }, input, { chunksize: 3 }), { instanceOf: RangeError });
    t.is(err.index, 7);
  }
});

test('a hot loop of small calls settles every call with its own result, errors included', async (t) => {
  const row = Float64Array.from({ length: 1000 }, (_, i) => i);
  const sum = (a) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]; return s; };
  const want = sum(row);
  // The first calls teach the pool what a call costs; the later ones take the small-job path.
  for (let c = 0; c < 300; c++) {
    t.is(await pool.apply(sum, [row]), want);
    const mapped = await pool.map((x) => x * 2, [c, c + 1, c + 2]);
    t.deepEqual(mapped, [2 * c, 2 * c + 2, 2 * c + 4]);
    if (c % 50 === 0) {
      await t.throwsAsync(pool.apply((n) => { throw new Error(`no ${n}`); }, [c]), { message: `no ${c}` });
    }
  }
  // Concurrent small calls, and small calls mixed with a large one.
  const many = await Promise.all(Array.from({ length: 50 }, (_, i) => pool.apply((a, b) => a * b, [i, 2])));
  t.deepEqual(many, Array.from({ length: 50 }, (_, i) => i * 2));
  const [big, small] = await Promise.all([pool.map((x) => x + 1, Array.from({ length: 100_000 }, (_, i) => i)), pool.apply(sum, [row])]);
  t.is(big[99_999], 100_000);
  t.is(small, want);
});

test('map with opts.out writes a JS function\'s results into the caller\'s typed array', async (t) => {
  const input = Float64Array.from({ length: 50_000 }, (_, i) => i);
  const out = new Float64Array(input.length);
  const r = await pool.map((x) => x * x, input, { out });
  t.is(r, out);
  t.is(out[49_999], 49_999 ** 2);
  const f32 = Float32Array.from([1, 2, 3]);
  t.is(await pool.map((x) => -x, f32, { out: f32 }), f32);
  t.deepEqual([...f32], [-1, -2, -3]);
  await t.throwsAsync(pool.map((x) => x, input, { out: new Float32Array(input.length) }), { instanceOf: TypeError, message: /opts.out must be a Float64Array/ });
  await t.throwsAsync(pool.map((x) => x, input, { out: new Float64Array(3) }), { instanceOf: RangeError, message: /length 3/ });
  await t.throwsAsync(pool.map((x) => x, [1, 2], { out: new Float64Array(2) }), { instanceOf: TypeError, message: /needs a Float64Array or Float32Array input/ });
  await t.throwsAsync(pool.map((x) => (x === 7 ? 'seven' : x), input, { out }), { instanceOf: TypeError, message: /result for input\[7\] is a string/ });
  t.throws(() => pool.imap((x) => x, input, { out }), { instanceOf: TypeError, message: /opts.out is not an option/ });
  t.deepEqual(await pool.map((x) => x + 1, [1, 2]), [2, 3]);
});

/** Calls `fn` on `args` until the pool has measured it (the express lane needs a cost). */
async function warm(p, fn, args) {
  for (let i = 0; i < 20; i++) await p.apply(fn, args);
}

test('express lane: values, errors, unclonable and large results, async functions', async (t) => {
  const p = new Pool(2);
  t.teardown(() => p.terminate());
  const echo = (x, a) => (x === 0 ? a.length : x === 1 ? { sum: a[0] + a[1] } : x === 2 ? 'big'.repeat(200_000) : x === 3 ? Symbol('s') : x === 4 ? Promise.resolve(a[2] * 2) : x === 5 ? Promise.reject(new RangeError('later')) : (() => { throw new TypeError(`bad ${x}`); })());
  const arr = Float64Array.from([1, 2, 3]);
  await warm(p, echo, [0, arr]);
  for (let round = 0; round < 50; round++) {
    t.is(await p.apply(echo, [0, arr]), 3);
    t.deepEqual(await p.apply(echo, [1, arr]), { sum: 3 });
    t.is(await p.apply(echo, [4, arr]), 6);
    const e = await t.throwsAsync(p.apply(echo, [9, arr]), { instanceOf: TypeError, message: 'bad 9' });
    t.is(e.index, 0);
    await t.throwsAsync(p.apply(echo, [5, arr]), { instanceOf: RangeError, message: 'later' });
  }
  t.is((await p.apply(echo, [2, arr])).length, 600_000);
  await t.throwsAsync(p.apply(echo, [3, arr]), { message: /cannot be sent back/ });
  // The arguments are the caller's values, copied: the worker's changes do not show here.
  const mut = Float64Array.from([5, 6]);
  await warm(p, (a) => { a[0] = 99; return a[0]; }, [mut]);
  t.is(await p.apply((a) => { a[0] = 99; return a[0]; }, [mut]), 99);
  t.is(mut[0], 5);
});

test('microtasks that calls queue have run once their worker is idle (express calls run back to back, synchronously)', async (t) => {
  const p = new Pool(1);
  t.teardown(() => p.terminate());
  const f = (x) => {
    if (x < 0) return globalThis.queued ?? 0;
    queueMicrotask(() => {
      globalThis.queued = (globalThis.queued ?? 0) + 1;
    });
    return x;
  };
  const input = new Float64Array([1, 2, 3]);
  for (let i = 0; i < 30; i++) t.deepEqual([...(await p.map(f, input))], [1, 2, 3]);
  for (let i = 0; i < 30; i++) t.is(await p.apply(f, [1]), 1);
  await new Promise((resolve) => setTimeout(resolve, 50)); // the worker goes idle
  t.is(await p.apply(f, [-1]), 30 * 3 + 30);
});

test('express lane: a worker that dies mid-call fails it with WorkerCrashedError, and the pool goes on', async (t) => {
  const p = new Pool(2);
  t.teardown(() => p.terminate());
  const maybeExit = (x) => {
    if (x < 0) process.exit(9);
    return x + 1;
  };
  await warm(p, maybeExit, [1]);
  const err = await t.throwsAsync(p.apply(maybeExit, [-1]), { name: 'WorkerCrashedError' });
  t.is(err.exitCode, 9);
  for (let i = 0; i < 50; i++) t.is(await p.apply(maybeExit, [i]), i + 1);
  t.deepEqual(await p.map((x) => x * 2, [1, 2]), [2, 4]);
});

test('express lane: a long call outlives the polling; terminate() rejects a pending one', async (t) => {
  const p = new Pool(2);
  const wait = (ms) => { const end = Date.now() + ms; while (Date.now() < end); return ms; };
  await warm(p, wait, [0]);
  // Predicted to take microseconds, it takes 30 ms: the caller stops polling, the note settles it.
  t.is(await p.apply(wait, [30]), 30);
  t.is(await p.apply(wait, [0]), 0);
  const forever = p.apply((ms) => { const end = Date.now() + ms; while (Date.now() < end); return ms; }, [0]);
  t.is(await forever, 0);
  const stuck = p.apply(wait, [60_000]);
  await new Promise((r) => setTimeout(r, 50));
  await p.terminate();
  await t.throwsAsync(stuck, { name: 'PoolStateError' });
});

test('an imap still reading its input when the pool is terminated rejects with PoolStateError', async (t) => {
  const p = new Pool(2);
  const xs = Array.from({ length: 299 }, (_, i) => i);
  const consumed = (async () => {
    const out = [];
    for await (const r of p.imapUnordered((x) => x * 2, xs, { chunksize: 5 })) out.push(r);
    return out;
  })();
  await p.terminate();
  await t.throwsAsync(consumed, { instanceOf: PoolStateError });
});

test('applies batched into one job whose workers die: each rejects alone, the others run, none hangs', async (t) => {
  // One worker: the batch's chunks run one after another, so the first death comes while
  // the other calls are still unclaimed (they used to be skipped, and never settled).
  const p = new Pool(1);
  t.teardown(() => p.terminate());
  const calls = [p.apply((c) => process.exit(c), [3]), p.apply((x) => x * 2, [21]), p.apply((c) => process.exit(c), [6]), p.apply((x) => x + 1, [1])];
  const settled = await Promise.allSettled(calls);
  t.deepEqual(settled.map((s) => s.status), ['rejected', 'fulfilled', 'rejected', 'fulfilled']);
  t.is(settled[0].reason.name, 'WorkerCrashedError');
  t.is(settled[1].value, 42);
  t.is(settled[2].reason.exitCode, 6);
  t.is(settled[3].value, 2);
  t.deepEqual(await p.map((x) => x + 1, [1, 2]), [2, 3]);
});

test('express lane: module tasks named afresh on every call, and calls while a long map occupies the workers', async (t) => {
  const p = new Pool(2);
  t.teardown(() => p.terminate());
  const url = new URL('./fixtures/tasks/esm.mjs', import.meta.url);
  const { task } = await import('../dist/index.mjs');
  for (let i = 0; i < 300; i++) t.is(await p.apply(task(url, 'default'), [i]), i * 2);
  const long = p.map((ms) => { const end = Date.now() + ms; while (Date.now() < end); return ms; }, [300, 300], { chunksize: 1 });
  const add = (a, b) => a + b;
  for (let i = 0; i < 20; i++) t.is(await p.apply(add, [i, 1]), i + 1);
  t.deepEqual(await long, [300, 300]);
});
