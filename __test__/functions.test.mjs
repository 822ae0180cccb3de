// Which JS functions a pool can ship to its workers (by source), which it refuses and how,
// module tasks (task(url, name)), and the values that survive the round trip.
import test from 'ava';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Pool, TaskSerializationError, sharedArray, task } from '../dist/index.mjs';
import { collect } from './support/helpers.mjs';

const ESM = new URL('./fixtures/tasks/esm.mjs', import.meta.url);
const CJS = new URL('./fixtures/tasks/cjs.cjs', import.meta.url);
const CJS_NAMED = new URL('./fixtures/tasks/cjs-named.cjs', import.meta.url);

let shared;
const pool = () => (shared ??= new Pool({ processes: 2 }));
test.after.always(() => shared?.terminate());

function fresh(t, options = { processes: 2 }) {
  const p = new Pool(options);
  t.teardown(() => p.terminate());
  return p;
}

/** Runs `work`, which may throw at once (imap) or reject; returns the error. */
async function failure(t, work, expectation) {
  return t.throwsAsync(async () => {
    const r = work();
    if (typeof r?.[Symbol.asyncIterator] === 'function') await collect(r);
    else await r;
  }, expectation);
}

// --- kinds of function that ship ---------------------------------------------------

test('an arrow function', async (t) => {
  t.timeout(20_000);
  t.deepEqual(await pool().map((x) => x * x, [1, 2, 3]), [1, 4, 9]);
  t.deepEqual(await pool().map((x) => { const y = x + 1; return y * 2; }, [1, 2, 3]), [4, 6, 8]);
  t.deepEqual(await pool().map(x => x - 1, [1, 2, 3]), [0, 1, 2]); // prettier-ignore
});

test('a function expression, anonymous and named', async (t) => {
  t.timeout(20_000);
  t.deepEqual(await pool().map(function (x) { return x + 1; }, [1, 2]), [2, 3]);
  t.deepEqual(await pool().map(function plusTwo(x) { return x + 2; }, [1, 2]), [3, 4]);
});

test('a named recursive function declaration: function fib(n) { … fib(n-1) … }', async (t) => {
  t.timeout(20_000);
  function fib(n) {
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
  }
  t.deepEqual(await pool().map(fib, [0, 1, 2, 10, 20]), [0, 1, 1, 55, 6765]);
  t.is(await pool().apply(fib, [15]), 610);
  t.deepEqual(await pool().starmap(fib, [[5], [6]]), [5, 8]);
});

test('an arrow assigned to a const that recurses by its own name', async (t) => {
  t.timeout(20_000);
  const f = (n) => (n < 2 ? n : f(n - 1) + f(n - 2));
  t.deepEqual(await pool().map(f, [0, 1, 10, 20]), [0, 1, 55, 6765]);
  const fact = function (n) { return n <= 1 ? 1 : n * fact(n - 1); };
  t.deepEqual(await pool().map(fact, [1, 5, 10]), [1, 120, 3628800]);
});

test('async functions: async arrow, async function, async function returning late', async (t) => {
  t.timeout(20_000);
  t.deepEqual(await pool().map(async (x) => x * 3, [1, 2, 3]), [3, 6, 9]);
  t.deepEqual(await pool().map(async function later(x) { await new Promise((r) => setTimeout(r, 10)); return `${x}!`; }, ['a', 'b']), ['a!', 'b!']);
  t.is(await pool().apply(async (a, b) => a + b, [20, 22]), 42);
  t.deepEqual(await collect(pool().imap(async (x) => x * 2, [1, 2, 3])), [2, 4, 6]);
});

test('method shorthand, sync and async: const o = { sq(x) { … } }; o.sq', async (t) => {
  t.timeout(20_000);
  const o = {
    sq(x) {
      return x * x;
    },
    async asq(x) {
      return x * x;
    },
  };
  t.deepEqual(await pool().map(o.sq, [1, 2, 3]), [1, 4, 9]);
  t.deepEqual(await pool().map(o.asq, [4, 5]), [16, 25]);
  class K {
    static cube(x) {
      return x ** 3;
    }
  }
  t.deepEqual(await pool().map(K.cube, [2, 3]), [8, 27]);
});

