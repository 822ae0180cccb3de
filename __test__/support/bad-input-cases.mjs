// Every public call against bad and odd input: what each does, as a table. The test
// (__test__/validation.test.mjs) runs every row on one pool and checks the pool still answers
// after each; `node scripts/bad-input-table.mjs` writes docs/bad-input.md from these rows
// (the test fails when the doc is stale).
import { Executor, Lock, Pool, Process, Queue, Value, kernels, task } from '../../dist/index.mjs';

const detached = (Ctor = Float64Array) => {
  const a = new Ctor(4);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a;
};
const resizable = () => new Float64Array(new ArrayBuffer(16, { maxByteLength: 64 }));
const throwingGetter = () => {
  const a = [1, 2, 3];
  Object.defineProperty(a, 1, { get: () => { throw new Error('getter threw'); } });
  return a;
};
const throwingIterable = () => ({
  *[Symbol.iterator]() {
    yield 1;
    throw new Error('iterator threw');
  },
});
const proxyArray = () => new Proxy([1, 2, 3], {});
const sabArray = () => new Float64Array(new SharedArrayBuffer(24)).fill(4);
const square = (x) => x * x;
const err = (type, message, name) => ({ type, message, name });
const ok = (check, note) => ({ check, note });

/** [area, what is passed, the call, the outcome] */
export const CASES = [
  // new Pool(…)
  ['new Pool', 'processes 0, -1, 1.5, NaN, Infinity', () => [0, -1, 1.5, NaN, Infinity].forEach((n) => { try { new Pool(n); } catch (e) { if (!(e instanceof RangeError) || !/processes/.test(e.message)) throw e; return; } throw new Error(`new Pool(${n}) was accepted`); }), ok(() => true, 'each: `RangeError` naming `processes`')],
  ['new Pool', "processes '2' (a string)", () => new Pool({ processes: '2' }), err(RangeError, /processes/)],
  ['new Pool', 'undefined options', () => new Pool(undefined).terminate(), ok(() => true, 'a pool with the defaults')],
  ['new Pool', 'null options', () => new Pool(null), err(TypeError, /options must be a number of processes or an object/)],
  ['new Pool', 'an unknown option', () => new Pool({ procesess: 2 }), err(TypeError, /procesess/)],
  ['new Pool', 'maxTasksPerChild 0', () => new Pool({ maxTasksPerChild: 0 }), err(RangeError, /maxTasksPerChild/)],
  ['new Pool', 'initializer not a function', () => new Pool({ initializer: 5 }), err(TypeError, /initializer/)],
  ['new Pool', 'initializer a native function', () => new Pool({ initializer: Math.max }), err(TypeError, /native function/)],
  ['new Pool', "initargs 'x'", () => new Pool({ initargs: 'x' }), err(TypeError, /initargs must be an array/)],
  ['new Pool', 'initargs holding a function', () => new Pool({ initializer: () => {}, initargs: [() => 1] }), err(TypeError, /initargs cannot be sent/)],
  ['new Pool', 'resourceLimits 5', () => new Pool({ resourceLimits: 5 }), err(TypeError, /resourceLimits/)],
  ['new Pool', "inline 'yes'", () => new Pool({ inline: 'yes' }), err(TypeError, /inline must be a boolean/)],
  // fn
  ['map: fn', 'undefined / null / a number / a string', (p) => Promise.all([undefined, null, 5, 'square'].map((f) => p.map(f, [1]).then(() => { throw new Error('accepted'); }, (e) => { if (!(e instanceof TypeError) || !/fn/.test(e.message)) throw e; }))), ok(() => true, 'each: `TypeError` naming `fn`')],
  ['map: fn', 'a Symbol', (p) => p.map(Symbol('f'), [1]), err(TypeError, /fn/)],
  ['map: fn', 'a native function (Math.sqrt)', (p) => p.map(Math.sqrt, [1]), err(TypeError, /native function/)],
  ['map: fn', 'a bound function', (p) => p.map(square.bind(null), [1]), err(TypeError, /bound function/)],
  ['map: fn', 'a class', (p) => p.map(class A {}, [1]), err(TypeError, /class/)],
  ['map: fn', 'a closure over an outer variable', (p) => { const k = 3; return p.map((x) => x * k, [1]); }, err(TypeError, /uses k, which does not exist in the worker/)],
  ['map: fn', 'a Proxy of a function', (p) => p.map(new Proxy(square, {}), [2]), err(TypeError, /native function/)],
  // input
  ['map: input', 'null / undefined / a number', (p) => Promise.all([null, undefined, 42].map((x) => p.map(square, x).then(() => { throw new Error('accepted'); }, (e) => { if (!(e instanceof TypeError) || !/input/.test(e.message)) throw e; }))), ok(() => true, 'each: `TypeError` naming `input`')],
  ['map: input', 'a string', (p) => p.map(square, 'abc'), err(TypeError, /input.*string/)],
  ['map: input', 'a plain object', (p) => p.map(square, { length: 2 }), err(TypeError, /input/)],
  ['map: input', 'a Proxy of an array', (p) => p.map(square, proxyArray()), ok((r) => JSON.stringify(r) === '[1,4,9]', 'resolves, mapped like the array')],
  ['map: input', 'an array whose getter throws', (p) => p.map(square, throwingGetter()), err(Error, /getter threw/)],
  ['map: input', 'an iterable that throws', (p) => p.map(square, throwingIterable()), err(Error, /iterator threw/)],
  ['map: input', 'NaN, ±Infinity, -0 items (JS function)', (p) => p.map((x) => x, [NaN, Infinity, -Infinity, -0]), ok((r) => Number.isNaN(r[0]) && r[1] === Infinity && r[2] === -Infinity && Object.is(r[3], -0), 'resolves, the values kept exactly')],
  ['map: input', 'NaN, ±Infinity, -0 items (kernel)', (p) => p.map(kernels.abs, [NaN, -Infinity, -0]), ok((r) => Number.isNaN(r[0]) && r[1] === Infinity && Object.is(r[2], 0), 'resolves with the IEEE results')],
  ['map: input', 'a non-number item for a kernel', (p) => p.map(kernels.sqrt, [1, 'x']), err(TypeError, /input\[1\] must be a number/)],
  ['map: input', 'an Int32Array for a kernel', (p) => p.map(kernels.sqrt, new Int32Array(3)), err(TypeError, /Float64Array\.from/)],
  ['map: input', 'a detached Float64Array', (p) => p.map(kernels.sqrt, detached()), err(TypeError, /detached/)],
  ['map: input', 'a detached Float64Array (JS function)', (p) => p.map(square, detached()), err(TypeError, /detached/)],
  ['map: input', 'a detached Int32Array (JS function)', (p) => p.map(square, detached(Int32Array)), err(TypeError, /map: input's ArrayBuffer is detached/)],
  ['map: input', 'a resizable ArrayBuffer', (p) => p.map(kernels.sqrt, resizable()), err(TypeError, /resizable/)],
  ['map: input', 'a Float64Array over a SharedArrayBuffer (kernel)', (p) => p.map(kernels.sqrt, sabArray()), ok((r) => r.length === 3 && r[0] === 2, 'resolves, read in place like any Float64Array')],
  ['map: input', 'a Float64Array over a SharedArrayBuffer (JS function)', (p) => p.map((x) => x + 1, sabArray()), ok((r) => r[2] === 5, 'resolves, read in place like any Float64Array')],
  ['map: input', 'an item that cannot be cloned (a function)', (p) => p.map((x) => x, [1, () => 1]), err(TypeError, /input\[1\] cannot be sent/)],
  ['map: input', 'a Symbol item', (p) => p.map((x) => x, [Symbol('s')]), err(TypeError, /input\[0\] cannot be sent/)],
  ['map: input', 'a result that cannot be cloned', (p) => p.map(() => () => 1, [1]), err(TypeError, /input\[0\] cannot be sent back/)],
  ['map: input', 'a very large length (2^32 - 1 holes), kernel', (p) => p.map(kernels.sqrt, new Array(2 ** 32 - 1)), err(RangeError, /input has 4294967295 items, too many/)],
  // opts
  ['map: opts', 'not an object (5)', (p) => p.map(square, [1], 5), err(TypeError, /opts must be an object/)],
  ['map: opts', 'an unknown option', (p) => p.map(square, [1], { chunkSize: 2 }), err(TypeError, /opts\.chunkSize is not an option/)],
  ['map: opts', 'chunksize 0, -1, 1.5, NaN', (p) => Promise.all([0, -1, 1.5, NaN].map((c) => p.map(square, [1], { chunksize: c }).then(() => { throw new Error('accepted'); }, (e) => { if (!(e instanceof RangeError) || !/chunksize/.test(e.message)) throw e; }))), ok(() => true, 'each: `RangeError` naming `opts.chunksize`')],
  ['map: opts', 'chunksize Infinity', (p) => p.map(square, [1, 2], { chunksize: Infinity }), err(RangeError, /chunksize/)],
  ['map: opts', 'timeout -1', (p) => p.map(square, [1], { timeout: -1 }), err(RangeError, /opts\.timeout/)],
  ['map: opts', "timeout 'x'", (p) => p.map(square, [1], { timeout: 'x' }), err(TypeError, /opts\.timeout/)],
  ['map: opts', 'timeout Infinity', (p) => p.map(square, [1], { timeout: Infinity }), ok((r) => r[0] === 1, 'resolves: no timeout')],
  ['map: opts', 'signal not an AbortSignal', (p) => p.map(square, [1], { signal: {} }), err(TypeError, /opts\.signal/)],
  ['map: opts', 'an aborted signal', (p) => p.map(square, [1], { signal: AbortSignal.abort() }), err(Error, /aborted/)],
  ['map: opts', 'onProgress not a function', (p) => p.map(square, [1], { onProgress: 1 }), err(TypeError, /opts\.onProgress/)],
  ['map: opts', 'out of another type or length', (p) => p.map(kernels.abs, new Float64Array(2), { out: new Float32Array(2) }), err(TypeError, /opts\.out/)],
  ['map: opts', 'a getter on opts that throws', (p) => p.map(square, [1], { get chunksize() { throw new Error('opts getter threw'); } }), err(Error, /opts getter threw/)],
  // other calls
  ['starmap', 'items that are not tuples', (p) => p.starmap((a) => a, [1, 2]), err(TypeError, /argTuples\[0\]/)],
  ['apply', 'args not an array', (p) => p.apply((a) => a, 5), err(TypeError, /args/)],
  ['apply', 'args that cannot be cloned', (p) => p.apply((a) => a, [Symbol('s')]), err(TypeError, /args cannot be sent/)],
  ['imap', 'a number as input', (p) => p.imap(square, 5).next(), err(TypeError, /iterable/)],
  ['imap', 'an endless iterable with a signal aborted later', async (p) => {
    const ac = new AbortController();
    let n = 0;
    const endless = { *[Symbol.iterator]() { for (;;) yield n++; } };
    const got = [];
    try {
      for await (const r of p.imap(square, endless, { signal: ac.signal })) { got.push(r); if (got.length === 50) ac.abort(); }
    } catch (e) { if (e.name === 'AbortError' && got.length >= 50) return 'aborted'; throw e; }
    return 'ended';
  }, ok((r) => r === 'aborted', 'results stream until the abort, which ends the loop with `AbortError`')],
  ['reduce', 'an empty input without initial', (p) => p.reduce((a, b) => a + b, []), err(TypeError, /empty/)],
  ['reduce', 'a kernel over an empty Float64Array', (p) => p.reduce(kernels.sum, new Float64Array(0)), ok((r) => r === 0, 'resolves with the identity (0 for sum)')],
  ['kernels', 'affine with a string parameter', () => kernels.affine('2', 1), err(TypeError, /affine/)],
  ['kernels', 'pow(NaN)', (p) => p.map(kernels.pow(NaN), [2]), ok((r) => Number.isNaN(r[0]), 'resolves with NaN, as `2 ** NaN` is')],
  ['kernels', 'clamp(5, 1) (lo above hi)', () => kernels.clamp(5, 1), err(RangeError, /clamp/)],
  ['task', 'an empty path', () => task(''), err(TypeError, /moduleUrlOrPath/)],
  ['task', 'a module without that export', (p) => p.apply(task(new URL('../fixtures/tasks/esm.mjs', import.meta.url), 'nope'), []), err(TypeError, /no function export named "nope"/)],
  ['Executor', 'maxWorkers 0', () => new Executor({ maxWorkers: 0 }), err(RangeError, /maxWorkers/)],
  ['Process', 'no target', () => new Process({}), err(TypeError, /target/)],
  ['Value', "an unknown type ('int')", () => new Value('int'), err(TypeError, /type must be one of/)],
  ['Value', 'a fractional initial for an integer type', () => new Value('i32', 1.5), err(RangeError, /initial must be an integer/)],
  ['Value', 'a number for a 64-bit type that is not a safe integer', () => new Value('i64', 2 ** 60), err(TypeError, /bigint/)],
  ['Queue', 'maxsize -1', () => new Queue(-1), err(RangeError, /maxsize/)],
  ['Queue', 'an item larger than the queue', () => new Queue({ bytes: 64 }).put('x'.repeat(100)), err(RangeError, /more than the queue's 64/)],
  ['Lock', 'release of a free lock', () => new Lock().release(), err(Error, /not held/)],
  ['Pool state', 'map after close()', () => { const q = new Pool(1); q.close(); return q.map(square, [1]).finally(() => q.terminate()); }, err(Error, /closed/)],
  ['Pool state', 'join() while running', () => { const q = new Pool(1); return q.join().finally(() => q.terminate()); }, err(Error, /still running/)],
];
