// Bad arguments: to kernel calls, the constructor and the kernel factories, and every row of
// docs/bad-input.md's table (__test__/support/bad-input-cases.mjs, for every method and
// kind of fn). Each gets a clear error naming the argument (or does what the table says),
// and the pool keeps working after every one of them.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Pool, TaskSerializationError, kernels } from '../dist/index.mjs';
import { CASES } from './support/bad-input-cases.mjs';

const pool = new Pool(2);
test.after.always(() => pool.terminate());

const BIG = 400_000; // big enough to leave the calling thread
let round = 0;
/** A correct map on the same pool right after a bad call, checked. */
async function poolStillWorks(t) {
  const r = ++round; // tests run concurrently: each check uses its own numbers
  t.deepEqual(await pool.map(kernels.sqrt, [4, 9, r * r]), [2, 3, r]);
  const big = await pool.map(kernels.affine(r, 1), new Float64Array(BIG).fill(2));
  t.true(big instanceof Float64Array && big.length === BIG && big.every((v) => v === 2 * r + 1), 'a pooled map is right');
  t.is(await pool.reduce(kernels.sum, new Float64Array(BIG).fill(1)), BIG);
}

function detachedView(n = 4) {
  const a = new Float64Array(n);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a;
}
const resizableView = () => new Float64Array(new ArrayBuffer(8, { maxByteLength: 64 }));
const growableView = () => new Float64Array(new SharedArrayBuffer(8, { maxByteLength: 64 }));

// [what, call, error class, message pattern]
const BAD_INPUTS = [
  ['a string', (m) => m(kernels.sqrt, 'abc'), TypeError, /input.*got a string/],
  ['a non-number element', (m) => m(kernels.sqrt, [1, 'x']), TypeError, /input\[1\] must be a number/],
  ['a bigint element', (m) => m(kernels.sqrt, [1, 2, 3n]), TypeError, /input\[2\]/],
  ['a hole', (m) => m(kernels.sqrt, [1, , 3]), TypeError, /input\[1\]/], // eslint-disable-line no-sparse-arrays
  ['a generator yielding a string', (m) => m(kernels.sqrt, (function* () { yield 1; yield 'two'; })()), TypeError, /input\[1\]/],
  ['an async generator yielding null', (m) => m(kernels.sqrt, (async function* () { yield 1; yield 2; yield null; })()), TypeError, /input\[2\]/],
  ['null', (m) => m(kernels.sqrt, null), TypeError, /input.*null/],
  ['undefined', (m) => m(kernels.sqrt, undefined), TypeError, /input.*undefined/],
  ['42', (m) => m(kernels.sqrt, 42), TypeError, /input.*42/],
  ['{}', (m) => m(kernels.sqrt, {}), TypeError, /input/],
  ['an Int32Array', (m) => m(kernels.sqrt, new Int32Array(3)), TypeError, /Float64Array\.from/],
  ['a Uint8Array', (m) => m(kernels.sqrt, new Uint8Array(3)), TypeError, /Float64Array\.from/],
  ['a BigInt64Array', (m) => m(kernels.sqrt, new BigInt64Array(3)), TypeError, /Float64Array\.from/],
  ['a DataView', (m) => m(kernels.sqrt, new DataView(new ArrayBuffer(8))), TypeError, /input/],
  ['an ArrayBuffer', (m) => m(kernels.sqrt, new ArrayBuffer(8)), TypeError, /input/],
  ['a detached buffer', (m) => m(kernels.sqrt, detachedView()), TypeError, /detached/],
  ['an empty view of a detached buffer', (m) => m(kernels.sqrt, detachedView(0)), TypeError, /detached/],
  ['a resizable ArrayBuffer', (m) => m(kernels.sqrt, resizableView()), TypeError, /resizable/],
  ['a growable SharedArrayBuffer', (m) => m(kernels.sqrt, growableView()), TypeError, /resizable/],
];

const METHODS = [
  ['map', (fn, input, opts) => pool.map(fn, input, opts)],
  ['reduce', (fn, input, opts) => pool.reduce(fn === kernels.sqrt ? kernels.sum : fn, input, opts)],
];

for (const [what, call, type, message] of BAD_INPUTS) {
  for (const [method, m] of METHODS) {
    test(`${method}: input ${what} is a ${type.name} naming it, and the pool keeps working`, async (t) => {
      const err = await t.throwsAsync(async () => call(m), { instanceOf: type, message });
      t.regex(err.message, /input/, 'the message names the argument');
      await poolStillWorks(t);
    });
  }
}

