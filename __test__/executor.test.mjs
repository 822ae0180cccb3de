// Executor and Future, after CPython's test_concurrent_futures where it applies to threads.
import test from 'ava';
import { AbortError, Executor, PoolStateError, TimeoutError, WorkerCrashedError } from '../dist/index.mjs';

const slowId = (x) => new Promise((r) => setTimeout(() => r(x), 150));

function executor(t, options = { maxWorkers: 2 }) {
  const ex = new Executor(options);
  t.teardown(() => ex.shutdown({ cancelFutures: true }));
  return ex;
}

test('submit returns a Future that is a real Promise of the result', async (t) => {
  const ex = executor(t);
  const f = ex.submit((a, b) => a ** b, 2, 10);
  t.true(f instanceof Promise);
  t.is(await f, 1024);
  t.true(f.done());
  t.false(f.running());
  t.false(f.cancelled());
  await t.throwsAsync(ex.submit(() => { throw new RangeError('bad'); }), { instanceOf: RangeError, message: 'bad' });
});

test('cancel succeeds only while the future is pending', async (t) => {
  const ex = executor(t, { maxWorkers: 1 }); // 2 in flight at most, the rest queued
  const futures = Array.from({ length: 6 }, (_, i) => ex.submit(slowId, i));
  t.false(futures[0].cancel(), 'a started future cannot be cancelled');
  t.true(futures[0].running());
  t.true(futures[5].cancel());
  t.true(futures[5].cancelled());
  t.true(futures[5].done());
  t.true(futures[5].cancel(), 'cancelling again still reports cancelled');
  await t.throwsAsync(futures[5], { instanceOf: AbortError });
  t.deepEqual(await Promise.all(futures.slice(0, 5)), [0, 1, 2, 3, 4]);
});

test('map zips its iterables, stops at the shortest, keeps order', async (t) => {
  const ex = executor(t);
  const out = [];
  for await (const r of ex.map((a, b, c) => a + b + c, [1, 2, 3, 4], new Set([10, 20, 30]), [100, 200, 300])) out.push(r);
  t.deepEqual(out, [111, 222, 333]);
  const sq = [];
  for await (const r of ex.map((x) => x * x, [1, 2, 3], { chunksize: 2 })) sq.push(r);
  t.deepEqual(sq, [1, 4, 9]);
  t.throws(() => ex.map((x) => x, 5), { instanceOf: TypeError, message: /iterable/ });
});

test('map timeout counts from the call and throws TimeoutError', async (t) => {
  const ex = executor(t);
  const got = [];
  await t.throwsAsync(async () => {
    for await (const r of ex.map((x) => new Promise((res) => setTimeout(() => res(x), 300)), [1, 2, 3, 4, 5, 6], { timeout: 100 })) got.push(r);
  }, { instanceOf: TimeoutError });
  t.true(got.length < 6);
  t.is(await ex.submit((x) => x + 1, 1), 2, 'the executor still works');
});

test('asCompleted yields finished futures first, each once, then in completion order', async (t) => {
  const ex = executor(t);
  const done = ex.submit(() => 'first');
  await done;
  // Submitted first, so even a single worker runs it before the slow one.
  const fast = ex.submit(() => 'fast');
  const slow = ex.submit(slowId, 'slow');
  const order = [];
  for await (const f of Executor.asCompleted([slow, done, fast, done])) order.push(await f);
  t.deepEqual(order, ['first', 'fast', 'slow']);
});

test('asCompleted with a timeout says how many are unfinished', async (t) => {
  const ex = executor(t);
  const futures = [ex.submit(() => 1), ex.submit(() => new Promise((r) => setTimeout(() => r(2), 5000)))];
  await futures[0]; // settled before the call: yielded at once, whatever the clock says
  const seen = [];
  const err = await t.throwsAsync(async () => {
    for await (const f of Executor.asCompleted(futures, { timeout: 200 })) seen.push(await f);
  }, { instanceOf: TimeoutError });
  t.deepEqual(seen, [1]);
  t.regex(err.message, /1 \(of 2\) futures unfinished/);
});

test('wait: FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED, and a timeout that never throws', async (t) => {
  const ex = executor(t);
  const quick = ex.submit(() => 1);
  const slow = ex.submit(() => new Promise((r) => setTimeout(() => r(2), 600)));
  const first = await Executor.wait([quick, slow], { returnWhen: 'FIRST_COMPLETED' });
  t.true(first.done.has(quick));
  t.true(first.notDone.has(slow));
  const boom = ex.submit(() => { throw new Error('x'); });
  const exc = await Executor.wait([boom, slow], { returnWhen: 'FIRST_EXCEPTION' });
  t.true(exc.done.has(boom));
  const timed = await Executor.wait([slow], { timeout: 10 });
  t.is(timed.done.size + timed.notDone.size, 1);
  const all = await Executor.wait([quick, slow, boom]);
  t.is(all.done.size, 3);
  t.is(all.notDone.size, 0);
  await t.throwsAsync(Executor.wait([quick], { returnWhen: 'SOMETIMES' }), { instanceOf: TypeError });
});

test('shutdown waits, cancelFutures cancels the queue, and submit after it throws', async (t) => {
  const ex = new Executor({ maxWorkers: 1 });
  const futures = Array.from({ length: 6 }, (_, i) => ex.submit(slowId, i));
  await ex.shutdown({ cancelFutures: true });
  t.true(futures[0].done());
  t.true(futures.slice(2).every((f) => f.cancelled()));
  t.throws(() => ex.submit(() => 1), { instanceOf: PoolStateError });
  const ex2 = new Executor({ maxWorkers: 2 });
  const pending = [ex2.submit(slowId, 'a'), ex2.submit(slowId, 'b')];
  await ex2.shutdown();
  t.deepEqual(await Promise.all(pending), ['a', 'b']);
});

test('a crashed worker rejects its future with WorkerCrashedError and the executor heals', async (t) => {
  const ex = executor(t);
  const err = await t.throwsAsync(ex.submit(() => process.exit(5)), { instanceOf: WorkerCrashedError });
  t.is(err.exitCode, 5);
  t.is(await ex.submit((x) => x * 2, 21), 42);
});

test('initializer, initargs and option checks', async (t) => {
  const ex = executor(t, { maxWorkers: 2, initializer: (v) => { globalThis.tag = v; }, initargs: ['ok'] });
  t.deepEqual(await Promise.all([1, 2, 3, 4].map(() => ex.submit(() => globalThis.tag))), ['ok', 'ok', 'ok', 'ok']);
  t.is(ex.maxWorkers, 2);
  t.throws(() => new Executor({ maxWorkers: 0 }), { instanceOf: RangeError, message: /maxWorkers/ });
  t.throws(() => new Executor({ workers: 2 }), { instanceOf: TypeError, message: /options\.workers/ });
});
