import test from 'ava';
import { Pool, kernels } from '../dist/index.mjs';

const pool = new Pool(2);
test.after.always(() => pool.terminate());

/** After every bad call the same pool must still answer correctly. */
async function stillWorks(t) {
  t.deepEqual(await pool.map(kernels.square, [1, 2, 3]), [1, 4, 9]);
  t.deepEqual(await pool.map((x) => x + 1, [1, 2]), [2, 3]);
}

const detached = () => {
  const a = new Float64Array(4);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a;
};

const BAD_CALLS = [
  ['a string input', () => pool.map(kernels.sqrt, 'abc'), TypeError, /input.*string/],
  ['a non-number element', () => pool.map(kernels.sqrt, [1, 'x']), TypeError, /input\[1\] must be a number/],
  ['null input', () => pool.map(kernels.sqrt, null), TypeError, /input/],
  ['undefined input', () => pool.map(kernels.sqrt, undefined), TypeError, /input/],
  ['a number input', () => pool.map(kernels.sqrt, 42), TypeError, /input/],
  ['an Int32Array for a kernel', () => pool.map(kernels.sqrt, new Int32Array(3)), TypeError, /Float64Array\.from/],
  ['a detached buffer', () => pool.map(kernels.sqrt, detached()), TypeError, /detached/],
  ['a JS fn over a detached buffer', () => pool.map((x) => x, detached()), TypeError, /detached/],
  ['a resizable buffer', () => pool.map(kernels.sqrt, new Float64Array(new ArrayBuffer(8, { maxByteLength: 64 }))), TypeError, /resizable/],
  ['a JS fn over a resizable buffer', () => pool.map((x) => x, new Float64Array(new ArrayBuffer(8, { maxByteLength: 64 }))), TypeError, /resizable/],
  ['fn a string', () => pool.map('square', [1]), TypeError, /fn/],
  ['fn undefined', () => pool.map(undefined, [1]), TypeError, /fn/],
  ['opts not an object', () => pool.map(kernels.abs, [1], 5), TypeError, /opts/],
  ['an unknown option', () => pool.map(kernels.abs, [1], { chunkSize: 2 }), TypeError, /opts\.chunkSize is not an option/],
  ['chunksize 0', () => pool.map(kernels.abs, [1], { chunksize: 0 }), RangeError, /opts\.chunksize/],
  ['chunksize -1', () => pool.map(kernels.abs, [1], { chunksize: -1 }), RangeError, /opts\.chunksize/],
  ['chunksize 1.5', () => pool.map(kernels.abs, [1], { chunksize: 1.5 }), RangeError, /opts\.chunksize/],
  ["chunksize '2'", () => pool.map(kernels.abs, [1], { chunksize: '2' }), RangeError, /opts\.chunksize/],
  ['chunksize NaN', () => pool.map((x) => x, [1], { chunksize: NaN }), RangeError, /opts\.chunksize/],
  ['timeout -1', () => pool.map(kernels.abs, [1], { timeout: -1 }), RangeError, /opts\.timeout/],
  ["timeout 'x'", () => pool.map(kernels.abs, [1], { timeout: 'x' }), TypeError, /opts\.timeout/],
  ['a signal that is not an AbortSignal', () => pool.map(kernels.abs, [1], { signal: {} }), TypeError, /opts\.signal/],
  ['onProgress not a function', () => pool.map(kernels.abs, [1], { onProgress: 1 }), TypeError, /opts\.onProgress/],
  ['starmap over non-tuples', () => pool.starmap((a) => a, [1, 2]), TypeError, /argTuples\[0\]/],
  ['apply with args not an array', () => pool.apply((a) => a, 5), TypeError, /args/],
  ['an input item that cannot be cloned', () => pool.map((x) => x, [1, () => 1, 3]), TypeError, /input\[1\] cannot be sent/],
  ['apply args that cannot be cloned', () => pool.apply((a) => a, [Symbol('s')]), TypeError, /args cannot be sent/],
  ['imap over a number', () => pool.imap((x) => x, 5).next(), TypeError, /iterable/],
];

for (const [what, call, type, message] of BAD_CALLS) {
  test(`${what}: a named ${type.name}, and the pool keeps working`, async (t) => {
    await t.throwsAsync(async () => call(), { instanceOf: type, message });
    await stillWorks(t);
  });
}

test('constructor arguments are checked and named', (t) => {
  for (const bad of [0, -1, 1.5, NaN]) t.throws(() => new Pool(bad), { instanceOf: RangeError, message: /processes/ });
  t.throws(() => new Pool({ processes: 0 }), { instanceOf: RangeError, message: /processes/ });
  t.throws(() => new Pool({ maxTasksPerChild: 0 }), { instanceOf: RangeError, message: /maxTasksPerChild/ });
  t.throws(() => new Pool({ bogus: 1 }), { instanceOf: TypeError, message: /options\.bogus/ });
  t.throws(() => new Pool('4'), { instanceOf: TypeError, message: /Pool options/ });
  t.throws(() => new Pool({ initializer: 5 }), { instanceOf: TypeError, message: /initializer/ });
  t.throws(() => new Pool({ initializer: Math.max }), { name: 'TaskSerializationError', message: /native/ });
  t.throws(() => new Pool({ initargs: 'x' }), { instanceOf: TypeError, message: /initargs/ });
  t.throws(() => new Pool({ inline: 'yes' }), { instanceOf: TypeError, message: /inline/ });
});

test('kernel parameters are checked', (t) => {
  t.throws(() => kernels.affine('a', 1), { instanceOf: TypeError, message: /affine: a/ });
  t.throws(() => kernels.pow('2'), { instanceOf: TypeError, message: /pow: p/ });
  t.throws(() => kernels.clamp(NaN, 1), { instanceOf: RangeError, message: /NaN/ });
  t.throws(() => kernels.clamp(2, 1), { instanceOf: RangeError, message: /lo .* hi/ });
});
