// A port of CPython's Lib/test/_test_multiprocessing.py `_TestPool`, `_TestPoolWorkerLifetime`
// and `_TestPoolWorkerErrors` to ferropool's JS-function pools, with the deviations that
// API.md names (Promises instead of blocking calls, `await using` closes then joins, map
// fails fast, a crash rejects instead of hanging).
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Pool, PoolStateError, TimeoutError, AsyncResult } from '../dist/index.mjs';
import { collect, collectUntilError, range } from './support/helpers.mjs';

/** The line of this file that holds `marker` (for the worker-side frames of the stacks). */
const SELF = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
const lineOf = (marker) => SELF.findIndex((line) => line.includes(marker)) + 1;
const sqr = (x) => x * x;
// A task that resolves after `ms` (Python's `sqr(x, wait)`).
const slowSqr = (x, ms) => new Promise((resolve) => setTimeout(() => resolve(x * x), ms));
const mul = (a, b) => a * b;

/** Python's `exception_throwing_generator(total, when)`. */
class SayWhenError extends Error {
  name = 'SayWhenError';
}
function* exceptionThrowingGenerator(total, when) {
  for (let i = 0; i < total; i++) {
    if (i === when) throw new SayWhenError('Somebody said when');
    yield i;
  }
}

// One shared pool for the stateless tests (Python's `setUpClass` makes one Pool(4)).
let shared;
const pool = () => (shared ??= new Pool({ processes: 2 }));
test.after.always(() => shared?.terminate());

function fresh(t, options = { processes: 2 }) {
  const p = new Pool(options);
  t.teardown(() => p.terminate());
  return p;
}

// A work method after close/terminate: imap throws at once, the others reject.
async function rejectsNotRunning(t, work) {
  let p;
  try {
    p = work();
  } catch (error) {
    t.true(error instanceof PoolStateError, String(error));
    t.regex(error.message, /Pool not running/);
    return;
  }
  const error = await t.throwsAsync(async () => {
    if (typeof p?.[Symbol.asyncIterator] === 'function') await collect(p);
    else await p;
  }, { instanceOf: PoolStateError });
  t.regex(error.message, /Pool not running/);
}

// --- _TestPool ---------------------------------------------------------------------

test('apply (test_apply)', async (t) => {
  t.timeout(20_000);
  t.is(await pool().apply(sqr, [5]), 25);
  t.is(await pool().apply(mul, [6, 7]), 42);
  t.is(await pool().apply(() => 'no args'), 'no args');
  t.is(await pool().apply(() => 'empty args', []), 'empty args');
  t.deepEqual(await pool().apply((...a) => a, [1, 'two', [3]]), [1, 'two', [3]]);
});

test('map (test_map)', async (t) => {
  t.timeout(20_000);
  t.deepEqual(await pool().map(sqr, range(10)), range(10).map(sqr));
  t.deepEqual(await pool().map(sqr, range(100)), range(100).map(sqr));
  t.deepEqual(await pool().map(sqr, range(100), { chunksize: 20 }), range(100).map(sqr));
});

test('map with chunksize variants (test_map_chunksize)', async (t) => {
  t.timeout(20_000);
  const expected = range(100).map(sqr);
  for (const chunksize of [1, 3, 7, 99, 100, 101, 1000]) {
    t.deepEqual(await pool().map(sqr, range(100), { chunksize }), expected, `chunksize ${chunksize}`);
  }
  t.deepEqual(await pool().mapAsync(sqr, [], { chunksize: 1 }).get(5000), []);
});

test('map over an empty input, and every method over one (test_empty_iterable)', async (t) => {
  t.timeout(20_000);
  const p = pool();
  t.deepEqual(await p.map(sqr, []), []);
  t.deepEqual(await p.map(sqr, new Set()), []);
  t.deepEqual(await p.starmap(mul, []), []);
  t.deepEqual(await collect(p.imap(sqr, [])), []);
  t.deepEqual(await p.imap(sqr, []).next(), { value: undefined, done: true });
  t.deepEqual(await collect(p.imapUnordered(sqr, [])), []);
  t.deepEqual(await p.mapAsync(sqr, []).get(), []);
  t.deepEqual(await p.starmapAsync(mul, []).get(), []);
});