const BAD_FNS = [
  ['a string', 'square', TypeError, /fn must be/],
  ['undefined', undefined, TypeError, /fn must be/],
  ['null', null, TypeError, /fn must be/],
  ['a number', 3, TypeError, /fn must be/],
  ['a plain object', { kind: 'map', name: 'square', code: 0, params: [0, 0] }, TypeError, /fn must be/],
  ['a symbol', Symbol('square'), TypeError, /fn must be/],
  ['a native JS function', Math.sqrt, TaskSerializationError, /native function/],
  ['a bound JS function', function (x) { return x * this.k; }.bind({ k: 2 }), TaskSerializationError, /bound/],
  ['a class', class Square {}, TaskSerializationError, /class/],
];

for (const [what, fn, type, message] of BAD_FNS) {
  test(`map: fn ${what} is refused with a ${type.name}, and the pool keeps working`, async (t) => {
    await t.throwsAsync(async () => pool.map(fn, new Float64Array([1, 4])), { instanceOf: type, message });
    await t.throwsAsync(async () => pool.map(fn, [1, 4]), { instanceOf: type, message });
    await poolStillWorks(t);
  });
}

test('reduce: fn that is not a reduction kernel is a TypeError', async (t) => {
  for (const fn of ['sum', undefined, null, 3, {}, Symbol('sum')]) {
    await t.throwsAsync(async () => pool.reduce(fn, [1, 2]), { instanceOf: TypeError, message: /reduce: fn/ });
  }
  await poolStillWorks(t);
});

test('a JS function that captures an outer variable is refused, naming the variable', async (t) => {
  const factor = 3;
  const err = await t.throwsAsync(pool.map((x) => x * factor, new Float64Array([1, 2])), { name: 'TaskSerializationError' });
  t.regex(err.message, /factor/);
  await poolStillWorks(t);
});

// [what, opts, error class, message pattern]
const BAD_OPTS = [
  ['opts a number', 5, TypeError, /opts must be an object/],
  ['opts a string', 'fast', TypeError, /opts must be an object/],
  ['opts an array', [], TypeError, /opts must be an object/],
  ['opts.chunkSize (a misspelling)', { chunkSize: 2 }, TypeError, /opts\.chunkSize is not an option/],
  ['opts.bogus', { bogus: true }, TypeError, /opts\.bogus/],
  ['chunksize 0', { chunksize: 0 }, RangeError, /opts\.chunksize/],
  ['chunksize -1', { chunksize: -1 }, RangeError, /opts\.chunksize/],
  ['chunksize 1.5', { chunksize: 1.5 }, RangeError, /opts\.chunksize/],
  ["chunksize '2'", { chunksize: '2' }, RangeError, /opts\.chunksize/],
  ['chunksize NaN', { chunksize: NaN }, RangeError, /opts\.chunksize/],
  ['chunksize Infinity', { chunksize: Infinity }, RangeError, /opts\.chunksize/],
  ['chunksize 2**60', { chunksize: 2 ** 60 }, RangeError, /opts\.chunksize/],
  ['timeout -1', { timeout: -1 }, RangeError, /opts\.timeout/],
  ['timeout NaN', { timeout: NaN }, RangeError, /opts\.timeout/],
  ["timeout 'x'", { timeout: 'x' }, TypeError, /opts\.timeout/],
  ['signal {}', { signal: {} }, TypeError, /opts\.signal/],
  ['signal an AbortController', { signal: new AbortController() }, TypeError, /opts\.signal/],
  ['onProgress 1', { onProgress: 1 }, TypeError, /opts\.onProgress/],
  ["onProgress 'log'", { onProgress: 'log' }, TypeError, /opts\.onProgress/],
];

for (const [what, opts, type, message] of BAD_OPTS) {
  test(`${what} is a ${type.name} naming it, for map and reduce, and the pool keeps working`, async (t) => {
    const before = new Float64Array([1, 4, 9]);
    await t.throwsAsync(async () => pool.map(kernels.sqrt, before, opts), { instanceOf: type, message });
    await t.throwsAsync(async () => pool.map(kernels.sqrt, new Float64Array(BIG), opts), { instanceOf: type, message });
    await t.throwsAsync(async () => pool.reduce(kernels.sum, [1, 2, 3], opts), { instanceOf: type, message });
    t.deepEqual([...before], [1, 4, 9], 'the input is untouched');
    await poolStillWorks(t);
  });
}

