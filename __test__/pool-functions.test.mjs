import test from 'ava';
import { Pool, TaskSerializationError, task } from '../dist/index.mjs';

const pool = new Pool({ processes: 2, inline: false });
test.after.always(() => pool.terminate());

test('arrows, function expressions, async functions and methods ship', async (t) => {
  t.deepEqual(await pool.map((x) => x + 1, [1]), [2]);
  t.deepEqual(await pool.map(function (x) { return x * 2; }, [1]), [2]);
  t.deepEqual(await pool.map(async (x) => x * 3, [1]), [3]);
  const o = { sq(x) { return x * x; }, async cube(x) { return x ** 3; } };
  t.deepEqual(await pool.map(o.sq, [3]), [9]);
  t.deepEqual(await pool.map(o.cube, [2]), [8]);
});

test('recursion by the function\'s own name works, for declarations and arrows', async (t) => {
  function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
  const fibArrow = (n) => (n < 2 ? n : fibArrow(n - 1) + fibArrow(n - 2));
  t.deepEqual(await pool.map(fib, [10, 20]), [55, 6765]);
  t.deepEqual(await pool.map(fibArrow, [10, 20]), [55, 6765]);
});

test('a closure is refused with TaskSerializationError naming the variable', async (t) => {
  const factor = 3;
  const err = await t.throwsAsync(pool.map((x) => x * factor, [1]), { instanceOf: TaskSerializationError });
  t.regex(err.message, /factor/);
  t.regex(err.message, /initializer/);
  t.regex(err.message, /task\(/);
});

test('bound, native and class values are refused', async (t) => {
  function f(x) { return x; }
  await t.throwsAsync(pool.map(f.bind(null), [1]), { instanceOf: TaskSerializationError, message: /bound/ });
  await t.throwsAsync(pool.map(Math.sqrt, [1]), { instanceOf: TaskSerializationError, message: /native.*Math\.sqrt|native function \(sqrt\)/ });
  await t.throwsAsync(pool.map(class A {}, [1]), { instanceOf: TaskSerializationError, message: /class/ });
  for (const bad of [42, null, 'x']) await t.throwsAsync(pool.map(bad, [1]), { instanceOf: TypeError, message: /fn/ });
});

test('task() runs ES module and CommonJS exports, imported once per worker', async (t) => {
  const esm = new URL('./fixtures/tasks/esm.mjs', import.meta.url);
  const hashes = await pool.map(task(esm, 'sha'), ['a', 'b']);
  t.is(hashes.length, 2);
  t.regex(hashes[0], /^[0-9a-f]{8}$/);
  t.deepEqual(await pool.map(task(esm), [1, 2]), [2, 4], 'the default export');
  t.deepEqual(await pool.map(task(esm.pathname, 'default'), [5]), [10], 'a path works too');
  const cjs = new URL('./fixtures/tasks/cjs.cjs', import.meta.url);
  t.deepEqual(await pool.map(task(cjs, 'triple'), [2]), [6]);
  t.deepEqual(await pool.map(task(cjs), [7]), [[7, true]]);
  await t.throwsAsync(pool.map(task(esm, 'missing'), [1]), { message: /missing/ });
  await t.throwsAsync(pool.map(task(esm, 'notAFunction'), [1]), { message: /notAFunction/ });
  t.throws(() => task(42), { instanceOf: TypeError, message: /moduleUrlOrPath/ });
});

test('structured-clone values survive the round trip', async (t) => {
  const values = ['s', { a: [1, { b: 2 }] }, new Map([[1, 'one']]), new Set([1, 2]), new Date(5), 10n ** 20n, [[1], [2, [3]]], null, undefined, true];
  t.deepEqual(await pool.map((v) => v, values), values);
  t.deepEqual(await pool.map((m) => m.get(1), [new Map([[1, 'x']])]), ['x']);
});

test('a result that cannot be cloned rejects clearly, and the worker survives', async (t) => {
  const err = await t.throwsAsync(pool.map((x) => (x === 2 ? () => x : x), [1, 2, 3], { chunksize: 3 }));
  t.true(err instanceof TypeError);
  t.is(err.name, 'TypeError');
  t.regex(err.cause.message, /could not be cloned/);
  t.regex(err.message, /input\[1\]/);
  t.is(err.index, 1);
  t.deepEqual(await pool.map((x) => x * 2, [1, 2, 3]), [2, 4, 6]);
});

test('typed arrays in, typed arrays out (numeric results); arrays otherwise', async (t) => {
  const f64 = await pool.map((x) => x * x, new Float64Array([1, 2, 3]));
  t.true(f64 instanceof Float64Array);
  t.deepEqual([...f64], [1, 4, 9]);
  const f32 = await pool.map((x) => x / 3, new Float32Array([1, 2]));
  t.true(f32 instanceof Float32Array);
  t.deepEqual([...f32], [Math.fround(1 / 3), Math.fround(2 / 3)]);
  t.deepEqual(await pool.map((x) => (x > 1 ? 'big' : x), new Float64Array([1, 2])), [1, 'big']);
  t.deepEqual(await pool.map((x) => x * 2, [1.5, 2]), [3, 4]);
  const big = new Float64Array(1_000_000).map((_, i) => i);
  const sq = await pool.map((x) => x * x, big);
  t.is(sq[999_999], 999_999 ** 2);
  t.is(big[999_999], 999_999, 'the input is untouched');
});

test('an apply whose args cannot be sent fails alone; the applies batched with it run', async (t) => {
  const settled = await Promise.allSettled([pool.apply((a) => a, [1]), pool.apply((a) => a, [() => 2]), pool.apply((a) => a, [3])]);
  t.deepEqual(settled.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  t.deepEqual([settled[0].value, settled[2].value], [1, 3]);
  t.true(settled[1].reason instanceof TypeError);
});

test('reduce with a closure is refused like map with one', async (t) => {
  const k = 3;
  const err = await t.throwsAsync(pool.reduce((a, b) => a + b * k, [1, 2, 3]), { instanceOf: TaskSerializationError });
  t.regex(err.message, /\bk\b/);
});

test('reduce with a JS function folds in parallel; fn must be associative', async (t) => {
  t.is(await pool.reduce((a, b) => a + b, Array.from({ length: 1000 }, (_, i) => i)), 499_500);
  t.is(await pool.reduce((a, b) => a + b, ['a', 'b', 'c', 'd'], { chunksize: 1, initial: '>' }), '>abcd');
  t.is(await pool.reduce((a, b) => a + b, [], { initial: 5 }), 5);
  await t.throwsAsync(pool.reduce((a, b) => a + b, []), { instanceOf: TypeError, message: /empty/ });
});

test('with inline: true, small calls of a measured cheap function run on the caller and agree with the workers', async (t) => {
  const p = new Pool({ processes: 2, inline: true });
  t.teardown(() => p.terminate());
  const f = (x) => x * 2 + 1;
  const first = await p.map(f, [1, 2, 3]); // shipped: measures the cost
  const again = await p.map(f, [1, 2, 3]); // may run inline now
  t.deepEqual(first, [3, 5, 7]);
  t.deepEqual(again, first);
  const err = await t.throwsAsync(p.map((x) => { if (x === 2) throw new Error('two'); return x; }, [1, 2, 3]));
  t.is(err.index, 1);
  for (let i = 0; i < 5; i++) t.is(await p.apply((a, b) => a * b, [i, 3]), i * 3);
});
