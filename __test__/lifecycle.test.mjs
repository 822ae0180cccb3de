// Pool lifecycle around kernel calls, and kernel and JS calls together: state,
// close/join/terminate, asyncDispose, abort, timeout (one message for every kind of call),
// progress, concurrency, pool sizes, and pools made after others were terminated. (The JS
// side alone: conformance.test.mjs and crash.test.mjs.)
import test from 'ava';
import { AbortError, Pool, PoolStateError, TimeoutError, cpuCount, kernels } from '../dist/index.mjs';
import { firstMismatch, randomDoubles, runSeed, ulpDistance } from './support/helpers.mjs';

const SEED = runSeed();
const filled = (n, v) => new Float64Array(n).fill(v);
/** Resolves after every microtask queued so far (and those they queue) has run. */
const afterMicrotasks = () => new Promise((resolve) => setImmediate(resolve));
/** A promise's state without waiting for it: 'pending', 'fulfilled' or 'rejected'. */
async function stateOf(promise) {
  let state = 'pending';
  promise.then(() => (state = 'fulfilled'), () => (state = 'rejected'));
  await afterMicrotasks();
  return state;
}
/** Every element of a Float64Array exp(x)-map result, checked against Math.exp within 2 ulps. */
function allExp(t, out, n, x = 0.5) {
  t.true(out instanceof Float64Array);
  t.is(out.length, n);
  const want = Math.exp(x);
  const judged = new Map(); // each distinct value is judged once: the inputs are all equal
  let bad = -1;
  for (let i = 0; i < out.length; i++) {
    const v = out[i];
    if (v === want) continue;
    let ok = judged.get(v);
    if (ok === undefined) judged.set(v, (ok = Number.isFinite(v) && ulpDistance(v, want) <= 2));
    if (!ok) {
      bad = i;
      break;
    }
  }
  t.is(bad, -1, `element ${bad}: got ${out[bad]}, expected ${want} within 2 ulps`);
}

test('state and processes are readable; the default size is cpuCount()', async (t) => {
  t.true(Number.isInteger(cpuCount()) && cpuCount() >= 1);
  const pool = new Pool();
  t.is(pool.processes, cpuCount());
  t.is(pool.state, 'running');
  t.is(new Pool({}).processes, cpuCount());
  t.is(new Pool(3).processes, 3);
  t.is(new Pool({ processes: 5 }).processes, 5);
  pool.close();
  t.is(pool.state, 'closed');
  pool.close(); // idempotent
  t.is(pool.state, 'closed');
  await pool.join();
  t.is(pool.state, 'closed');
  await pool.terminate();
  t.is(pool.state, 'terminated');
  pool.close(); // does not turn a terminated pool back into a closed one
  t.is(pool.state, 'terminated');
  const other = new Pool(2);
  await other.terminate();
  t.is(other.state, 'terminated');
  await other.join();
});

test('after close(), and after terminate(), work methods reject with PoolStateError "Pool not running"', async (t) => {
  const closed = new Pool(2);
  t.deepEqual(await closed.map(kernels.square, [3]), [9]);
  closed.close();
  const terminated = new Pool(2);
  await terminated.terminate();
  for (const pool of [closed, terminated]) {
    for (const call of [
      () => pool.map(kernels.square, [1]),
      () => pool.map(kernels.square, new Float64Array(2_000_000)),
      () => pool.reduce(kernels.sum, [1, 2]),
      () => pool.reduce(kernels.max, new Float32Array(2_000_000)),
    ]) {
      const p = call();
      t.true(p instanceof Promise, 'a rejection, not a synchronous throw');
      await t.throwsAsync(p, { instanceOf: PoolStateError, message: /Pool not running/ });
    }
  }
  await closed.join();
});

test('join() while running rejects with PoolStateError "Pool is still running"', async (t) => {
  const pool = new Pool(2);
  await t.throwsAsync(pool.join(), { instanceOf: PoolStateError, message: /Pool is still running/ });
  t.is(pool.state, 'running');
  t.deepEqual(await pool.map(kernels.neg, [1]), [-1], 'the pool is unaffected');
  pool.close();
  await pool.join();
});

