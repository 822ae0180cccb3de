// The crash matrix for JS functions: every kind of fault (a throw, process.exit, an uncaught
// exception, running out of memory, an endless loop under a timeout, an abort, terminate())
// rejects the call that caused it with the right error, leaves concurrent calls alone, and
// afterwards the same pool answers a new map correctly.
import test from 'ava';
import { AbortError, Pool, PoolStateError, TimeoutError, WorkerCrashedError } from '../dist/index.mjs';
import { collectUntilError, describeRun, range, runFixture } from './support/helpers.mjs';

function fresh(t, options = { processes: 2 }) {
  const pool = new Pool(options);
  t.teardown(() => pool.terminate());
  return pool;
}

async function healthy(t, pool, what = 'the pool answers after the fault') {
  t.deepEqual(await pool.map((x) => x + 1, [1, 2, 3]), [2, 3, 4], what);
  // Several chunks, so every worker (replacements included) takes part.
  t.deepEqual(await pool.map((x) => x * 2, range(40), { chunksize: 1 }), range(40).map((x) => x * 2), what);
}

test('a task that throws', async (t) => {
  t.timeout(20_000);
  const pool = fresh(t);
  const boom = (x) => { if (x === 2) throw new Error(`boom ${x}`); return x; };
  const e1 = await t.throwsAsync(pool.map(boom, range(5)), { instanceOf: Error, message: 'boom 2' });
  t.is(e1.index, 2);
  await healthy(t, pool);
  await t.throwsAsync(pool.apply(boom, [2]), { message: 'boom 2' });
  await healthy(t, pool);
  const { out, error } = await collectUntilError(pool.imap(boom, range(5), { chunksize: 1 }));
  t.deepEqual(out, [0, 1]);
  t.is(error.message, 'boom 2');
  await healthy(t, pool);
  // Throwing something that is not an Error.
  const e2 = await t.throwsAsync(pool.map(() => { throw 'a string'; }, [1]));
  t.regex(e2.message, /a string/);
  await healthy(t, pool);
});

test('a task that calls process.exit(3): WorkerCrashedError with exitCode and index', async (t) => {
  t.timeout(30_000);
  const pool = fresh(t);
  for (const chunksize of [1, 3, 100]) {
    const err = await t.throwsAsync(
      pool.map((x) => { if (x === 4) process.exit(3); return x; }, range(7), { chunksize }),
      { instanceOf: WorkerCrashedError },
    );
    t.is(err.name, 'WorkerCrashedError');
    t.is(err.exitCode, 3, `chunksize ${chunksize}`);
    t.is(err.index, 4, `chunksize ${chunksize}`);
    await healthy(t, pool);
  }
  const viaApply = await t.throwsAsync(pool.apply((code) => process.exit(code), [5]), { instanceOf: WorkerCrashedError });
  t.is(viaApply.exitCode, 5);
  t.is(viaApply.index, 0);
  await healthy(t, pool);
  const viaStarmap = await t.throwsAsync(pool.starmap((a, b) => (b ? process.exit(6) : a), [[1, false], [2, true]], { chunksize: 1 }), { instanceOf: WorkerCrashedError });
  t.is(viaStarmap.exitCode, 6);
  t.is(viaStarmap.index, 1);
  await healthy(t, pool);
});

test('process.exit() with no code, or code 0, is still a crash', async (t) => {
  t.timeout(20_000);
  const pool = fresh(t);
  const e0 = await t.throwsAsync(pool.map(() => process.exit(), [1]), { instanceOf: WorkerCrashedError });
  t.is(e0.exitCode, 0);
  t.is(e0.index, 0);
  await healthy(t, pool);
  const e1 = await t.throwsAsync(pool.map(() => process.exit(0), [1, 2]), { instanceOf: WorkerCrashedError });
  t.is(e1.exitCode, 0);
  await healthy(t, pool);
});

test('an async task that exits later, from a timer', async (t) => {
  t.timeout(20_000);
  const pool = fresh(t);
  const err = await t.throwsAsync(
    pool.map((x) => new Promise((resolve) => setTimeout(() => (x === 2 ? process.exit(4) : resolve(x)), 20)), range(4), { chunksize: 1 }),
    { instanceOf: WorkerCrashedError },
  );
  t.is(err.exitCode, 4);
  t.is(err.index, 2);
  await healthy(t, pool);
});

test('an unhandled rejection inside an async task fails that call, naming the error', async (t) => {
  t.timeout(20_000);
  const pool = fresh(t, { processes: 1 });
  const err = await t.throwsAsync(pool.apply(async () => {
    Promise.reject(new RangeError('nobody caught me'));
    await new Promise((r) => setTimeout(r, 20));
    return 1;
  }));
  t.is(err.name, 'WorkerCrashedError');
  t.regex(err.message, /nobody caught me/);
  t.deepEqual(await pool.map((x) => x + 1, [1]), [2]);
});

