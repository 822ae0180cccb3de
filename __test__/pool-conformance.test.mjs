// Ported in spirit from CPython's Lib/test/_test_multiprocessing.py (_TestPool,
// _TestPoolWorkerLifetime, _TestPoolWorkerErrors), with API.md's deliberate deviations:
// Promises, fail-fast map, `await using` closes rather than terminates.
import test from 'ava';
import { AsyncResult, Pool, PoolStateError, TimeoutError } from '../dist/index.mjs';

const pool = new Pool({ processes: 2, inline: false });
test.after.always(() => pool.terminate());

const sqr = (x) => x * x;
const range = (n) => Array.from({ length: n }, (_, i) => i);

test('apply', async (t) => {
  t.is(await pool.apply(sqr, [5]), 25);
  t.is(await pool.apply((a, b) => a - b, [7, 2]), 5);
  t.is(await pool.apply(() => 'none'), 'none');
});

test('map, with and without chunksize', async (t) => {
  t.deepEqual(await pool.map(sqr, range(10)), range(10).map(sqr));
  t.deepEqual(await pool.map(sqr, range(100)), range(100).map(sqr));
  for (const chunksize of [1, 3, 7, 150]) t.deepEqual(await pool.map(sqr, range(100), { chunksize }), range(100).map(sqr), `chunksize ${chunksize}`);
});

test('map over empty input', async (t) => {
  t.deepEqual(await pool.map(sqr, []), []);
  t.deepEqual(await pool.starmap((a, b) => a + b, []), []);
  const it = pool.imap(sqr, []);
  t.deepEqual(await it.next(), { value: undefined, done: true });
});

test('starmap over the product of two lists', async (t) => {
  const pairs = [];
  for (const a of range(4)) for (const b of range(3)) pairs.push([a, b]);
  t.deepEqual(await pool.starmap((a, b) => a * 10 + b, pairs), pairs.map(([a, b]) => a * 10 + b));
  t.deepEqual(await pool.starmap((a, b) => a + b, [[1, 2], new Set([3, 4])]), [3, 7]);
});

async function collect(it) {
  const out = [];
  for await (const x of it) out.push(x);
  return out;
}

test('imap and imap with chunksize', async (t) => {
  t.deepEqual(await collect(pool.imap(sqr, range(10))), range(10).map(sqr));
  t.deepEqual(await collect(pool.imap(sqr, range(1000), { chunksize: 100 })), range(1000).map(sqr));
});

