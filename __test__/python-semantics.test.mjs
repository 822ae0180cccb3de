// Hangs and differences from Python that CPython's Pool / concurrent.futures tests and a
// review found (issue 12): each test here failed before its fix.
import test from 'ava';
import { Executor, Pool, PoolStateError } from '../dist/index.mjs';

/** Settles like `promise`, or rejects after `ms` (a hang fails the test instead of the run). */
function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** A test seam of the pool (not public): the highest worker id, so ids wrap after a few
 * replacements instead of 1,023 (each costs a thread start, ~50 ms). */
const WORKER_ID_LIMIT = Symbol.for('ferropool.workerIdLimit');

/** Blocks its worker until `flag[0]` is set (or 30 s pass), then returns `flag[0]`. */
const blockUntilReleased = (flag) => {
  Atomics.wait(flag, 0, 0, 30_000);
  return Atomics.load(flag, 0);
};

test('worker ids are not reused while their worker lives: the long call settles, join() returns', async (t) => {
  t.timeout(50_000);
  const pool = new Pool({ processes: 2, maxTasksPerChild: 1, [WORKER_ID_LIMIT]: 4 });
  t.teardown(() => pool.terminate());
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const long = pool.apply(blockUntilReleased, [flag]);
  // Every short call replaces the other worker: ids wrap around several times while the
  // first worker still runs the long call.
  for (let i = 0; i < 24; i++) t.is(await within(pool.apply((x) => x + 1, [i]), 10_000, `short apply ${i}`), i + 1);
  Atomics.store(flag, 0, 7);
  Atomics.notify(flag, 0);
  t.is(await within(long, 10_000, 'the long apply'), 7);
  pool.close();
  await within(pool.join(), 10_000, 'join()');
});

test('Executor.wait([]) resolves at once with two empty sets, whatever returnWhen says', async (t) => {
  for (const returnWhen of ['FIRST_COMPLETED', 'FIRST_EXCEPTION', 'ALL_COMPLETED']) {
    const { done, notDone } = await within(Executor.wait([], { returnWhen }), 2000, `wait([], ${returnWhen})`);
    t.true(done instanceof Set && notDone instanceof Set);
    t.is(done.size + notDone.size, 0, returnWhen);
  }
});

test("Executor.wait's FIRST_EXCEPTION ignores cancelled futures, as Python's does", async (t) => {
  const ex = new Executor({ maxWorkers: 1 });
  t.teardown(() => ex.shutdown({ cancelFutures: true }));
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const running = ex.submit(blockUntilReleased, flag);
  // The executor hands at most 2 × maxWorkers calls to the pool; the rest wait in its queue.
  const handed = ex.submit((x) => x, 1);
  const queued = [ex.submit((x) => x, 2), ex.submit((x) => x, 3)];
  t.true(queued[0].cancel(), 'a queued future can be cancelled');
  t.true(queued[0].cancelled());
  const waiting = Executor.wait([running, handed, ...queued], { returnWhen: 'FIRST_EXCEPTION', timeout: 20_000 });
  let settled = false;
  void waiting.then(() => (settled = true));
  await new Promise((r) => setTimeout(r, 300));
  t.false(settled, 'a cancelled future is no exception: wait goes on');
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  const { done, notDone } = await waiting;
  t.is(done.size, 4, 'every future completed (the cancelled one is done)');
  t.is(notDone.size, 0);
  t.is(await running, 1);
});

test('Executor.map submits every call when it is called: shutdown({ wait: false }) loses none', async (t) => {
  const ex = new Executor({ maxWorkers: 1 });
  t.teardown(() => ex.shutdown({ cancelFutures: true }));
  let read = 0;
  function* inputs() {
    for (let i = 1; i <= 12; i++) {
      read++;
      yield i;
    }
  }
  const results = ex.map((x) => x * 2, inputs(), { chunksize: 5 });
  t.is(read, 12, 'the iterable was read by map() itself');
  await ex.shutdown({ wait: false });
  const got = [];
  await within((async () => {
    for await (const r of results) got.push(r);
  })(), 10_000, 'reading the results');
  t.deepEqual(got, [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24]);
  t.throws(() => ex.map((x) => x, [1]), { instanceOf: PoolStateError });
});