test('map over iterables: a Set, a generator, an async generator', async (t) => {
  t.timeout(20_000);
  t.deepEqual(await pool().map(sqr, new Set([1, 2, 3])), [1, 4, 9]);
  t.deepEqual(await pool().map(sqr, (function* () { yield* range(10); })()), range(10).map(sqr));
  t.deepEqual(await pool().map(sqr, (async function* () { for (const i of range(10)) yield i; })()), range(10).map(sqr));
});

test('map over an iterable that throws rejects with its error (test_map_handle_iterable_exception)', async (t) => {
  t.timeout(20_000);
  const p = pool();
  await t.throwsAsync(p.map(sqr, exceptionThrowingGenerator(1, 0)), { instanceOf: SayWhenError });
  await t.throwsAsync(p.map(sqr, exceptionThrowingGenerator(1, 0), { chunksize: 1 }), { instanceOf: SayWhenError });
  await t.throwsAsync(p.map(sqr, exceptionThrowingGenerator(10, 3), { chunksize: 2 }), { instanceOf: SayWhenError });
  await t.throwsAsync(p.map(sqr, exceptionThrowingGenerator(10, 9), { chunksize: 1 }), { instanceOf: SayWhenError });
  t.deepEqual(await p.map(sqr, [1, 2]), [1, 4]);
});

test('starmap: zip of two ranges and a product of two lists (test_starmap)', async (t) => {
  t.timeout(20_000);
  const zip10 = range(10).map((i) => [i, 9 - i]);
  t.deepEqual(await pool().starmap(mul, zip10), zip10.map(([a, b]) => a * b));
  const zip100 = range(100).map((i) => [i, 99 - i]);
  t.deepEqual(await pool().starmap(mul, zip100, { chunksize: 20 }), zip100.map(([a, b]) => a * b));
  const product = [];
  for (const a of ['a', 'b', 'c']) for (const b of [1, 2]) product.push([a, b]);
  t.deepEqual(await pool().starmap((s, n) => s.repeat(n), product), ['a', 'aa', 'b', 'bb', 'c', 'cc']);
  // Each element is spread, whatever its length.
  t.deepEqual(await pool().starmap((...a) => a.length, [[], [1], [1, 2, 3]]), [0, 1, 3]);
  // Tuples may be any iterable.
  t.deepEqual(await pool().starmap(mul, [new Set([2, 3]), (function* () { yield 4; yield 5; })()]), [6, 20]);
});

test('starmapAsync (test_starmap_async)', async (t) => {
  t.timeout(20_000);
  const tuples = range(100).map((i) => [i, 99 - i]);
  const r = pool().starmapAsync(mul, tuples, { chunksize: 20 });
  t.true(r instanceof AsyncResult);
  t.deepEqual(await r.get(), tuples.map(([a, b]) => a * b));
});

test('mapAsync (test_map_async)', async (t) => {
  t.timeout(20_000);
  const r = pool().mapAsync(sqr, range(10));
  t.deepEqual(await r.get(), range(10).map(sqr));
  t.true(r.ready());
  t.true(r.successful());
  // It is thenable, so it can simply be awaited.
  t.deepEqual(await pool().mapAsync(sqr, range(100), { chunksize: 20 }), range(100).map(sqr));
});

test('mapAsync callbacks: each called once, before get() resolves (test_map_async_callbacks)', async (t) => {
  t.timeout(20_000);
  const calls = [];
  const ok = pool().mapAsync((s) => parseInt(s, 10), ['1'], {
    callback: (v) => calls.push(['callback', v]),
    errorCallback: (e) => calls.push(['errorCallback', e]),
  });
  t.deepEqual(await ok.get(), [1]);
  t.deepEqual(calls, [['callback', [1]]]);

  calls.length = 0;
  const bad = pool().mapAsync((s) => { if (!/^\d+$/.test(s)) throw new RangeError(`invalid literal: ${s}`); return Number(s); }, ['a'], {
    callback: (v) => calls.push(['callback', v]),
    errorCallback: (e) => calls.push(['errorCallback', e]),
  });
  const error = await t.throwsAsync(bad.get(), { instanceOf: RangeError, message: 'invalid literal: a' });
  t.is(calls.length, 1);
  t.is(calls[0][0], 'errorCallback');
  t.is(calls[0][1], error);
  await bad.wait();
  t.true(bad.ready());
  t.false(bad.successful());
  t.is(calls.length, 1, 'errorCallback is called once, however often the result is read');
  await t.throwsAsync(bad.get(), { is: error });
  t.is(calls.length, 1);
});