test('close() then join() waits for the work already submitted', async (t) => {
  const pool = new Pool();
  const n = 5_000_000;
  const mapped = pool.map(kernels.exp, filled(n, 0.5));
  const summed = pool.reduce(kernels.sum, filled(n, 0.25), { map: kernels.sqrt });
  const small = pool.map(kernels.square, [1, 2, 3]);
  const js = pool.map((x) => x * 3, [1, 2, 3]);
  pool.close();
  await t.throwsAsync(pool.map(kernels.exp, filled(n, 0.5)), { instanceOf: PoolStateError });
  await t.throwsAsync(pool.map((x) => x, [1]), { instanceOf: PoolStateError, message: /Pool not running/ });
  await pool.join();
  // join() resolved only after the native work finished: the calls settle without any
  // further wait (only the microtasks already queued).
  t.is(await stateOf(mapped), 'fulfilled');
  t.is(await stateOf(summed), 'fulfilled');
  allExp(t, await mapped, n);
  t.is(await summed, n * 0.5);
  t.deepEqual(await small, [1, 4, 9]);
  t.deepEqual(await js, [3, 6, 9]);
  await pool.join(); // a second join is fine
});

test('terminate() during big calls rejects them with PoolStateError, and frees their buffers', async (t) => {
  const pool = new Pool();
  const n = 10_000_000;
  const out = new Float64Array(n);
  const mapped = pool.map(kernels.exp, filled(n, 1), { out });
  const reduced = pool.reduce(kernels.sum, filled(n, 1), { map: kernels.sin });
  const endless = pool.map(() => { for (;;) {} }, [1, 2]);
  const terminated = pool.terminate();
  t.is(pool.state, 'terminated');
  await t.throwsAsync(mapped, { instanceOf: PoolStateError });
  await t.throwsAsync(reduced, { instanceOf: PoolStateError });
  await t.throwsAsync(endless, { instanceOf: PoolStateError });
  await terminated;
  // Once terminate() has resolved no pool thread writes into `out` any more.
  out.fill(7);
  const other = new Pool();
  allExp(t, await other.map(kernels.exp, filled(n, 2)), n, 2);
  await other.terminate();
  t.true(out.every((v) => v === 7), 'nothing wrote into the terminated call\'s output');
  await t.throwsAsync(pool.map(kernels.abs, [1]), { instanceOf: PoolStateError, message: /Pool not running/ });
  await pool.join();
});

test('Symbol.asyncDispose closes the pool and waits for its work', async (t) => {
  const pool = new Pool();
  t.is(typeof pool[Symbol.asyncDispose], 'function');
  const n = 5_000_000;
  const mapped = pool.map(kernels.exp, filled(n, 0.5));
  await pool[Symbol.asyncDispose]();
  t.is(pool.state, 'closed');
  t.is(await stateOf(mapped), 'fulfilled');
  allExp(t, await mapped, n);
  await t.throwsAsync(pool.map(kernels.abs, [1]), { instanceOf: PoolStateError });
});

test('an already aborted signal rejects with AbortError whose cause is the reason', async (t) => {
  const pool = new Pool();
  t.teardown(() => pool.terminate());
  const reason = new Error('stop now');
  const ac = new AbortController();
  ac.abort(reason);
  for (const call of [
    (signal) => pool.map(kernels.sqrt, [1, 4], { signal }),
    (signal) => pool.map(kernels.sqrt, new Float64Array(3_000_000), { signal }),
    (signal) => pool.map(kernels.sqrt, (async function* () { yield 1; })(), { signal }),
    (signal) => pool.reduce(kernels.sum, [1, 2], { signal }),
    (signal) => pool.reduce(kernels.sum, new Float32Array(3_000_000), { signal }),
  ]) {
    const err = await t.throwsAsync(call(ac.signal), { instanceOf: AbortError });
    t.is(err.name, 'AbortError');
    t.is(err.cause, reason);
    const other = await t.throwsAsync(call(AbortSignal.abort('just a string')), { instanceOf: AbortError });
    t.is(other.cause, 'just a string');
  }
  const plain = new AbortController();
  plain.abort();
  const err = await t.throwsAsync(pool.map(kernels.sqrt, [1], { signal: plain.signal }), { instanceOf: AbortError });
  t.is(err.cause, plain.signal.reason, 'the default reason (a DOMException) is the cause');
  const out = new Float64Array(2).fill(5);
  await t.throwsAsync(pool.map(kernels.sqrt, [1, 4], { signal: ac.signal, out }), { instanceOf: AbortError });
  t.deepEqual([...out], [5, 5], 'an aborted call writes nothing');
  t.deepEqual(await pool.map(kernels.sqrt, [9]), [3]);
});

