// The crash matrix: after each fault the same pool answers a new map correctly.
import test from 'ava';
import { AbortError, Pool, PoolStateError, TimeoutError, WorkerCrashedError } from '../dist/index.mjs';

async function healthy(t, pool) {
  t.deepEqual(await pool.map((x) => x + 1, [1, 2, 3]), [2, 3, 4]);
}

function fresh(t, options = {}) {
  const pool = new Pool({ processes: 2, inline: false, ...options });
  t.teardown(() => pool.terminate());
  return pool;
}

test('a task that throws', async (t) => {
  t.timeout(20_000);
  const pool = fresh(t);
  await t.throwsAsync(pool.map(() => { throw new Error('boom'); }, [1]), { message: 'boom' });
  await healthy(t, pool);
});

test('a task that calls process.exit', async (t) => {
  t.timeout(20_000);
  const pool = fresh(t);
  const err = await t.throwsAsync(pool.map((x) => { if (x === 4) process.exit(3); return x; }, [0, 1, 2, 3, 4, 5], { chunksize: 1 }), { instanceOf: WorkerCrashedError });
  t.is(err.exitCode, 3);
  t.is(err.index, 4);
  await healthy(t, pool);
});

test('a task that runs out of memory under resourceLimits', async (t) => {
  t.timeout(60_000);
  const pool = fresh(t, { processes: 1, resourceLimits: { maxOldGenerationSizeMb: 24, maxYoungGenerationSizeMb: 4 } });
  const hog = () => { const keep = []; for (;;) keep.push(new Array(100_000).fill(Math.random())); };
  await t.throwsAsync(pool.apply(hog), { instanceOf: WorkerCrashedError });
  await healthy(t, pool);
});

test('an endless loop under a timeout', async (t) => {
  t.timeout(20_000);
  const pool = fresh(t);
  await t.throwsAsync(pool.map(() => { for (;;) {} }, [1], { timeout: 200 }), { instanceOf: TimeoutError });
  await t.throwsAsync(pool.apply(() => { for (;;) {} }, [], { timeout: 100 }), { instanceOf: TimeoutError });
  await healthy(t, pool);
});

test('abort before and during a task', async (t) => {
  t.timeout(20_000);
  const pool = fresh(t);
  const before = new AbortController();
  before.abort('early');
  const e1 = await t.throwsAsync(pool.map((x) => x, [1], { signal: before.signal }), { instanceOf: AbortError });
  t.is(e1.cause, 'early');
  const during = new AbortController();
  const call = pool.map(() => { for (;;) {} }, [1, 2], { signal: during.signal });
  setTimeout(() => during.abort('late'), 100);
  const e2 = await t.throwsAsync(call, { instanceOf: AbortError });
  t.is(e2.cause, 'late');
  await healthy(t, pool);
});

test('terminate mid-map', async (t) => {
  t.timeout(20_000);
  const pool = new Pool({ processes: 2 });
  const call = pool.map(() => { for (;;) {} }, [1, 2, 3]);
  setTimeout(() => pool.terminate(), 100);
  await t.throwsAsync(call, { instanceOf: PoolStateError });
});

test('a crash in one call does not fail a concurrent call', async (t) => {
  t.timeout(20_000);
  const pool = fresh(t);
  const slow = pool.map((x) => new Promise((r) => setTimeout(() => r(x * 2), 200)), [1, 2, 3, 4], { chunksize: 1 });
  const crash = pool.apply(() => process.exit(9));
  const err = await t.throwsAsync(crash, { instanceOf: WorkerCrashedError });
  t.is(err.exitCode, 9);
  t.deepEqual(await slow, [2, 4, 6, 8]);
  await healthy(t, pool);
});

test('batched applies: one failing call leaves its siblings alone', async (t) => {
  const pool = fresh(t);
  const calls = [1, 2, 3, 4].map((x) => pool.apply((v) => { if (v === 3) throw new RangeError('three'); return v * 10; }, [x]));
  const settled = await Promise.allSettled(calls);
  t.deepEqual(settled.map((s) => s.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
  t.deepEqual(settled.filter((s) => s.value).map((s) => s.value), [10, 20, 40]);
  t.true(settled[2].reason instanceof RangeError);
  await healthy(t, pool);
});