test('applyAsync (test_async)', async (t) => {
  t.timeout(20_000);
  const r = pool().applyAsync(slowSqr, [7, 100]);
  t.false(r.ready());
  t.is(await r.get(), 49);
  t.true(r.ready());
  t.true(r.successful());
  let got;
  const withCb = pool().applyAsync(mul, [3, 4], { callback: (v) => { got = v; } });
  t.is(await withCb, 12);
  t.is(got, 12);
});

test('get(timeout) rejects TimeoutError while the work goes on (test_async_timeout)', async (t) => {
  t.timeout(20_000);
  const p = fresh(t);
  const work = (x) => new Promise((resolve) => setTimeout(() => resolve(x), 500));
  const r = p.applyAsync(work, [6]);
  await t.throwsAsync(r.get(50), { instanceOf: TimeoutError });
  t.false(r.ready());
  t.throws(() => r.successful(), { instanceOf: PoolStateError });
  t.is(await r.get(), 6);
  t.true(r.ready());
  t.true(r.successful());
  // A finished result is returned at once, even with a timeout.
  t.is(await r.get(0), 6);

  const m = p.mapAsync(work, [1, 2, 3]);
  await t.throwsAsync(m.get(50), { instanceOf: TimeoutError });
  t.deepEqual(await m.get(), [1, 2, 3]);
});

test('AsyncResult wait(): with a timeout it resolves without the result, without one when ready', async (t) => {
  t.timeout(20_000);
  const p = fresh(t);
  const r = p.applyAsync((x) => new Promise((resolve) => setTimeout(() => resolve(x), 500)), ['w']);
  t.is(await r.wait(20), undefined);
  t.false(r.ready());
  t.is(await r.wait(), undefined);
  t.true(r.ready());
  t.true(r.successful());
  t.is(await r.get(), 'w');
});

test('imap (test_imap)', async (t) => {
  t.timeout(20_000);
  t.deepEqual(await collect(pool().imap(sqr, range(10))), range(10).map(sqr));
  // next() by hand, then the end.
  const it = pool().imap(sqr, range(10));
  for (let i = 0; i < 10; i++) t.deepEqual(await it.next(), { value: i * i, done: false });
  t.true((await it.next()).done);
  t.deepEqual(await collect(pool().imap(sqr, range(1000), { chunksize: 100 })), range(1000).map(sqr));
  for (const chunksize of [1, 3, 7, 2000]) {
    t.deepEqual(await collect(pool().imap(sqr, range(50), { chunksize })), range(50).map(sqr), `chunksize ${chunksize}`);
  }
});

test('imap over a generator and an async generator', async (t) => {
  t.timeout(20_000);
  function* gen() { for (let i = 0; i < 25; i++) yield i; }
  t.deepEqual(await collect(pool().imap(sqr, gen())), range(25).map(sqr));
  t.deepEqual(await collect(pool().imap(sqr, gen(), { chunksize: 4 })), range(25).map(sqr));
  async function* agen() { for (let i = 0; i < 25; i++) yield i; }
  t.deepEqual(await collect(pool().imap(sqr, agen(), { chunksize: 3 })), range(25).map(sqr));
});

test('imap over an iterable that throws part-way (test_imap_handle_iterable_exception)', async (t) => {
  t.timeout(20_000);
  for (const opts of [undefined, { chunksize: 1 }, { chunksize: 2 }, { chunksize: 5 }]) {
    const { out, error } = await collectUntilError(pool().imap(sqr, exceptionThrowingGenerator(10, 3), opts));
    t.deepEqual(out, [0, 1, 4], JSON.stringify(opts));
    t.true(error instanceof SayWhenError, String(error));
  }
  const { out, error } = await collectUntilError(pool().imap(sqr, exceptionThrowingGenerator(20, 7), { chunksize: 2 }));
  t.deepEqual(out, range(7).map(sqr));
  t.true(error instanceof SayWhenError);
});