test('opts.out is only an option of map, opts.initial and opts.map only of reduce', async (t) => {
  await t.throwsAsync(pool.reduce(kernels.sum, [1], { out: new Float64Array(1) }), { instanceOf: TypeError, message: /opts\.out/ });
  await t.throwsAsync(pool.map(kernels.abs, [1], { initial: 0 }), { instanceOf: TypeError, message: /opts\.initial/ });
  await t.throwsAsync(pool.map(kernels.abs, [1], { map: kernels.abs }), { instanceOf: TypeError, message: /opts\.map/ });
  await poolStillWorks(t);
});

test('valid edge options are accepted', async (t) => {
  const x = new Float64Array([1, 4, 9]);
  t.deepEqual([...(await pool.map(kernels.sqrt, x, { timeout: Infinity }))], [1, 2, 3]);
  t.deepEqual([...(await pool.map(kernels.sqrt, x, { timeout: 2_147_483_647 }))], [1, 2, 3]);
  t.deepEqual([...(await pool.map(kernels.sqrt, x, { chunksize: Number.MAX_SAFE_INTEGER }))], [1, 2, 3]);
  t.deepEqual([...(await pool.map(kernels.sqrt, x, { chunksize: undefined, signal: undefined, timeout: undefined, onProgress: undefined }))], [1, 2, 3]);
  t.deepEqual([...(await pool.map(kernels.sqrt, x, null))], [1, 2, 3]);
  t.deepEqual([...(await pool.map(kernels.sqrt, x, {}))], [1, 2, 3]);
  t.deepEqual([...(await pool.map(kernels.sqrt, x, { signal: new AbortController().signal }))], [1, 2, 3]);
});

test('Pool constructor arguments are checked and named', (t) => {
  for (const bad of [0, -1, 1.5, NaN, Infinity]) {
    t.throws(() => new Pool(bad), { instanceOf: RangeError, message: /processes/ }, `new Pool(${bad})`);
  }
  for (const bad of [0, -2, 2.5, '4']) {
    t.throws(() => new Pool({ processes: bad }), { instanceOf: RangeError, message: /processes/ }, `processes: ${bad}`);
  }
  for (const bad of [0, -1, 0.5, '3']) {
    t.throws(() => new Pool({ maxTasksPerChild: bad }), { instanceOf: RangeError, message: /maxTasksPerChild/ }, `maxTasksPerChild: ${bad}`);
  }
  t.throws(() => new Pool({ bogus: 1 }), { instanceOf: TypeError, message: /bogus/ });
  t.throws(() => new Pool({ Processes: 2 }), { instanceOf: TypeError, message: /Processes/ });
  t.throws(() => new Pool('4'), { instanceOf: TypeError });
  t.throws(() => new Pool(null), { instanceOf: TypeError });
  t.is(new Pool({ processes: 3, maxTasksPerChild: 10 }).processes, 3);
  t.is(new Pool(undefined).state, 'running');
});

test('kernel factories check their parameters', (t) => {
  t.throws(() => kernels.affine('a', 1), { instanceOf: TypeError, message: /affine: a/ });
  t.throws(() => kernels.affine(1, '1'), { instanceOf: TypeError, message: /affine: b/ });
  t.throws(() => kernels.affine(1), { instanceOf: TypeError, message: /affine: b/ });
  t.is(kernels.affine(NaN, 1).kind, 'map', 'NaN is a number: the results are NaN, as in JS');
  t.is(kernels.pow(NaN).kind, 'map');
  t.throws(() => kernels.pow(), { instanceOf: TypeError, message: /pow: p/ });
  t.throws(() => kernels.pow('2'), { instanceOf: TypeError, message: /pow: p/ });
  t.throws(() => kernels.clamp(2, 1), { instanceOf: RangeError, message: /clamp/ });
  t.throws(() => kernels.clamp(NaN, 1), { instanceOf: RangeError, message: /NaN/ });
  t.throws(() => kernels.clamp(0, undefined), { instanceOf: TypeError, message: /clamp: hi/ });
  // Valid ones are frozen descriptions that can be reused.
  const k = kernels.clamp(1, 1);
  t.true(Object.isFrozen(k));
  t.true(Object.isFrozen(kernels));
  t.is(kernels.affine(2, 3).kind, 'map');
  t.is(kernels.sum.kind, 'reduce');
});