test('parameters: defaults, destructuring, rest; sources with braces in strings and comments', async (t) => {
  t.timeout(20_000);
  t.deepEqual(await pool().map((x, k = 10) => x * k, [1, 2]), [10, 20]);
  t.deepEqual(await pool().map(({ a, b: [c] }) => a + c, [{ a: 1, b: [2] }, { a: 3, b: [4] }]), [3, 7]);
  t.deepEqual(await pool().starmap((...all) => all.join('-'), [[1, 2, 3], ['x']]), ['1-2-3', 'x']);
  t.deepEqual(await pool().map((s) => /* } { */ `{${s}}` + '}{'.length, ['a']), ['{a}2']);
});

test('functions may use the worker\'s globals (Math, JSON, TextEncoder, structuredClone)', async (t) => {
  t.timeout(20_000);
  t.deepEqual(
    await pool().map((x) => [Math.max(x, 2), JSON.stringify({ x }), new TextEncoder().encode(String(x)).length, structuredClone([x])[0]], [1, 300]),
    [[2, '{"x":1}', 1, 1], [300, '{"x":300}', 3, 300]],
  );
});

test('a task runs in a worker, never on the calling thread: its globalThis writes stay there', async (t) => {
  t.timeout(30_000);
  const p = fresh(t);
  const touch = (x) => {
    globalThis.__jsFunctionsTouched = x;
    return x + 1;
  };
  // Many small calls of a cheap function (a pool may learn that it is cheap).
  for (let i = 0; i < 30; i++) t.deepEqual(await p.map(touch, [1, 2, 3]), [2, 3, 4]);
  for (let i = 0; i < 30; i++) t.is(await p.apply(touch, [i]), i + 1);
  t.deepEqual(await p.starmap(touch, [[7]]), [8]);
  t.is(globalThis.__jsFunctionsTouched, undefined, 'the task ran on the calling thread');
});

// --- what cannot be shipped ---------------------------------------------------------