test('imap over an endless generator: read lazily, and closed when the loop breaks', async (t) => {
  t.timeout(20_000);
  let read = 0;
  let closed = false;
  function* naturals() {
    try {
      for (let i = 0; ; i++) {
        read = i + 1;
        yield i;
      }
    } finally {
      closed = true;
    }
  }
  const out = [];
  for await (const r of pool().imap(sqr, naturals(), { chunksize: 3 })) {
    out.push(r);
    if (out.length === 20) break;
  }
  t.deepEqual(out, range(20).map(sqr));
  t.true(closed, 'the input iterator was closed');
  t.true(read < 1000, `bounded read-ahead (read ${read} items)`);
  const unordered = [];
  for await (const r of pool().imapUnordered(sqr, naturals())) {
    unordered.push(r);
    if (unordered.length === 10) break;
  }
  t.is(unordered.length, 10);
  t.true(closed);
  // Without a chunksize chunks grow while items keep coming (at most 4,096 items each,
  // 2 chunks a worker ahead); with chunksize 1, Python's bound: 2 items a worker.
  const p = pool();
  for (const [chunksize, bound] of [[undefined, 10 + (2 * p.processes + 1) * 4096], [1, 10 + 2 * p.processes + 2]]) {
    const first = [];
    for await (const r of p.imap(sqr, naturals(), { chunksize })) {
      first.push(r);
      if (first.length === 10) break;
    }
    t.deepEqual(first, range(10).map(sqr));
    t.true(read < bound, `bounded read-ahead with chunksize ${chunksize} (read ${read})`);
  }
  // Breaking out of a slow imap early leaves the pool working.
  const seen = [];
  for await (const x of p.imap((x) => new Promise((r) => setTimeout(() => r(x), 20)), range(50), { chunksize: 1 })) {
    seen.push(x);
    if (seen.length === 3) break;
  }
  t.deepEqual(seen, [0, 1, 2]);
  t.deepEqual(await p.map(sqr, [1, 2, 3]), [1, 4, 9]);
});

test('imapUnordered (test_imap_unordered)', async (t) => {
  t.timeout(20_000);
  const a = await collect(pool().imapUnordered(sqr, range(10)));
  t.deepEqual([...a].sort((x, y) => x - y), range(10).map(sqr));
  const b = await collect(pool().imapUnordered(sqr, range(1000), { chunksize: 100 }));
  t.is(b.length, 1000);
  t.deepEqual([...b].sort((x, y) => x - y), range(1000).map(sqr));
  // Tasks that finish in reverse order still all arrive.
  const c = await collect(pool().imapUnordered((x) => new Promise((r) => setTimeout(() => r(x), (6 - x) * 20)), range(6), { chunksize: 1 }));
  t.deepEqual([...c].sort((x, y) => x - y), range(6));
});

test('imapUnordered yields in completion order', async (t) => {
  t.timeout(20_000);
  // Item 0 waits (on shared memory, not a clock) until this thread has received the 19
  // others, so it completes last: imapUnordered must yield it last.
  const received = new Int32Array(new SharedArrayBuffer(4));
  const p = fresh(t, { processes: 2, initializer: (sab) => { globalThis.received = new Int32Array(sab); }, initargs: [received.buffer] });
  const task = (x) => {
    if (x === 0) while (Atomics.load(globalThis.received, 0) < 19) Atomics.wait(globalThis.received, 0, Atomics.load(globalThis.received, 0), 1000);
    return x;
  };
  const got = [];
  for await (const x of p.imapUnordered(task, range(20), { chunksize: 1 })) {
    got.push(x);
    Atomics.add(received, 0, 1);
    Atomics.notify(received, 0);
  }
  t.deepEqual([...got].sort((a, b) => a - b), range(20));
  t.is(got.at(-1), 0, 'the item that finished last is yielded last');
});

test('imapUnordered over an iterable that throws (test_imap_unordered_handle_iterable_exception)', async (t) => {
  t.timeout(20_000);
  for (const opts of [{ chunksize: 1 }, { chunksize: 2 }]) {
    const { out, error } = await collectUntilError(pool().imapUnordered(sqr, exceptionThrowingGenerator(10, 3), opts));
    t.true(error instanceof SayWhenError, String(error));
    t.deepEqual([...out].sort((x, y) => x - y), [0, 1, 4]);
  }
});