test('a SharedArrayBuffer-backed Float64Array (and Float32Array) works', async (t) => {
  for (const n of [5, 1_000_003]) {
    const x = new Float64Array(new SharedArrayBuffer(8 * n));
    for (let i = 0; i < n; i++) x[i] = i % 100;
    const y = await pool.map(kernels.square, x);
    t.true(y instanceof Float64Array);
    t.true(y.every((v, i) => v === (i % 100) ** 2), `map n=${n}`);
    let want = 0;
    for (let i = 0; i < n; i++) want += i % 100;
    t.is(await pool.reduce(kernels.sum, x), want, `sum n=${n}`);
    await pool.map(kernels.neg, x, { out: x });
    t.is(x[n - 1], -((n - 1) % 100), 'in place');
    const x32 = new Float32Array(new SharedArrayBuffer(4 * n)).fill(1.5);
    t.is(await pool.reduce(kernels.max, x32, { map: kernels.square }), 2.25);
  }
});

test('each kernel carries the addon op of its name, and the addon refuses ops it does not know', async (t) => {
  const { createRequire } = await import('node:module');
  const native = createRequire(import.meta.url)('../native/index.js');
  const op = (name) => name[0].toUpperCase() + name.slice(1);
  const maps = ['square', 'sqrt', 'abs', 'neg', 'exp', 'log', 'sin', 'cos', 'affine', 'pow', 'clamp'];
  t.deepEqual(Object.keys(native.MapKernelOp).sort(), maps.map(op).sort());
  for (const name of maps) {
    const k = typeof kernels[name] === 'function' ? kernels[name](0, 1) : kernels[name];
    t.is(k.code, native.MapKernelOp[op(name)], name);
  }
  t.deepEqual(Object.keys(native.ReduceKernelOp).sort(), ['Max', 'Mean', 'Min', 'Sum']);
  for (const name of ['sum', 'min', 'max', 'mean']) t.is(kernels[name].code, native.ReduceKernelOp[op(name)], name);
  const a = new Float64Array([1, 2]);
  t.throws(() => native.mapKernel(1, 11, 0, 0, a, a, 0, 1), { message: /MapKernelOp/ });
  t.throws(() => native.reduceKernel(1, 4, undefined, 0, 0, a, null, 0, 1), { message: /ReduceKernelOp/ });
  // No reduction without a map first is spelt -1 any more: that is an unknown map op.
  t.throws(() => native.reduceKernel(1, native.ReduceKernelOp.Sum, -1, 0, 0, a, null, 0, 1), { message: /MapKernelOp/ });
  t.is(native.reduceKernel(1, native.ReduceKernelOp.Sum, undefined, 0, 0, a, null, 0, 1), 3);
  t.is(native.reduceKernel(1, native.ReduceKernelOp.Sum, null, 0, 0, a, null, 0, 1), 3);
  t.is(native.reduceKernel(1, native.ReduceKernelOp.Sum, native.MapKernelOp.Square, 0, 0, a, null, 0, 1), 5);
});

// --- docs/bad-input.md -------------------------------------------------------------

for (const [area, what, call, expected] of CASES) {
  test(`${area} — ${what}`, async (t) => {
    let value;
    let error;
    try {
      value = await call(pool);
    } catch (e) {
      error = e;
    }
    if (expected.type) {
      t.truthy(error, `expected ${expected.type.name}, got ${String(value)}`);
      if (error) {
        t.true(error instanceof expected.type, `${error?.name}: ${error?.message}`);
        t.regex(String(error.message), expected.message);
        if (expected.name) t.is(error.name, expected.name);
      }
    } else {
      t.is(error, undefined, String(error?.stack ?? error));
      t.true(expected.check(value), `unexpected value ${String(value)}`);
    }
    t.deepEqual(await pool.map((x) => x + 1, [1, 2]), [2, 3]);
  });
}

test('docs/bad-input.md is generated from these rows and up to date', (t) => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const fresh = execFileSync(process.execPath, ['scripts/bad-input-table.mjs', '--stdout'], { cwd: root, encoding: 'utf8' });
  t.is(readFileSync(new URL('../docs/bad-input.md', import.meta.url), 'utf8'), fresh, 'run node scripts/bad-input-table.mjs');
});

test('a JS function over a resizable buffer, and options of the wrong type, name what is wrong', async (t) => {
  await t.throwsAsync(pool.map((x) => x, new Float64Array(new ArrayBuffer(8, { maxByteLength: 64 }))), { instanceOf: TypeError, message: /resizable/ });
  t.throws(() => new Pool('4'), { instanceOf: TypeError, message: /Pool options/ });
  await poolStillWorks(t);
});