test('imapUnordered is a permutation, in completion order', async (t) => {
  // Item 0 waits (on shared memory, not a clock) until this thread has received the 19
  // others, so it completes last: imapUnordered must yield it last.
  const received = new Int32Array(new SharedArrayBuffer(4));
  const p = new Pool({ processes: 2, inline: false, initializer: (sab) => { globalThis.received = new Int32Array(sab); }, initargs: [received.buffer] });
  t.teardown(() => p.terminate());
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

test('imap over a generator, an async generator and an endless iterable', async (t) => {
  function* gen() { yield* range(5); }
  t.deepEqual(await collect(pool.imap(sqr, gen())), [0, 1, 4, 9, 16]);
  async function* agen() { for (const x of range(5)) yield x; }
  t.deepEqual(await collect(pool.imap(sqr, agen())), [0, 1, 4, 9, 16]);
  let produced = 0;
  function* forever() { for (;;) yield produced++; }
  const first = [];
  for await (const x of pool.imap(sqr, forever())) { first.push(x); if (first.length === 10) break; }
  t.deepEqual(first, range(10).map(sqr));
  // Without a chunksize chunks grow while items keep coming (at most 4,096 items each,
  // 2 chunks a worker ahead); with chunksize 1, Python's bound: 2 items a worker.
  t.true(produced <= 10 + (2 * pool.processes + 1) * 4096, `bounded read-ahead (read ${produced})`);
  produced = 0;
  first.length = 0;
  for await (const x of pool.imap(sqr, forever(), { chunksize: 1 })) { first.push(x); if (first.length === 10) break; }
  t.deepEqual(first, range(10).map(sqr));
  t.true(produced < 10 + 2 * pool.processes + 2, `bounded read-ahead with chunksize 1 (read ${produced})`);
});

test('breaking out of imap early leaves the pool working', async (t) => {
  const slow = (x) => new Promise((r) => setTimeout(() => r(x), 20));
  const seen = [];
  for await (const x of pool.imap(slow, range(50), { chunksize: 1 })) {
    seen.push(x);
    if (seen.length === 3) break;
  }
  t.deepEqual(seen, [0, 1, 2]);
  t.deepEqual(await pool.map(sqr, [1, 2, 3]), [1, 4, 9]);
});

test('imap over an iterable that throws part-way yields what came before, then throws', async (t) => {
  function* broken() { yield 1; yield 2; yield 3; throw new Error('iterable broke'); }
  const seen = [];
  await t.throwsAsync(async () => { for await (const x of pool.imap(sqr, broken())) seen.push(x); }, { message: 'iterable broke' });
  t.deepEqual(seen, [1, 4, 9]);
});

test('imap yields every result before a failing task, then throws with its index', async (t) => {
  const failAt7 = (x) => { if (x === 7) throw new RangeError('seven'); return x; };
  const seen = [];
  const err = await t.throwsAsync(async () => { for await (const x of pool.imap(failAt7, range(20), { chunksize: 3 })) seen.push(x); }, { instanceOf: RangeError, message: 'seven' });
  t.deepEqual(seen, range(7));
  t.is(err.index, 7);
});

test('mapAsync: get(), get(timeout), ready(), successful(), wait()', async (t) => {
  const slow = (x) => new Promise((r) => setTimeout(() => r(x), 400));
  const r = pool.mapAsync(slow, [1, 2]);
  t.true(r instanceof AsyncResult);
  t.false(r.ready());
  t.throws(() => r.successful(), { instanceOf: PoolStateError });
  await t.throwsAsync(r.get(20), { instanceOf: TimeoutError });
  await r.wait(10);
  t.deepEqual(await r.get(), [1, 2], 'the work went on after the timeout');
  t.true(r.ready());
  t.true(r.successful());
  t.deepEqual(await r, [1, 2], 'thenable');
});

test('callback and errorCallback are called once, before get() resolves', async (t) => {
  const values = [];
  const r = pool.mapAsync(sqr, [2, 3], { callback: (v) => values.push(v) });
  t.deepEqual(await r.get(), [4, 9]);
  t.deepEqual(values, [[4, 9]]);
  const errors = [];
  const bad = pool.applyAsync(() => { throw new TypeError('nope'); }, [], { errorCallback: (e) => errors.push(e) });
  await t.throwsAsync(bad.get(), { instanceOf: TypeError, message: 'nope' });
  t.is(errors.length, 1);
  t.false(bad.successful());
  const star = pool.starmapAsync((a, b) => a + b, [[1, 2]]);
  t.deepEqual(await star.get(), [3]);
});

test('the context manager closes and joins', async (t) => {
  const p = new Pool(2);
  const pending = p.map(sqr, range(10));
  await p[Symbol.asyncDispose]();
  t.is(p.state, 'closed');
  t.deepEqual(await pending, range(10).map(sqr));
});

test('terminate() while a slow map runs rejects it', async (t) => {
  const p = new Pool(2);
  const slow = p.map((x) => new Promise((r) => setTimeout(() => r(x), 5000)), range(4));
  setTimeout(() => p.terminate(), 50);
  await t.throwsAsync(slow, { instanceOf: PoolStateError });
  await t.throwsAsync(p.apply(sqr, [1]), { instanceOf: PoolStateError, message: /Pool not running/ });
});

test('initializer and initargs set worker globals seen by later tasks', async (t) => {
  const p = new Pool({ processes: 2, initializer: (v, w) => { globalThis.seed = v * w; }, initargs: [6, 7] });
  t.teardown(() => p.terminate());
  t.deepEqual(await p.map(() => globalThis.seed, range(40), { chunksize: 1 }), range(40).map(() => 42));
});

test('an initializer that throws rejects the pending calls instead of hanging', async (t) => {
  const p = new Pool({ processes: 2, initializer: () => { throw new Error('bad init'); } });
  t.teardown(() => p.terminate());
  await t.throwsAsync(p.map(sqr, [1, 2]), { name: 'RemoteError', message: /initializer.*bad init/ });
});

test('maxTasksPerChild replaces workers and keeps every result', async (t) => {
  const p = new Pool({ processes: 2, maxTasksPerChild: 1 });
  t.teardown(() => p.terminate());
  const ids = await p.map((x) => [x, (globalThis.__id ??= Math.random())], range(10), { chunksize: 1 });
  t.deepEqual(ids.map(([x]) => x), range(10));
  t.true(new Set(ids.map(([, id]) => id)).size > 2, 'more workers than processes were used');
});

test('errors keep their class, message, own properties, index and remote stack', async (t) => {
  const thrower = function throwsAtThree(x) {
    if (x === 3) { const e = new TypeError(`bad ${x}`); e.code = 'E_BAD'; e.detail = { x }; throw e; }
    return x;
  };
  const err = await t.throwsAsync(pool.map(thrower, range(10), { chunksize: 2 }), { instanceOf: TypeError, message: 'bad 3' });
  t.is(err.code, 'E_BAD');
  t.deepEqual(err.detail, { x: 3 });
  t.is(err.index, 3);
  t.regex(err.stack, /throwsAtThree/);
  t.regex(err.stack, /pool worker/);
  const custom = await t.throwsAsync(pool.apply(() => { class MyErr extends Error { name = 'MyErr'; } throw new MyErr('mine'); }));
  t.is(custom.name, 'MyErr');
  t.is(custom.message, 'mine');
  t.is(custom.index, 0);
  const thrownString = await t.throwsAsync(pool.apply(() => { throw 'just a string'; }));
  t.is(thrownString.message, 'just a string');
});

test('map fails fast: the chunks not yet started are cancelled', async (t) => {
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const p = new Pool({ processes: 2, initializer: (sab) => { globalThis.counter = new Int32Array(sab); }, initargs: [counter.buffer] });
  t.teardown(() => p.terminate());
  const task = (x) => {
    Atomics.add(globalThis.counter, 0, 1);
    if (x === 0) throw new Error('first');
    return new Promise((r) => setTimeout(() => r(x), 30));
  };
  await t.throwsAsync(p.map(task, range(60), { chunksize: 1 }), { message: 'first' });
  await new Promise((r) => setTimeout(r, 300)); // let the chunks already running finish
  t.true(Atomics.load(counter, 0) < 60, `ran ${Atomics.load(counter, 0)} of 60`);
  t.deepEqual(await p.map(sqr, [2]), [4]);
});