test('Pool(processes) rejects what is not a positive integer (test_make_pool)', (t) => {
  t.throws(() => new Pool(-1), { instanceOf: RangeError, message: /processes/ });
  t.throws(() => new Pool(0), { instanceOf: RangeError, message: /processes/ });
  t.throws(() => new Pool({ processes: 1.5 }), { instanceOf: RangeError, message: /processes/ });
  const p = new Pool(3);
  t.is(p.processes, 3);
  t.is(p.state, 'running');
  return p.terminate();
});

test('terminate() while a slow map runs rejects it with PoolStateError (test_terminate)', async (t) => {
  t.timeout(20_000);
  const p = new Pool({ processes: 2 });
  const call = p.mapAsync((ms) => new Promise((r) => setTimeout(r, ms)), Array(10_000).fill(100), { chunksize: 1 });
  const error = t.throwsAsync(call.get(), { instanceOf: PoolStateError });
  await p.terminate();
  await error;
  t.is(p.state, 'terminated');
  await p.join();
  t.false(call.successful());
  await rejectsNotRunning(t, () => p.map(sqr, [1]));
});

test('await pool[Symbol.asyncDispose]() closes then joins, losing no result (test_context)', async (t) => {
  t.timeout(20_000);
  const p = new Pool({ processes: 2 });
  t.teardown(() => p.terminate());
  const r = p.mapAsync(slowSqr, range(10).map((i) => i), { chunksize: 2 });
  const s = p.starmap(slowSqr, range(6).map((i) => [i, 50]));
  await p[Symbol.asyncDispose]();
  t.is(p.state, 'closed');
  // join is done: the results were there before dispose resolved.
  t.true(r.ready());
  t.deepEqual(await r.get(), range(10).map(sqr));
  t.deepEqual(await s, range(6).map(sqr));
  await p.join();
  await rejectsNotRunning(t, () => p.mapAsync(sqr, [1]).get());
});

test('close(): queued work finishes, join() waits for it, new work is refused (test_pool_worker_lifetime_early_close)', async (t) => {
  t.timeout(20_000);
  const p = new Pool({ processes: 2, maxTasksPerChild: 1 });
  t.teardown(() => p.terminate());
  const results = range(6).map((i) => p.applyAsync(slowSqr, [i, 100]));
  p.close();
  t.is(p.state, 'closed');
  await p.join();
  for (const [i, r] of results.entries()) {
    t.true(r.ready());
    t.is(await r.get(), i * i);
  }
  await rejectsNotRunning(t, () => p.map(sqr, [1]));
  await rejectsNotRunning(t, () => p.apply(sqr, [1]));
  await rejectsNotRunning(t, () => p.starmap(mul, [[1, 2]]));
  await rejectsNotRunning(t, () => p.imap(sqr, [1]));
  await rejectsNotRunning(t, () => p.imapUnordered(sqr, [1]));
  await rejectsNotRunning(t, () => p.applyAsync(sqr, [1]).get());
});

/** Whether `promise` has settled, readable synchronously; never an unhandled rejection. */
function track(promise) {
  const state = { settled: false, promise };
  promise.then(() => { state.settled = true; }, () => { state.settled = true; });
  return state;
}

test('applies made just before close() are waited for by join() (warm pool)', async (t) => {
  t.timeout(15_000);
  const p = fresh(t);
  t.deepEqual(await p.map(sqr, [1]), [1]); // the workers are running
  const a = p.applyAsync(mul, [6, 7]);
  const b = track(p.apply(sqr, [8]));
  p.close();
  await p.join();
  t.true(a.ready(), 'join() resolved after the applyAsync made before close()');
  t.true(b.settled, 'join() resolved after the apply made before close()');
  t.is(await a.get(), 42);
  t.is(await b.promise, 64);
});

test('applies made just before close() are waited for by join() (workers not started yet)', async (t) => {
  t.timeout(15_000);
  const p = fresh(t);
  const a = p.applyAsync(mul, [6, 7]);
  p.close();
  await p.join();
  t.true(a.ready(), 'join() resolved after the applyAsync made before close()');
  t.is(await a.get(), 42);
});