test('Executor.map with buffersize reads lazily, a bounded number of chunks ahead', async (t) => {
  const ex = new Executor({ maxWorkers: 2 });
  t.teardown(() => ex.shutdown({ cancelFutures: true }));
  let read = 0;
  function* naturals() {
    for (let i = 0; ; i++) {
      read++;
      yield i;
    }
  }
  const got = [];
  for await (const r of ex.map((x) => x + 1, naturals(), { buffersize: 3, chunksize: 2 })) {
    got.push(r);
    if (got.length === 10) break;
  }
  t.deepEqual(got, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  t.true(read <= 10 + 4 * 2, `read ${read} items for 10 results`);
  t.throws(() => ex.map((x) => x, [1], { buffersize: 0 }), { instanceOf: RangeError, message: /buffersize/ });
});

test('maxTasksPerChild counts each applyAsync of a same-tick batch as one task', async (t) => {
  t.timeout(50_000);
  const pool = new Pool({ processes: 3, maxTasksPerChild: 10 });
  t.teardown(() => pool.terminate());
  const calls = Array.from({ length: 100 }, (_, i) => pool.applyAsync((x) => [x, currentProcess().threadId], [i]));
  const out = await within(Promise.all(calls.map((r) => r.get())), 40_000, '100 applyAsync');
  t.deepEqual(out.map(([x]) => x), Array.from({ length: 100 }, (_, i) => i));
  const perWorker = new Map();
  for (const [, threadId] of out) perWorker.set(threadId, (perWorker.get(threadId) ?? 0) + 1);
  t.true(perWorker.size >= 10, `100 calls ran on ${perWorker.size} workers`);
  for (const [threadId, n] of perWorker) t.true(n <= 10, `worker ${threadId} ran ${n} calls`);
  pool.close();
  await pool.join();
});

test('a worker that retires (maxTasksPerChild) is replaced at once, as Python keeps the pool at its size', async (t) => {
  t.timeout(30_000);
  const pool = new Pool({ processes: 2, maxTasksPerChild: 1 });
  t.teardown(() => pool.terminate());
  for (let i = 0; i < 6; i++) {
    t.is(await pool.apply((x) => x * 2, [i]), 2 * i);
    // Replaced lazily, a pool of express-lane calls held 1, 0, 1, 0… workers between calls
    // once the retiring worker had exited (a worker counts until its exit is handled, and
    // its replacement from then on).
    await new Promise((r) => setTimeout(r, 250));
    t.is(pool.stats().workers, 2, `workers alive 250 ms after call ${i}`);
  }
  pool.close();
  await within(pool.join(), 10_000, 'join');
});

test('with an initializer, workers start when the pool is made: after close() + join() of an idle pool it ran in every worker', async (t) => {
  t.timeout(30_000);
  const initializer = async (count) => {
    await new Promise((r) => setTimeout(r, 200));
    Atomics.add(count, 0, 1);
  };
  const count = new Int32Array(new SharedArrayBuffer(4));
  const pool = new Pool({ processes: 3, initializer, initargs: [count] });
  pool.close();
  await within(pool.join(), 20_000, 'join()');
  t.is(Atomics.load(count, 0), 3, 'the initializer ran once in each of the 3 workers');
  const viaExecutor = new Int32Array(new SharedArrayBuffer(4));
  const ex = new Executor({ maxWorkers: 2, initializer, initargs: [viaExecutor] });
  await within(ex.shutdown(), 20_000, 'shutdown()');
  t.is(Atomics.load(viaExecutor, 0), 2);
});

/** The one rule for what cannot cross to or from a worker: a TypeError naming the
 * position, whose `cause` is what went wrong (here a getter's RangeError). */
function assertCloneError(t, error, position, causeMessage) {
  t.true(error instanceof TypeError, `${error?.name}: ${error?.message}`);
  t.is(error.name, 'TypeError');
  t.regex(error.message, position);
  t.true(error.cause instanceof RangeError, `cause: ${error.cause}`);
  t.regex(error.cause.message, causeMessage);
}

test('errors while cloning: one rule for map and apply, a TypeError naming the position with the original error as cause', async (t) => {
  t.timeout(30_000);
  const pool = new Pool({ processes: 1 });
  t.teardown(() => pool.terminate());
  // Results whose getter throws.
  const getterAt2 = (x) => (x === 2 ? { get bad() { throw new RangeError(`getter of result ${x}`); } } : x);
  assertCloneError(t, await t.throwsAsync(pool.map(getterAt2, [0, 1, 2, 3], { chunksize: 4 })), /input\[2\] cannot be sent back/, /getter of result 2/);
  assertCloneError(t, await t.throwsAsync(pool.map(getterAt2, ['0', '1', 2, '3'])), /input\[2\] cannot be sent back/, /getter of result 2/);
  // Batched applies (made in one turn): each fails alone.
  const [a, b, c] = await Promise.allSettled([pool.apply(getterAt2, [2]), pool.apply(getterAt2, [1]), pool.apply(getterAt2, [2])]);
  assertCloneError(t, a.reason, /result of the call cannot be sent back/, /getter of result 2/);
  t.deepEqual(b, { status: 'fulfilled', value: 1 });
  assertCloneError(t, c.reason, /result of the call cannot be sent back/, /getter of result 2/);
  // One apply at a time, once the function is measured (the express lane takes such calls).
  for (let i = 0; i < 20; i++) t.is(await pool.apply(getterAt2, [0]), 0);
  assertCloneError(t, await t.throwsAsync(pool.apply(getterAt2, [2])), /result of the call cannot be sent back/, /getter of result 2/);
  // Arguments whose getter throws.
  const arg = { get bad() { throw new RangeError('getter of an argument'); } };
  assertCloneError(t, await t.throwsAsync(pool.map((x) => x, [1, arg, 3])), /input\[1\] cannot be sent to a worker/, /getter of an argument/);
  assertCloneError(t, await t.throwsAsync(pool.apply((_x, y) => y, [1, arg])), /args\[1\]/, /getter of an argument/);
  const [bad, fine] = await Promise.allSettled([pool.apply((_x, y) => y, [1, arg]), pool.apply((_x, y) => y, [1, 2])]);
  assertCloneError(t, bad.reason, /apply: args cannot be sent to a worker: args\[1\]/, /getter of an argument/);
  t.deepEqual(fine, { status: 'fulfilled', value: 2 });
  t.deepEqual(await pool.map((x) => x * 2, [1, 2]), [2, 4], 'the pool still works');
});