// Serial: the timer and setImmediate below must not wait behind another test's synchronous
// work (filling a 160 MB array), or the pool could finish before they fire.
test.serial('aborting during a big map rejects it with AbortError, and the pool goes on', async (t) => {
  const pool = new Pool();
  t.teardown(() => pool.terminate());
  const n = 20_000_000;
  const x = filled(n, 0.5);
  // Aborted right after the call started (it cannot have settled: that needs this thread).
  const ac = new AbortController();
  const call = pool.map(kernels.exp, x, { signal: ac.signal });
  const reason = new Error('enough');
  ac.abort(reason);
  const err = await t.throwsAsync(call, { instanceOf: AbortError });
  t.is(err.cause, reason);
  // Aborted on a later turn of the event loop, while the pool threads work.
  const later = new AbortController();
  const call2 = pool.reduce(kernels.sum, x, { signal: later.signal, map: kernels.exp });
  setImmediate(() => later.abort('later'));
  const err2 = await t.throwsAsync(call2, { instanceOf: AbortError });
  t.is(err2.cause, 'later');
  // The same pool answers right afterwards, with the pool threads.
  allExp(t, await pool.map(kernels.exp, x), n);
  t.is(await pool.reduce(kernels.sum, x), n * 0.5);
  // Aborting after a call settled changes nothing.
  const done = new AbortController();
  const ok = await pool.map(kernels.square, filled(3_000_000, 3), { signal: done.signal });
  done.abort();
  t.true(ok.every((v) => v === 9));
});

test.serial('a timeout of 1 ms on a big map rejects with TimeoutError, and the pool goes on', async (t) => {
  const pool = new Pool();
  t.teardown(() => pool.terminate());
  const n = 20_000_000;
  const x = filled(n, 0.5);
  await t.throwsAsync(pool.map(kernels.exp, x, { timeout: 1 }), { instanceOf: TimeoutError });
  await t.throwsAsync(pool.reduce(kernels.sum, x, { timeout: 1, map: kernels.cos }), { instanceOf: TimeoutError });
  const err = await t.throwsAsync(pool.map(kernels.exp, x, { timeout: 1 }));
  t.is(err.name, 'TimeoutError');
  allExp(t, await pool.map(kernels.exp, x), n);
  // A generous timeout does not fire.
  allExp(t, await pool.map(kernels.exp, x, { timeout: 600_000 }), n);
  t.deepEqual(await pool.map(kernels.square, [5], { timeout: 1 }), [25], 'an inline call finishes before any timer');
});