test('an apply made just before terminate() rejects with PoolStateError (never hangs)', async (t) => {
  t.timeout(15_000);
  const p = fresh(t);
  t.deepEqual(await p.map(sqr, [1]), [1]);
  const a = track(p.apply(sqr, [8]));
  await p.terminate();
  await t.throwsAsync(a.promise, { instanceOf: PoolStateError });
});

test('after close(), map rejects with PoolStateError "Pool not running"', async (t) => {
  t.timeout(20_000);
  const p = fresh(t);
  t.deepEqual(await p.map(sqr, [1, 2]), [1, 4]);
  p.close();
  const error = await t.throwsAsync(p.map(sqr, [1, 2]), { instanceOf: PoolStateError });
  t.regex(error.message, /Pool not running/);
  await p.join();
});

test('join() while running rejects with PoolStateError "Pool is still running"', async (t) => {
  t.timeout(20_000);
  const p = fresh(t);
  await t.throwsAsync(async () => p.join(), { instanceOf: PoolStateError, message: /Pool is still running/ });
  t.deepEqual(await p.map(sqr, [3]), [9], 'a refused join leaves the pool usable');
  await t.throwsAsync(async () => p.join(), { instanceOf: PoolStateError, message: /Pool is still running/ });
});

test('initializer and initargs: every worker runs it before its tasks (test_pool_initializer)', async (t) => {
  t.timeout(30_000);
  const p = fresh(t, {
    processes: 2,
    initializer: (x, y) => {
      globalThis.x = x;
      globalThis.y = y;
      globalThis.__id = Math.random();
    },
    initargs: [42, { nested: ['ok'] }],
  });
  // Slow tasks, one per chunk, so both workers take part.
  const results = await p.map(
    () => new Promise((resolve) => setTimeout(() => resolve([globalThis.x, globalThis.y, globalThis.__id]), 100)),
    range(24),
    { chunksize: 1 },
  );
  t.is(results.length, 24);
  for (const [x, y, id] of results) {
    t.is(x, 42);
    t.deepEqual(y, { nested: ['ok'] });
    t.is(typeof id, 'number');
  }
  t.is(new Set(results.map((r) => r[2])).size, 2, 'both workers ran tasks, each after its initializer');
  // Also seen by apply and starmap.
  t.is(await p.apply(() => globalThis.x), 42);
  t.deepEqual(await p.starmap((a) => a + globalThis.x, [[1], [2]]), [43, 44]);
});

test('an initializer that throws rejects the calls with RemoteError, its error as cause', async (t) => {
  t.timeout(20_000);
  const p = fresh(t, { processes: 2, initializer: () => { throw new TypeError('init failed'); } });
  const error = await t.throwsAsync(p.map(sqr, [1, 2]), { name: 'RemoteError' });
  t.regex(error.message, /initializer.*init failed/);
  t.true(error.cause instanceof TypeError);
  t.is(error.cause.message, 'init failed');
  // Later calls fail the same way (no endless respawning, no hang; Python loops here).
  await t.throwsAsync(p.apply(sqr, [1]), { name: 'RemoteError' });
});

test('many concurrent calls on one pool each get their own results', async (t) => {
  t.timeout(30_000);
  const p = fresh(t);
  const calls = range(60).map((k) => {
    const input = range(30).map((i) => i + k);
    switch (k % 4) {
      case 0: return p.map(sqr, input, { chunksize: 4 }).then((r) => [r, input.map(sqr)]);
      case 1: return p.starmap(mul, input.map((x) => [x, k]), { chunksize: 5 }).then((r) => [r, input.map((x) => x * k)]);
      case 2: return p.apply(mul, [k, 3]).then((r) => [r, k * 3]);
      default: return collect(p.imap(sqr, input, { chunksize: 7 })).then((r) => [r, input.map(sqr)]);
    }
  });
  for (const [actual, expected] of await Promise.all(calls)) t.deepEqual(actual, expected);
});

// --- _TestPoolWorkerLifetime -------------------------------------------------------

test('maxTasksPerChild: workers are replaced, results stay right (test_pool_worker_lifetime)', async (t) => {
  t.timeout(30_000);
  const p = fresh(t, { processes: 2, maxTasksPerChild: 1 });
  const results = await p.map((x) => [x * x, (globalThis.__id ??= Math.random())], range(10), { chunksize: 1 });
  t.deepEqual(results.map((r) => r[0]), range(10).map(sqr));
  const ids = new Set(results.map((r) => r[1]));
  t.true(ids.size > 2, `${ids.size} distinct workers`);
  // With one chunk per child, every chunk ran in its own worker.
  t.is(ids.size, 10);
  // The pool goes on working with its replacements.
  t.deepEqual(await p.map(sqr, range(20), { chunksize: 3 }), range(20).map(sqr));
});