test('a closure over an outer variable rejects with TaskSerializationError naming the variable', async (t) => {
  t.timeout(20_000);
  const capturedOffset = 5;
  const closure = (x) => x + capturedOffset;
  t.is(closure(1), 6); // it works here, on the calling thread
  const methods = [
    ['map', () => pool().map(closure, [1, 2])],
    ['starmap', () => pool().starmap(closure, [[1]])],
    ['apply', () => pool().apply(closure, [1])],
    ['applyAsync', () => pool().applyAsync(closure, [1]).get()],
    ['mapAsync', () => pool().mapAsync(closure, [1]).get()],
    ['imap', () => pool().imap(closure, [1, 2])],
    ['imapUnordered', () => pool().imapUnordered(closure, [1, 2])],
  ];
  for (const [method, work] of methods) {
    const error = await failure(t, work, { instanceOf: TaskSerializationError });
    t.is(error.name, 'TaskSerializationError', method);
    t.true(error instanceof TypeError, `${method}: TaskSerializationError is a TypeError`);
    t.regex(error.message, /capturedOffset/, `${method}: names the variable`);
    t.regex(error.message, /initializer/, `${method}: says to use the initializer`);
    t.regex(error.message, /task\(/, `${method}: says to use task()`);
  }
  // The same call, made again, fails the same way.
  await t.throwsAsync(pool().map(closure, [1, 2]), { instanceOf: TaskSerializationError, message: /capturedOffset/ });
  t.deepEqual(await pool().map((x) => x + 1, [1]), [2], 'the pool keeps working');
});

test('a closure in a named function, and a closure over a function', async (t) => {
  t.timeout(20_000);
  const helperFn = (x) => x * 2;
  function usesHelper(x) {
    return helperFn(x);
  }
  const e = await t.throwsAsync(pool().map(usesHelper, [1]), { instanceOf: TaskSerializationError });
  t.regex(e.message, /helperFn/);
});

test('a bound function rejects with TaskSerializationError mentioning bound', async (t) => {
  t.timeout(20_000);
  function add(a, b) {
    return a + b;
  }
  const bound = add.bind(null, 1);
  for (const work of [() => pool().map(bound, [1]), () => pool().apply(bound, [1]), () => pool().imap(bound, [1])]) {
    const error = await failure(t, work, { instanceOf: TaskSerializationError });
    t.regex(error.message, /bound/);
  }
});

test('a native function (Math.sqrt) rejects with TaskSerializationError mentioning native', async (t) => {
  t.timeout(20_000);
  for (const fn of [Math.sqrt, parseInt, Array.isArray]) {
    const error = await t.throwsAsync(pool().map(fn, [4]), { instanceOf: TaskSerializationError });
    t.regex(error.message, /native/);
    t.regex(error.message, new RegExp(fn.name));
  }
  const e = await t.throwsAsync(pool().starmap(Math.max, [[1, 2]]), { instanceOf: TaskSerializationError });
  t.regex(e.message, /native/);
});

test('a class rejects with TaskSerializationError', async (t) => {
  t.timeout(20_000);
  class Point {
    constructor(x) {
      this.x = x;
    }
  }
  await t.throwsAsync(pool().map(Point, [1]), { instanceOf: TaskSerializationError, message: /class/ });
  await t.throwsAsync(pool().apply(class {}, []), { instanceOf: TaskSerializationError });
});

test('a fn that is not a function (42, null, \'x\', {}) is a TypeError naming fn', async (t) => {
  t.timeout(20_000);
  for (const fn of [42, null, undefined, 'x', {}]) {
    for (const [method, work] of [
      ['map', () => pool().map(fn, [1])],
      ['starmap', () => pool().starmap(fn, [[1]])],
      ['apply', () => pool().apply(fn, [1])],
      ['imap', () => pool().imap(fn, [1])],
      ['imapUnordered', () => pool().imapUnordered(fn, [1])],
      ['mapAsync', () => pool().mapAsync(fn, [1]).get()],
    ]) {
      const error = await failure(t, work, { instanceOf: TypeError });
      t.false(error instanceof TaskSerializationError, `${method}(${String(fn)})`);
      t.regex(error.message, /\bfn\b/, `${method}(${String(fn)}): ${error.message}`);
    }
  }
  t.deepEqual(await pool().map((x) => x, [1]), [1], 'a bad call leaves the pool working');
});

// --- module tasks ------------------------------------------------------------------

test('task(url, name) of an ES module that imports node:crypto and uses a closure', async (t) => {
  t.timeout(20_000);
  const expected = ['a', 'b', 'c'].map((s) => createHash('sha256').update(`ferropool-js:${s}`).digest('hex'));
  t.deepEqual(await pool().map(task(ESM, 'sha'), ['a', 'b', 'c']), expected);
  t.deepEqual(await pool().map(task(ESM, 'triple'), [1, 2, 3]), [3, 6, 9]);
  t.deepEqual(await pool().map(task(ESM, 'slowDouble'), [1, 2, 3]), [2, 4, 6]);
  t.deepEqual(await pool().starmap(task(ESM, 'add'), [[1, 2], ['a', 'b']]), [3, 'ab']);
  t.is(await pool().apply(task(ESM, 'add'), [40, 2]), 42);
  t.deepEqual(await collect(pool().imap(task(ESM, 'triple'), [1, 2])), [3, 6]);
  // The default export, by default.
  t.deepEqual(await pool().map(task(ESM), [1, 2]), [2, 4]);
  t.deepEqual(await pool().map(task(ESM, 'default'), [5]), [10]);
});

test('task() takes a URL object, a file: URL string or an absolute path', async (t) => {
  t.timeout(20_000);
  for (const where of [ESM, ESM.href, fileURLToPath(ESM)]) {
    t.deepEqual(await pool().map(task(where, 'triple'), [2]), [6], String(where));
  }
  const tk = task(fileURLToPath(ESM), 'triple');
  t.is(tk.exportName, 'triple');
  t.is(tk.url, ESM.href);
  t.throws(() => task(42), { instanceOf: TypeError, message: /moduleUrlOrPath/ });
});

test('module state lives in each worker: calls accumulate per worker', async (t) => {
  t.timeout(20_000);
  const p = fresh(t, { processes: 1 });
  await p.map(task(ESM, 'sha'), ['a', 'b', 'c'], { chunksize: 1 });
  t.is(await p.apply(task(ESM, 'callsSoFar')), 3);
});

test('task(path, name) of a CommonJS module: module.exports is the default, its properties are named', async (t) => {
  t.timeout(20_000);
  t.deepEqual(await pool().map(task(CJS), [1, 'y']), ['cjs:1', 'cjs:y']);
  t.deepEqual(await pool().map(task(fileURLToPath(CJS), 'default'), [2]), ['cjs:2']);
  t.deepEqual(await pool().map(task(CJS, 'md5'), ['q']), [createHash('md5').update('cjs:q').digest('hex')]);
  t.deepEqual(await pool().map(task(CJS, 'square'), [3, 4]), [9, 16]);
  t.deepEqual(await pool().map(task(CJS, 'triple'), [2]), [6]);
  t.deepEqual(await pool().map(task(CJS_NAMED, 'half'), [3, 4]), [1.5, 2]);
});

test('a missing or non-function export rejects with an error naming the export', async (t) => {
  t.timeout(20_000);
  for (const [url, name] of [[ESM, 'noSuchExport'], [ESM, 'notAFunction'], [CJS, 'noSuchExport'], [CJS_NAMED, 'version'], [CJS_NAMED, 'default']]) {
    const error = await t.throwsAsync(pool().map(task(url, name), [1]));
    t.true(error.message.includes(name), `${name}: ${error.message}`);
    const viaApply = await t.throwsAsync(pool().apply(task(url, name), [1]));
    t.true(viaApply.message.includes(name), `${name}: ${viaApply.message}`);
  }
  t.deepEqual(await pool().map(task(ESM, 'triple'), [1]), [3], 'the pool keeps working');
});

test('a module that does not exist rejects, naming it', async (t) => {
  t.timeout(20_000);
  const missing = new URL('./fixtures/tasks/no-such-module.mjs', import.meta.url);
  const error = await t.throwsAsync(pool().map(task(missing, 'f'), [1]));
  t.regex(error.message, /no-such-module/);
  t.deepEqual(await pool().map((x) => x * 2, [21]), [42]);
});

test('a task() as the initializer', async (t) => {
  t.timeout(20_000);
  const p = fresh(t, { processes: 2, initializer: task(ESM, 'init'), initargs: ['from init'] });
  t.deepEqual(await p.map(() => globalThis.fromTaskInit, [1, 2, 3, 4], { chunksize: 1 }), Array(4).fill('from init'));
});

// --- values ------------------------------------------------------------------------

test('values survive the round trip (structured clone)', async (t) => {
  t.timeout(20_000);
  const values = [
    'a string',
    '',
    { a: 1, nested: { b: [1, 2, { c: 'deep' }] } },
    new Map([[1, 'one'], ['k', { v: true }]]),
    new Set([1, 'two', 3]),
    new Date(1_700_000_000_000),
    10n,
    2n ** 80n,
    [[1, [2, [3, [4]]]], []],
    undefined,
    null,
    true,
    NaN,
    -0,
    /re+gex/gi,
    new Uint8Array([1, 2, 3]),
  ];
  const back = await pool().map((x) => x, values);
  t.deepEqual(back, values);
  t.true(Object.is(back[13], -0));
  t.true(back[3] instanceof Map);
  t.true(back[4] instanceof Set);
  t.true(back[5] instanceof Date);
  // Built on the worker side too.
  t.deepEqual(await pool().map((x) => new Map([[x, new Set([x, x * 2])]]), [1]), [new Map([[1, new Set([1, 2])]])]);
  t.deepEqual(await pool().map((x) => x * 2n, [1n, 2n ** 70n]), [2n, 2n ** 71n]);
  t.deepEqual(await pool().map((x) => (x === null ? undefined : null), [null, 1]), [undefined, null]);
  t.deepEqual(await pool().starmap((...a) => a, [[undefined, null, new Date(0)]]), [[undefined, null, new Date(0)]]);
  t.deepEqual(await collect(pool().imap((x) => ({ x }), [new Set([1])])), [{ x: new Set([1]) }]);
  t.deepEqual(await pool().apply((m) => [...m.keys()], [new Map([['k', 1]])]), ['k']);
});

test('a task returning a function rejects: the result cannot be sent back, naming its position', async (t) => {
  t.timeout(20_000);
  const p = fresh(t);
  const returnsFnAt2 = (x) => (x === 2 ? () => x : x);
  for (const [input, opts] of [[[0, 1, 2, 3], undefined], [[0, 1, 2, 3], { chunksize: 1 }], [[0, 1, 2, 3], { chunksize: 3 }], [new Float64Array([0, 1, 2, 3]), undefined], [['0', 1, 2, 3], undefined]]) {
    const error = await t.throwsAsync(p.map(returnsFnAt2, input, opts), { instanceOf: TypeError, name: 'TypeError' });
    t.regex(error.message, /cannot be sent back/);
    t.regex(error.cause.message, /could not be cloned/, 'the structured-clone error is its cause');
    t.regex(error.message, /input\[2\]/, error.message);
    t.is(error.index, 2);
    t.deepEqual(await p.map((x) => x + 1, [1, 2, 3]), [2, 3, 4], 'the pool keeps working');
  }
  const viaImap = [];
  const error = await t.throwsAsync(async () => {
    for await (const r of p.imap(returnsFnAt2, [0, 1, 2, 3])) viaImap.push(r);
  });
  t.deepEqual(viaImap, [0, 1]);
  t.regex(error.message, /cannot be sent back/);
  t.is(error.index, 2);
});

test('other values that cannot be sent back (a symbol, an object with a method) name their position', async (t) => {
  t.timeout(20_000);
  const p = fresh(t);
  const e1 = await t.throwsAsync(p.map((x) => (x === 'c' ? { f() {} } : x), ['a', 'b', 'c', 'd'], { chunksize: 2 }));
  t.regex(e1.message, /cannot be sent back/);
  t.regex(e1.message, /input\[2\]/);
  t.is(e1.index, 2);
  const e2 = await t.throwsAsync(p.map((x) => (x === 3 ? Symbol('s') : x), [0, 1, 2, 3, 4, 5], { chunksize: 6 }));
  t.regex(e2.message, /cannot be sent back/);
  t.regex(e2.message, /input\[3\]/, e2.message);
  t.is(e2.index, 3);
  t.deepEqual(await p.map((x) => x + 1, [1, 2, 3]), [2, 3, 4]);
});

test('apply returning what cannot be sent back rejects that call only; the worker survives', async (t) => {
  t.timeout(20_000);
  const p = fresh(t, { processes: 1 });
  // Made in one turn, so they may share a batch.
  const [fnResult, symbolResult, fine] = await Promise.allSettled([
    p.apply(() => () => 1),
    p.apply(() => Symbol('s')),
    p.apply((x) => x * 2, [21]),
  ]);
  t.is(fnResult.status, 'rejected');
  t.regex(fnResult.reason.message, /cannot be sent back/);
  t.is(symbolResult.status, 'rejected');
  t.regex(symbolResult.reason.message, /cannot be sent back/, `${symbolResult.reason.name}: ${symbolResult.reason.message}`);
  t.deepEqual(fine, { status: 'fulfilled', value: 42 });
  t.is(await p.apply((x) => x + 1, [1]), 2);
});

test('an apply whose args cannot be sent fails alone; the applies batched with it run', async (t) => {
  t.timeout(20_000);
  const settled = await Promise.allSettled([pool().apply((a) => a, [1]), pool().apply((a) => a, [() => 2]), pool().apply((a) => a, [3])]);
  t.deepEqual(settled.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  t.deepEqual([settled[0].value, settled[2].value], [1, 3]);
  t.true(settled[1].reason instanceof TypeError);
});

test('typed arrays: a numeric fn keeps the type, a non-numeric one gives an array', async (t) => {
  t.timeout(20_000);
  const f64 = await pool().map((x) => x * 2, new Float64Array([0.5, 1.25, 3]));
  t.true(f64 instanceof Float64Array);
  t.deepEqual(f64, new Float64Array([1, 2.5, 6]));
  const f32 = await pool().map((x) => x * 2, new Float32Array([0.5, 1.25, 3]));
  t.true(f32 instanceof Float32Array);
  t.deepEqual(f32, new Float32Array([1, 2.5, 6]));
  // Async numeric results count as numeric.
  const asyncF64 = await pool().map(async (x) => x + 1, new Float64Array([1, 2]));
  t.true(asyncF64 instanceof Float64Array);
  t.deepEqual(asyncF64, new Float64Array([2, 3]));
  // Bigger inputs, cut into several chunks.
  const big = Float64Array.from({ length: 10_000 }, (_, i) => i / 7);
  const bigOut = await pool().map((x) => x * 3, big, { chunksize: 999 });
  t.true(bigOut instanceof Float64Array);
  t.is(bigOut.length, big.length);
  t.deepEqual(bigOut, big.map((x) => x * 3));
  const bigF32 = Float32Array.from({ length: 5000 }, (_, i) => i * 0.5);
  const bigF32Out = await pool().map((x) => -x, bigF32, { chunksize: 333 });
  t.true(bigF32Out instanceof Float32Array);
  t.deepEqual(bigF32Out, bigF32.map((x) => -x));
  // The input is not modified.
  t.deepEqual(big.subarray(0, 3), new Float64Array([0, 1 / 7, 2 / 7]));
  // A million elements, with the chunk size the pool picks.
  const million = new Float64Array(1_000_000).map((_, i) => i);
  const squares = await pool().map((x) => x * x, million);
  t.true(squares instanceof Float64Array);
  t.is(squares[999_999], 999_999 ** 2);
  t.is(million[999_999], 999_999, 'the input is untouched');

  const strings = await pool().map((x) => `v${x}`, new Float64Array([1, 2]));
  t.true(Array.isArray(strings));
  t.deepEqual(strings, ['v1', 'v2']);
  const mixed = await pool().map((x) => (x > 1 ? 'big' : x), new Float32Array([0.5, 1, 2, 3]), { chunksize: 2 });
  t.true(Array.isArray(mixed));
  t.deepEqual(mixed, [0.5, 1, 'big', 'big']);
  const objects = await pool().map((x) => ({ x }), new Float64Array(300).fill(1), { chunksize: 7 });
  t.true(Array.isArray(objects));
  t.is(objects.length, 300);
  t.true(objects.every((o) => o.x === 1));
});

test('typed-array views (a subarray, a SharedArrayBuffer) map like any typed array', async (t) => {
  t.timeout(20_000);
  const base = Float64Array.from({ length: 20 }, (_, i) => i);
  const sub = base.subarray(5, 15);
  const out = await pool().map((x) => x * 10, sub, { chunksize: 3 });
  t.true(out instanceof Float64Array);
  t.deepEqual(out, sub.map((x) => x * 10));
  t.deepEqual(base, Float64Array.from({ length: 20 }, (_, i) => i), 'the underlying buffer is untouched');
  t.deepEqual(await pool().map((x) => (x > 8 ? 's' : x), sub, { chunksize: 3 }), [5, 6, 7, 8, 's', 's', 's', 's', 's', 's']);
  const f32 = Float32Array.from([1, 2, 3, 4, 5, 6, 7]).subarray(1, 6);
  const out32 = await pool().map((x) => x * 2, f32, { chunksize: 2 });
  t.true(out32 instanceof Float32Array);
  t.deepEqual(out32, new Float32Array([4, 6, 8, 10, 12]));
  const shared = new Float64Array(new SharedArrayBuffer(8 * 6));
  shared.set([1, 2, 3, 4, 5, 6]);
  const outShared = await pool().map((x) => x + 0.5, shared, { chunksize: 2 });
  t.true(outShared instanceof Float64Array);
  t.deepEqual([...outShared], [1.5, 2.5, 3.5, 4.5, 5.5, 6.5]);
});

test('an array of numbers gives an array, whatever the results are', async (t) => {
  t.timeout(20_000);
  const ints = await pool().map((x) => x * 2, [1, 2, 3]);
  t.true(Array.isArray(ints));
  t.deepEqual(ints, [2, 4, 6]);
  const doubles = await pool().map((x) => x / 2, [1, 2.5, -0, NaN, Infinity, 2 ** 40]);
  t.true(Array.isArray(doubles));
  t.deepEqual(doubles, [0.5, 1.25, -0, NaN, Infinity, 2 ** 39]);
  t.true(Object.is(doubles[2], -0));
  // Integers stay exact past 32 bits.
  t.deepEqual(await pool().map((x) => x * x, [2 ** 20, -(2 ** 21), 46341]), [2 ** 40, 2 ** 42, 46341 * 46341]);
  t.deepEqual(await pool().map((x) => String(x), [1, 2]), ['1', '2']);
  const big = Array.from({ length: 5000 }, (_, i) => i);
  t.deepEqual(await pool().map((x) => x + 0.5, big, { chunksize: 77 }), big.map((x) => x + 0.5));
});

test('a typed array of integers gives its own type back when the results are numbers, as its own map would', async (t) => {
  const p = pool();
  const i32 = Int32Array.of(1, -4, 9);
  // Several calls: once measured, small maps go through the express lane; the type holds there too.
  for (let k = 0; k < 4; k++) {
    const r = await p.map((x) => x * 2.5, i32);
    t.true(r instanceof Int32Array);
    t.deepEqual([...r], [...i32.map((x) => x * 2.5)]);
  }
  const u8 = await p.map((x) => x + 250, Uint8Array.of(1, 10));
  t.true(u8 instanceof Uint8Array);
  t.deepEqual([...u8], [251, 4]); // wraps like Uint8Array.prototype.map
  t.deepEqual([...(await p.map((x) => x, Int16Array.of(-3, 3), { chunksize: 1 }))], [-3, 3]);
  // Results that are not all numbers: an Array, as for any input.
  t.deepEqual(await p.map((x) => (x > 0 ? x : `neg${x}`), Int32Array.of(1, -1)), [1, 'neg-1']);
  // starmap over tuples is not a typed-array map.
  t.deepEqual(await p.starmap((a, b) => a + b, [Int32Array.of(1, 2)]), [3]);
});

test('large integer typed arrays: every kind maps in chunks, exact, in its own type; a map over indices with shared args', async (t) => {
  const p = pool();
  const n = 60_000;
  for (const Kind of [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array]) {
    const input = Kind.from({ length: n }, (_, i) => i * 7919);
    const r = await p.map((x) => x * 3 + 0.5, input);
    t.true(r instanceof Kind, Kind.name);
    t.deepEqual(r, input.map((x) => x * 3 + 0.5), Kind.name);
  }
  // Uint32 values past 2^31 arrive as the same doubles.
  const big = Uint32Array.of(2 ** 32 - 1, 2 ** 31, 7);
  t.deepEqual([...(await p.map((x) => x / 2 ** 16, big, { chunksize: 1 }))], [65535, 32768, 0]);
  // K1's form: labels for indices, points shared, read in place by every worker.
  const points = sharedArray(Float64Array, 2 * n);
  for (let i = 0; i < 2 * n; i++) points[i] = (i * 7919) % 1000;
  const centre = Float64Array.of(250, 250, 750, 750);
  function nearest(i, pts, cen) {
    let best = 0;
    let bestD = Infinity;
    for (let c = 0; c < cen.length; c += 2) {
      const d = (pts[2 * i] - cen[c]) ** 2 + (pts[2 * i + 1] - cen[c + 1]) ** 2;
      if (d < bestD) [best, bestD] = [c >> 1, d];
    }
    return best;
  }
  const indices = Int32Array.from({ length: n }, (_, i) => i);
  const labels = await p.map(nearest, indices, { args: [points, centre] });
  t.true(labels instanceof Int32Array);
  t.deepEqual(labels, indices.map((i) => nearest(i, points, centre)));
});

// --- reduce ------------------------------------------------------------------------

test('reduce with a JS function folds in parallel; fn must be associative', async (t) => {
  t.timeout(20_000);
  t.is(await pool().reduce((a, b) => a + b, Array.from({ length: 1000 }, (_, i) => i)), 499_500);
  t.is(await pool().reduce((a, b) => a + b, ['a', 'b', 'c', 'd'], { chunksize: 1, initial: '>' }), '>abcd');
  t.is(await pool().reduce((a, b) => a + b, [], { initial: 5 }), 5);
  await t.throwsAsync(pool().reduce((a, b) => a + b, []), { instanceOf: TypeError, message: /empty/ });
});

test('reduce with a closure is refused like map with one', async (t) => {
  t.timeout(20_000);
  const k = 3;
  const err = await t.throwsAsync(pool().reduce((a, b) => a + b * k, [1, 2, 3]), { instanceOf: TaskSerializationError });
  t.regex(err.message, /\bk\b/);
});

// --- inline: true ------------------------------------------------------------------

test('with inline: true, small calls of a measured cheap function run on the caller and agree with the workers', async (t) => {
  t.timeout(20_000);
  const p = fresh(t, { processes: 2, inline: true });
  const f = (x) => x * 2 + 1;
  const first = await p.map(f, [1, 2, 3]); // shipped: measures the cost
  const again = await p.map(f, [1, 2, 3]); // may run inline now
  t.deepEqual(first, [3, 5, 7]);
  t.deepEqual(again, first);
  const err = await t.throwsAsync(p.map((x) => { if (x === 2) throw new Error('two'); return x; }, [1, 2, 3]));
  t.is(err.index, 1);
  for (let i = 0; i < 5; i++) t.is(await p.apply((a, b) => a * b, [i, 3]), i * 3);
});
