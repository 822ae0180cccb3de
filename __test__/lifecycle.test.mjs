import test from 'ava';
import { AbortError, Pool, PoolStateError, TimeoutError, cpuCount, kernels } from '../dist/index.mjs';

const big = (n = 6_000_000) => new Float64Array(n).fill(0.5);

test('state, processes and the default size', async (t) => {
  const pool = new Pool();
  t.is(pool.state, 'running');
  t.is(pool.processes, cpuCount());
  t.is(new Pool(3).processes, 3);
  t.is(new Pool({ processes: 2 }).processes, 2);
  pool.close();
  t.is(pool.state, 'closed');
  await pool.join();
});

test('close() refuses new work and join() waits for what was submitted', async (t) => {
  const pool = new Pool();
  const kernelCall = pool.map(kernels.exp, big());
  const jsCall = pool.map((x) => x * 3, [1, 2, 3]);
  pool.close();
  await t.throwsAsync(pool.map(kernels.abs, [1]), { instanceOf: PoolStateError, message: /Pool not running/ });
  await t.throwsAsync(pool.map((x) => x, [1]), { instanceOf: PoolStateError, message: /Pool not running/ });
  await pool.join();
  t.is((await kernelCall)[123], Math.exp(0.5));
  t.deepEqual(await jsCall, [3, 6, 9]);
});

test('join() while running is refused', async (t) => {
  const pool = new Pool(1);
  await t.throwsAsync(pool.join(), { instanceOf: PoolStateError, message: /Pool is still running/ });
  await pool.terminate();
});

test('terminate() rejects unfinished calls with PoolStateError', async (t) => {
  const pool = new Pool(2);
  const kernelCall = pool.map(kernels.exp, big(20_000_000));
  const jsCall = pool.map(() => { for (;;) {} }, [1, 2]);
  await pool.terminate();
  t.is(pool.state, 'terminated');
  await t.throwsAsync(kernelCall, { instanceOf: PoolStateError });
  await t.throwsAsync(jsCall, { instanceOf: PoolStateError });
  await t.throwsAsync(pool.map(kernels.abs, [1]), { instanceOf: PoolStateError });
});

test('Symbol.asyncDispose closes and joins', async (t) => {
  const pool = new Pool();
  const call = pool.map((x) => x + 1, [1]);
  await pool[Symbol.asyncDispose]();
  t.is(pool.state, 'closed');
  t.deepEqual(await call, [2]);
});

test('an aborted signal rejects with AbortError whose cause is the reason', async (t) => {
  const pool = new Pool();
  t.teardown(() => pool.terminate());
  const ac = new AbortController();
  ac.abort('stop');
  for (const fn of [kernels.sqrt, (x) => x]) {
    const err = await t.throwsAsync(pool.map(fn, [1], { signal: ac.signal }), { instanceOf: AbortError });
    t.is(err.cause, 'stop');
  }
  const during = new AbortController();
  const call = pool.map(kernels.exp, big(30_000_000), { signal: during.signal, chunksize: 65536 });
  setImmediate(() => during.abort(new Error('enough')));
  const err = await t.throwsAsync(call, { instanceOf: AbortError });
  t.is(err.cause.message, 'enough');
  t.deepEqual(await pool.map(kernels.square, [3]), [9]);
});

test('a timeout rejects with TimeoutError and the pool goes on', async (t) => {
  const pool = new Pool();
  t.teardown(() => pool.terminate());
  await t.throwsAsync(pool.map(kernels.exp, big(30_000_000), { timeout: 1, chunksize: 65536 }), { instanceOf: TimeoutError });
  t.deepEqual(await pool.map(kernels.square, [3]), [9]);
});

test('every kind of call times out with the same message', async (t) => {
  const pool = new Pool(2);
  t.teardown(() => pool.terminate());
  const endless = () => {
    for (;;);
  };
  async function drain(it) {
    for await (const _ of it);
  }
  const calls = {
    'kernel map': () => pool.map(kernels.exp, big(30_000_000), { timeout: 1, chunksize: 65536 }),
    'JS map': () => pool.map(endless, [1, 2], { timeout: 50 }),
    starmap: () => pool.starmap(endless, [[1]], { timeout: 50 }),
    apply: () => pool.apply(endless, [], { timeout: 50 }),
    reduce: () => pool.reduce(endless, [1, 2, 3, 4], { timeout: 50, chunksize: 2 }),
    // One item a chunk: every call of fn happens in the step that combines the chunks.
    'reduce, one item a chunk': () => pool.reduce(endless, [1, 2, 3], { timeout: 50 }),
    imap: () => drain(pool.imap(endless, [1, 2], { timeout: 50 })),
    imapUnordered: () => drain(pool.imapUnordered(endless, (function* () { yield 1; })(), { timeout: 50 })),
  };
  for (const [what, call] of Object.entries(calls)) {
    const err = await t.throwsAsync(call(), { instanceOf: TimeoutError }, what);
    t.regex(err.message, /^the call did not finish within its timeout of (1|50) ms$/, what);
  }
  t.deepEqual(await pool.map((x) => x + 1, [1]), [2]);
});

test('onProgress reports along the way and ends with (total, total)', async (t) => {
  const pool = new Pool(1);
  t.teardown(() => pool.terminate());
  const seen = [];
  const n = 20_000_000;
  await pool.map(kernels.exp, big(n), { onProgress: (done, total) => seen.push([done, total]) });
  t.deepEqual(seen.at(-1), [n, n]);
  t.true(seen.every(([d, total], i) => total === n && d > 0 && (i === 0 || d >= seen[i - 1][0])));
  const js = [];
  await pool.map((x) => x, [1, 2, 3, 4], { chunksize: 1, onProgress: (d, total) => js.push(`${d}/${total}`) });
  t.deepEqual(js, ['1/4', '2/4', '3/4', '4/4']);
});

test('many concurrent calls of every kind are all correct', async (t) => {
  const pool = new Pool();
  t.teardown(() => pool.terminate());
  const x = new Float64Array(1_500_000).map((_, i) => i % 7);
  const calls = [];
  for (let i = 0; i < 8; i++) {
    calls.push(pool.map(kernels.affine(i, 1), x).then((r) => t.is(r[13], i * 6 + 1)));
    calls.push(pool.reduce(kernels.sum, x).then((s) => t.is(s, x.reduce((a, b) => a + b, 0))));
    calls.push(pool.map((v) => v * 2, [i, i + 1]).then((r) => t.deepEqual(r, [2 * i, 2 * i + 2])));
  }
  await Promise.all(calls);
});

test('pools made after others were terminated (twice over, and joined too) keep lanes of their own', async (t) => {
  // A terminated pool hands its shared memory on to the next pool made (src/engine/spare-memory.ts).
  // Handed on twice, two live pools would share one express lane: a worker of one would take
  // the other's call and run its own function of that id (or fail: the id is unknown to it).
  for (let round = 0; round < 5; round++) {
    const old = new Pool(1);
    t.is(await old.apply((x) => x * 2, [round]), round * 2);
    old.close();
    await Promise.all([old.terminate(), old.terminate(), old.join()]);
    const a = new Pool(1);
    const b = new Pool(1);
    const loop = async (pool, tag, f) => {
      for (let i = 0; i < 200; i++) t.deepEqual(await pool.apply(f, [i]), [tag, i]);
    };
    await Promise.all([loop(a, 'a', (x) => ['a', x]), loop(b, 'b', (x) => ['b', x])]);
    await Promise.all([a.terminate(), b.terminate()]);
  }
});