test('maxTasksPerChild with many applies (test_pool_worker_lifetime, 100 apply_async)', async (t) => {
  t.timeout(30_000);
  const p = fresh(t, { processes: 3, maxTasksPerChild: 10 }); // as CPython's test
  const results = range(100).map((i) => p.applyAsync(sqr, [i]));
  for (const [i, r] of results.entries()) t.is(await r.get(), i * i);
  const second = await Promise.all(range(50).map((i) => p.apply(mul, [i, 2])));
  t.deepEqual(second, range(50).map((i) => i * 2));
});

test('maxTasksPerChild must be a positive integer (test_pool_maxtasksperchild_invalid)', (t) => {
  t.throws(() => new Pool({ processes: 3, maxTasksPerChild: 0 }), { instanceOf: RangeError, message: /maxTasksPerChild/ });
  t.throws(() => new Pool({ processes: 3, maxTasksPerChild: -1 }), { instanceOf: RangeError, message: /maxTasksPerChild/ });
});

// --- _TestPoolWorkerErrors ---------------------------------------------------------

test('applyAsync errorCallback gets the error (test_async_error_callback)', async (t) => {
  t.timeout(20_000);
  const scratchpad = [];
  const r = pool().applyAsync(() => { throw new RangeError('KeyError-ish'); }, [], {
    callback: () => scratchpad.push('callback'),
    errorCallback: (e) => scratchpad.push(e),
  });
  await r.wait();
  t.is(scratchpad.length, 1);
  t.true(scratchpad[0] instanceof RangeError);
  t.is(scratchpad[0].message, 'KeyError-ish');
  t.false(r.successful());
});

test('a result that cannot be sent back rejects, the pool keeps working (test_unpickleable_result)', async (t) => {
  t.timeout(20_000);
  const p = fresh(t);
  for (let i = 0; i < 3; i++) {
    const r = p.applyAsync(() => () => 'a function');
    const error = await t.throwsAsync(r.get());
    t.regex(error.message, /cannot be sent back/);
  }
  t.is(await p.apply(sqr, [9]), 81);
});

test('an input item that cannot be sent to a worker rejects, the pool keeps working (test_map_unplicklable)', async (t) => {
  t.timeout(20_000);
  const p = fresh(t);
  await t.throwsAsync(p.map((x) => typeof x, [1, () => 'not cloneable']));
  t.deepEqual(await p.map(sqr, [1, 2, 3]), [1, 4, 9]);
});

// --- errors crossing the worker boundary -------------------------------------------