test.serial('every kind of call times out with the same message', async (t) => {
  const pool = new Pool(2);
  t.teardown(() => pool.terminate());
  const x = filled(20_000_000, 0.5);
  const endless = () => {
    for (;;);
  };
  async function drain(it) {
    for await (const _ of it);
  }
  const calls = {
    'kernel map': () => pool.map(kernels.exp, x, { timeout: 1 }),
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

test('onProgress ends with (total, total) and never goes backwards', async (t) => {
  const pool = new Pool();
  t.teardown(() => pool.terminate());
  for (const n of [0, 5, 1000, 300_000, 4_000_000]) {
    const seen = [];
    const onProgress = (done, total) => seen.push([done, total]);
    const out = await pool.map(kernels.exp, filled(n, 0.5), { onProgress });
    t.is(out.length, n);
    t.deepEqual(seen.at(-1), [n, n], `map n=${n}`);
    t.is(seen.filter(([d]) => d === n).length, 1, `(n, n) is reported once, n=${n}`);
    t.true(seen.every(([d, total], i) => total === n && d >= 0 && d <= n && (i === 0 || d > seen[i - 1][0])), `map n=${n}: ${JSON.stringify(seen)}`);
    const rseen = [];
    await pool.reduce(kernels.sum, filled(n, 1), { map: kernels.exp, onProgress: (d, total) => rseen.push([d, total]) });
    t.deepEqual(rseen.at(-1), [n, n], `reduce n=${n}`);
  }
  const fromArray = [];
  await pool.map(kernels.neg, [1, 2, 3], { onProgress: (d, total) => fromArray.push([d, total]) });
  t.deepEqual(fromArray, [[3, 3]]);
  // A JS map reports each chunk as it completes.
  const js = [];
  await pool.map((x) => x, [1, 2, 3, 4], { chunksize: 1, onProgress: (d, total) => js.push(`${d}/${total}`) });
  t.deepEqual(js, ['1/4', '2/4', '3/4', '4/4']);
});

test('many concurrent big calls, kernel and JS, are all correct', async (t) => {
  const pool = new Pool();
  t.teardown(() => pool.terminate());
  const n = 300_007; // assisted: the caller and the pool threads share each call
  const x = randomDoubles(SEED, n);
  const x32 = Float32Array.from(x);
  const calls = [];
  for (let i = 0; i < 8; i++) {
    const a = i + 0.5;
    const b = -i;
    calls.push(
      pool.map(kernels.affine(a, b), x).then((out) => {
        t.is(firstMismatch(out, Array.from(x, (v) => a * v + b)), undefined, `f64 affine #${i}, seed ${SEED}`);
      }),
      pool.map(kernels.affine(a, b), x32).then((out) => {
        t.is(firstMismatch(out, Float32Array.from(x32, (v) => Math.fround(a * v + b))), undefined, `f32 affine #${i}, seed ${SEED}`);
      }),
      pool.reduce(kernels.max, x, { map: kernels.affine(a, b) }).then((m) => {
        let want = -Infinity;
        for (const v of x) want = Number.isNaN(want) || Number.isNaN(a * v + b) ? NaN : Math.max(want, a * v + b);
        t.true(Object.is(m, want), `max #${i}: ${m} vs ${want}`);
      }),
      pool.map((v) => v * 2, [i, i + 1]).then((r) => t.deepEqual(r, [2 * i, 2 * i + 2], `JS map #${i}`)),
    );
  }
  await Promise.all(calls);
});

test('a pool of one process gives the same results as the default pool', async (t) => {
  const one = new Pool(1);
  const many = new Pool();
  t.teardown(() => Promise.all([one.terminate(), many.terminate()]));
  t.is(one.processes, 1);
  for (const n of [7, 131_073, 2_000_003]) {
    const x = randomDoubles(SEED + n, n);
    for (const k of [kernels.sqrt, kernels.exp, kernels.clamp(-3, 3)]) {
      const a = await one.map(k, x);
      const b = await many.map(k, x);
      t.is(firstMismatch(a, b), undefined, `${k.name} n=${n}, seed ${SEED}`);
    }
    for (const k of ['sum', 'min', 'max', 'mean']) {
      t.true(Object.is(await one.reduce(kernels[k], x), await many.reduce(kernels[k], x)), `${k} n=${n}, seed ${SEED}`);
    }
  }
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
      for (let i = 0; i < 50; i++) t.deepEqual(await pool.apply(f, [i]), [tag, i]);
    };
    await Promise.all([loop(a, 'a', (x) => ['a', x]), loop(b, 'b', (x) => ['b', x])]);
    await Promise.all([a.terminate(), b.terminate()]);
  }
});