test('an uncaught exception thrown from a task\'s timer kills its worker: WorkerCrashedError', async (t) => {
  t.timeout(20_000);
  const pool = fresh(t);
  const err = await t.throwsAsync(
    pool.map(() => {
      setTimeout(() => { throw new RangeError('thrown later'); }, 10);
      return new Promise(() => {});
    }, [1]),
    { instanceOf: WorkerCrashedError },
  );
  t.is(err.index, 0);
  t.regex(err.message, /thrown later/);
  await healthy(t, pool);
});

test('a task that runs out of memory under resourceLimits: WorkerCrashedError', async (t) => {
  // In a child process (fixtures/out-of-memory.mjs): on Node 24 a worker past its limits can
  // spin in garbage collection for ever; the watchdog gives it up and its call rejects, but
  // the thread can never be joined, so the process that had it cannot exit by itself (the
  // fixture then ends with SIGKILL once it has printed its report).
  t.timeout(120_000);
  const r = await runFixture('out-of-memory.mjs', { timeout: 100_000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  t.truthy(line, describeRun(r));
  const report = JSON.parse(line);
  t.deepEqual(
    report.steps,
    [
      ['warm', '[2,4]'],
      ['map', 'WorkerCrashedError', 1],
      ['after map', true],
      ['apply', 'WorkerCrashedError', 0],
      ['after apply', true],
    ],
    describeRun(r),
  );
  if (report.givenUp) t.is(r.signal, 'SIGKILL', describeRun(r));
  else t.is(r.code, 0, describeRun(r));
});

test('an endless loop with timeout 200: TimeoutError within a few seconds', async (t) => {
  t.timeout(30_000);
  const pool = fresh(t);
  const spin = () => { for (;;) {} };
  let started = Date.now();
  const e1 = await t.throwsAsync(pool.map(spin, [1], { timeout: 200 }), { instanceOf: TimeoutError });
  t.is(e1.name, 'TimeoutError');
  // A bound, not a timing: without the timeout the loop never ends (the start of a fresh
  // pool's worker counts too, seconds on a loaded CI machine).
  t.true(Date.now() - started < 15_000, 'the stuck task was stopped');
  await healthy(t, pool);
  started = Date.now();
  await t.throwsAsync(pool.map(spin, [1, 2, 3, 4], { timeout: 200, chunksize: 1 }), { instanceOf: TimeoutError });
  t.true(Date.now() - started < 15_000);
  await healthy(t, pool);
  await t.throwsAsync(pool.apply(spin, [], { timeout: 200 }), { instanceOf: TimeoutError });
  await healthy(t, pool);
  await t.throwsAsync(pool.starmap(spin, [[1]], { timeout: 200 }), { instanceOf: TimeoutError });
  await healthy(t, pool);
  const { error } = await collectUntilError(pool.imap(spin, [1, 2], { timeout: 200 }));
  t.true(error instanceof TimeoutError, String(error));
  await healthy(t, pool);
});

test('timeout counts from when the work starts, not from queueing', async (t) => {
  t.timeout(30_000);
  const pool = fresh(t, { processes: 1 });
  // The queued call waits longer than its timeout behind the busy one.
  const busy = pool.map((ms) => new Promise((r) => setTimeout(() => r(ms), ms)), [800]);
  const queued = pool.map((x) => x * 2, [21], { timeout: 500 });
  t.deepEqual(await busy, [800]);
  t.deepEqual(await queued, [42]);
});

test('an AbortSignal aborted before the call: AbortError with the reason as cause', async (t) => {
  t.timeout(20_000);
  const pool = fresh(t);
  const ac = new AbortController();
  const reason = new Error('the reason');
  ac.abort(reason);
  for (const work of [
    () => pool.map((x) => x, [1], { signal: ac.signal }),
    () => pool.starmap((x) => x, [[1]], { signal: ac.signal }),
    () => pool.apply((x) => x, [1], { signal: ac.signal }),
    () => pool.mapAsync((x) => x, [1], { signal: ac.signal }).get(),
  ]) {
    const err = await t.throwsAsync(work(), { instanceOf: AbortError });
    t.is(err.name, 'AbortError');
    t.is(err.cause, reason);
  }
  const { out, error } = await collectUntilError(pool.imap((x) => x, [1, 2], { signal: ac.signal }));
  t.deepEqual(out, []);
  t.true(error instanceof AbortError, String(error));
  t.is(error.cause, reason);
  const stringReason = new AbortController();
  stringReason.abort('just a string');
  const e2 = await t.throwsAsync(pool.map((x) => x, [1], { signal: stringReason.signal }), { instanceOf: AbortError });
  t.is(e2.cause, 'just a string');
  await healthy(t, pool);
});

test('abort during a running endless task: AbortError promptly, and the worker is replaced', async (t) => {
  t.timeout(30_000);
  const pool = fresh(t);
  t.deepEqual(await pool.map((x) => x, [0]), [0]); // workers up
  for (const chunks of [[1], [1, 2, 3, 4]]) {
    const ac = new AbortController();
    const call = pool.map(() => { for (;;) {} }, chunks, { signal: ac.signal, chunksize: 1 });
    setTimeout(() => ac.abort('stop'), 100);
    const started = Date.now();
    const err = await t.throwsAsync(call, { instanceOf: AbortError });
    t.is(err.cause, 'stop');
    t.true(Date.now() - started < 5000, 'the abort was prompt');
    await healthy(t, pool);
  }
  const ac = new AbortController();
  const viaApply = pool.apply(() => { for (;;) {} }, [], { signal: ac.signal });
  setTimeout(() => ac.abort('stop apply'), 100);
  const e = await t.throwsAsync(viaApply, { instanceOf: AbortError });
  t.is(e.cause, 'stop apply');
  await healthy(t, pool);
});

test('terminate() mid-map: PoolStateError, and no call hangs', async (t) => {
  t.timeout(20_000);
  const pool = new Pool({ processes: 2 });
  t.teardown(() => pool.terminate());
  const stuck = pool.map(() => { for (;;) {} }, [1, 2, 3]);
  const slow = pool.map((x) => new Promise((r) => setTimeout(() => r(x), 60_000)), [1, 2, 3, 4]);
  const slowImap = pool.imap((x) => new Promise((r) => setTimeout(() => r(x), 60_000)), [1, 2]);
  const firstOfImap = slowImap.next();
  setTimeout(() => void pool.terminate(), 100);
  await t.throwsAsync(stuck, { instanceOf: PoolStateError });
  await t.throwsAsync(slow, { instanceOf: PoolStateError });
  await t.throwsAsync(firstOfImap, { instanceOf: PoolStateError });
  t.is(pool.state, 'terminated');
  await pool.join();
  await t.throwsAsync(pool.map((x) => x + 1, [1]), { instanceOf: PoolStateError, message: /Pool not running/ });
});

test('a crash in one call does not fail a concurrent call on the same pool', async (t) => {
  t.timeout(30_000);
  const pool = fresh(t);
  const good = pool.map((x) => new Promise((r) => setTimeout(() => r(x * 10), 50)), range(12), { chunksize: 1 });
  const crashing = pool.map((x) => (x === 1 ? process.exit(9) : x), [0, 1, 2], { chunksize: 1 });
  const err = await t.throwsAsync(crashing, { instanceOf: WorkerCrashedError });
  t.is(err.exitCode, 9);
  t.is(err.index, 1);
  t.deepEqual(await good, range(12).map((x) => x * 10));
  await healthy(t, pool);
});

test('a timeout or abort in one call does not fail a concurrent call', async (t) => {
  t.timeout(30_000);
  const pool = fresh(t);
  const good = pool.map((x) => new Promise((r) => setTimeout(() => r(x + 100), 30)), range(10), { chunksize: 1 });
  const timed = pool.map(() => { for (;;) {} }, [1], { timeout: 150 });
  await t.throwsAsync(timed, { instanceOf: TimeoutError });
  t.deepEqual(await good, range(10).map((x) => x + 100));
  await healthy(t, pool);
});

test('batched applies: one that throws fails alone, its siblings resolve', async (t) => {
  t.timeout(20_000);
  const pool = fresh(t);
  const calls = [1, 2, 3, 4].map((x) => pool.apply((v) => { if (v === 3) throw new RangeError('three'); return v * 10; }, [x]));
  const settled = await Promise.allSettled(calls);
  t.deepEqual(settled.map((s) => s.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
  t.deepEqual(settled.filter((s) => s.value).map((s) => s.value), [10, 20, 40]);
  t.true(settled[2].reason instanceof RangeError);
  await healthy(t, pool);
});

test('many crashes in a row: the pool keeps replacing its workers', async (t) => {
  t.timeout(60_000);
  const pool = fresh(t);
  for (let i = 0; i < 6; i++) {
    const err = await t.throwsAsync(pool.apply((code) => process.exit(code), [10 + i]), { instanceOf: WorkerCrashedError });
    t.is(err.exitCode, 10 + i);
  }
  await healthy(t, pool);
});

test('a cheap task that later exits still runs in a worker: the calling process lives on', async (t) => {
  t.timeout(30_000);
  // In a child process: if the task ran on the calling thread, it would take that process down.
  const r = await runFixture('warm-then-exit.mjs', { args: ['exit'] });
  t.is(r.code, 0, describeRun(r));
  t.is(r.stdout, 'WorkerCrashedError:3 WorkerCrashedError:3\n2,3,4\n');
});

test('a cheap task that later loops forever can still be stopped by terminate()', async (t) => {
  t.timeout(30_000);
  const r = await runFixture('warm-then-exit.mjs', { args: ['loop'], timeout: 10_000 });
  t.is(r.code, 0, `${describeRun(r)} (SIGKILL after 10 s: the calling thread was stuck)`);
  t.is(r.stdout, 'PoolStateError\n');
});