test('a TypeError keeps its class, message, own properties, index and worker-side stack', async (t) => {
  t.timeout(20_000);
  const p = fresh(t);
  const error = await t.throwsAsync(
    p.map(function checkItem(x) {
      if (x === 3) {
        const e = new TypeError(`bad item ${x}`);
        e.code = 'E_BAD_ITEM';
        e.detail = { x };
        throw e;
      }
      return x;
    }, range(6), { chunksize: 2 }),
    { instanceOf: TypeError },
  );
  t.is(error.name, 'TypeError');
  t.is(error.message, 'bad item 3');
  t.true(Object.hasOwn(error, 'code'));
  t.is(error.code, 'E_BAD_ITEM');
  t.deepEqual(error.detail, { x: 3 });
  t.is(error.index, 3);
  t.regex(error.stack, /^TypeError: bad item 3/);
  t.regex(error.stack, /at checkItem \(/, 'the stack names the worker-side frame of the thrower');
  t.regex(error.stack, new RegExp(`at checkItem \\(file://\\S+conformance\\.test\\.mjs:${lineOf('new TypeError(`bad item ')}:\\d+\\)`), 'named after this file and line');
  t.regex(error.stack, /pool worker/, 'the stack says where the worker part begins');
});

test('an anonymous thrower: index at every position and chunking, and the stack has the worker frame', async (t) => {
  t.timeout(20_000);
  const p = fresh(t);
  for (const [bad, chunksize] of [[0, 1], [4, 1], [9, 1], [5, 3], [3, 3], [7, 100]]) {
    const error = await t.throwsAsync(
      p.starmap((x, b) => { if (x === b) throw new TypeError(`no ${x}`); return x; }, range(10).map((x) => [x, bad]), { chunksize }),
      { instanceOf: TypeError },
    );
    t.is(error.message, `no ${bad}`);
    t.is(error.index, bad, `bad=${bad} chunksize=${chunksize}`);
    t.regex(error.stack, /^TypeError: no \d/);
    t.regex(error.stack, new RegExp(`at anonymous \\(file://\\S+conformance\\.test\\.mjs:${lineOf('throw new TypeError(`no ')}:\\d+\\)`), 'the worker-side frame of the shipped function, at its line in this file');
  }
});

test('a custom error class keeps its name (test_wrapped_exception)', async (t) => {
  t.timeout(20_000);
  const error = await t.throwsAsync(pool().map((x) => {
    class MyErr extends Error {
      name = 'MyErr';
    }
    if (x === 1) throw new MyErr('special');
    return x;
  }, [0, 1, 2]));
  t.true(error instanceof Error);
  t.is(error.name, 'MyErr');
  t.is(error.message, 'special');
  t.is(error.index, 1);
  const viaApply = await t.throwsAsync(pool().apply(() => {
    class SpecialError extends Error {
      name = 'SpecialError';
    }
    throw new SpecialError('from apply');
  }));
  t.is(viaApply.name, 'SpecialError');
  t.is(viaApply.message, 'from apply');
  t.is(viaApply.index, 0);
});

test('map fails fast: it rejects on the first failure, and the chunks not yet started are cancelled', async (t) => {
  t.timeout(20_000);
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const p = fresh(t, { processes: 2, initializer: (sab) => { globalThis.counter = new Int32Array(sab); }, initargs: [counter.buffer] });
  const task = (x) => {
    Atomics.add(globalThis.counter, 0, 1);
    if (x === 0) return Promise.reject(new RangeError('first'));
    return new Promise((r) => setTimeout(() => r(x), 30));
  };
  const error = await t.throwsAsync(p.map(task, range(60), { chunksize: 1 }), { instanceOf: RangeError, message: 'first' });
  t.is(error.index, 0);
  await new Promise((r) => setTimeout(r, 300)); // let the chunks already running finish
  t.true(Atomics.load(counter, 0) < 60, `ran ${Atomics.load(counter, 0)} of 60`);
  t.deepEqual(await p.map(sqr, [2]), [4]);
});

test('imap yields every result before the failing position, then throws with its index', async (t) => {
  t.timeout(20_000);
  const failAt5 = (x) => {
    if (x === 5) throw new RangeError('five');
    return x * x;
  };
  for (const opts of [undefined, { chunksize: 1 }, { chunksize: 2 }, { chunksize: 3 }, { chunksize: 4 }, { chunksize: 100 }]) {
    const { out, error } = await collectUntilError(pool().imap(failAt5, range(10), opts));
    t.deepEqual(out, [0, 1, 4, 9, 16], JSON.stringify(opts));
    t.true(error instanceof RangeError, String(error));
    t.is(error.message, 'five');
    t.is(error.index, 5);
  }
  // The same over a generator (read lazily, chunk by chunk).
  const { out, error } = await collectUntilError(pool().imap(failAt5, (function* () { yield* range(10); })(), { chunksize: 3 }));
  t.deepEqual(out, [0, 1, 4, 9, 16]);
  t.is(error.index, 5);
});

test('starmap and apply errors carry the index of the failing tuple', async (t) => {
  t.timeout(20_000);
  const e1 = await t.throwsAsync(pool().starmap((a, b) => { if (b === 0) throw new RangeError('division by zero'); return a / b; }, [[1, 1], [2, 2], [3, 0], [4, 4]], { chunksize: 1 }), { instanceOf: RangeError });
  t.is(e1.index, 2);
  const e2 = await t.throwsAsync(pool().apply((a) => { throw new TypeError(`apply ${a}`); }, ['x']), { instanceOf: TypeError, message: 'apply x' });
  t.is(e2.index, 0);
});
