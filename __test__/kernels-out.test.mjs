// opts.out: results written into a caller's typed array, in place or separate, and the
// checks that refuse an output of the wrong type, length or placement.
import test from 'ava';
import { Pool, kernels } from '../dist/index.mjs';
import { firstMismatch, randomDoubles, runSeed, sameBytes } from './support/helpers.mjs';

const SEED = runSeed();
const pool = new Pool();
test.after.always(() => pool.terminate());

const SIZES = [1, 7, 1000, 131_073, 1_000_003];
const neg = (x) => -x;

/** After a refused call, the same pool must still map correctly. */
async function poolStillWorks(t) {
  t.deepEqual(await pool.map(kernels.square, [1, 2, 3]), [1, 4, 9]);
  const x = new Float64Array(300_000).fill(3);
  const y = await pool.map(kernels.affine(2, 1), x);
  t.true(y.every((v) => v === 7));
}

test('a separate out receives the results and is what the call returns', async (t) => {
  for (const n of SIZES) {
    const input = randomDoubles(SEED + n, n);
    const before = input.slice();
    const out = new Float64Array(n).fill(12345);
    const got = await pool.map(kernels.neg, input, { out });
    t.is(got, out, `n=${n}`);
    t.is(firstMismatch(out, Array.from(input, neg)), undefined, `seed ${SEED}, n=${n}`);
    t.true(sameBytes(input, before), `input untouched, n=${n}`);

    const input32 = Float32Array.from(input);
    const out32 = new Float32Array(n);
    t.is(await pool.map(kernels.square, input32, { out: out32 }), out32);
    t.is(firstMismatch(out32, Float32Array.from(input32, (x) => Math.fround(x * x))), undefined, `f32, seed ${SEED}, n=${n}`);
  }
});

test('out === input maps in place, small and large', async (t) => {
  for (const n of SIZES) {
    const data = randomDoubles(SEED ^ n, n);
    const want = Array.from(data, (x) => 3 * x - 1);
    t.is(await pool.map(kernels.affine(3, -1), data, { out: data }), data, `n=${n}`);
    t.is(firstMismatch(data, want), undefined, `seed ${SEED}, n=${n}`);

    const data32 = Float32Array.from(randomDoubles(SEED + 1, n));
    const want32 = Float32Array.from(data32, (x) => Math.fround(Math.abs(x)));
    t.is(await pool.map(kernels.abs, data32, { out: data32 }), data32);
    t.is(firstMismatch(data32, want32), undefined, `f32, seed ${SEED}, n=${n}`);
  }
  // In place with an explicit chunk size, and the same view twice in a row.
  const data = randomDoubles(SEED + 2, 1_000_003);
  const want = Array.from(data, (x) => (x * x) * (x * x)); // squared twice, rounded twice
  await pool.map(kernels.square, data, { out: data, chunksize: 777 });
  await pool.map(kernels.square, data, { out: data, chunksize: 50_000 });
  t.is(firstMismatch(data, want), undefined, `twice in place, seed ${SEED}`);
});

test('in place through two distinct views of the same memory region', async (t) => {
  const buffer = new ArrayBuffer(8 * 500_000);
  const a = new Float64Array(buffer, 8 * 100, 400_000);
  a.set(randomDoubles(SEED + 5, 400_000));
  const want = Array.from(a, Math.sqrt);
  const b = new Float64Array(buffer, 8 * 100, 400_000); // another object, same bytes
  t.is(await pool.map(kernels.sqrt, a, { out: b }), b);
  t.is(firstMismatch(a, want), undefined, `seed ${SEED}`);
});

test('out may sit in the same buffer as the input when they do not overlap', async (t) => {
  for (const n of [10, 600_000]) {
    const buffer = new ArrayBuffer(8 * 2 * n);
    const input = new Float64Array(buffer, 0, n);
    input.set(randomDoubles(SEED + 9, n));
    const out = new Float64Array(buffer, 8 * n, n); // right after the input
    t.is(await pool.map(kernels.neg, input, { out }), out);
    t.is(firstMismatch(out, Array.from(input, neg)), undefined, `n=${n}, seed ${SEED}`);
    // And the other way round: the output first, the input after it.
    const back = new Float64Array(buffer, 0, n);
    t.is(await pool.map(kernels.neg, out, { out: back }), back);
    t.is(firstMismatch(back, Array.from(out, neg)), undefined, `reversed n=${n}, seed ${SEED}`);
  }
});

test('an out of the wrong type is a TypeError naming opts.out', async (t) => {
  const input = new Float64Array([1, 2, 3]);
  for (const out of [new Float32Array(3), new Int32Array(3), new Float64Array(3).buffer, [0, 0, 0], {}, 'out']) {
    await t.throwsAsync(pool.map(kernels.abs, input, { out }), { instanceOf: TypeError, message: /opts\.out/ });
  }
  await t.throwsAsync(pool.map(kernels.abs, new Float32Array(3), { out: new Float64Array(3) }), {
    instanceOf: TypeError,
    message: /opts\.out must be a Float32Array/,
  });
  // Arrays of numbers are read as doubles: a Float32Array out does not fit them.
  await t.throwsAsync(pool.map(kernels.abs, [1, 2, 3], { out: new Float32Array(3) }), { instanceOf: TypeError, message: /opts\.out/ });
  // Big inputs are refused the same way.
  await t.throwsAsync(pool.map(kernels.abs, new Float64Array(1_000_003), { out: new Float32Array(1_000_003) }), {
    instanceOf: TypeError,
    message: /opts\.out/,
  });
  await poolStillWorks(t);
});

test('an out of the wrong length is a RangeError naming opts.out', async (t) => {
  for (const [n, m] of [[3, 2], [3, 4], [0, 1], [1_000_003, 1_000_002]]) {
    const out = new Float64Array(m).fill(7);
    const err = await t.throwsAsync(pool.map(kernels.abs, new Float64Array(n), { out }), { instanceOf: RangeError, message: /opts\.out/ });
    t.regex(err.message, new RegExp(`${m}.*${n}`), 'both lengths are named');
    t.true(out.every((v) => v === 7), 'nothing was written');
  }
  await t.throwsAsync(pool.map(kernels.abs, [1, 2], { out: new Float64Array(3) }), { instanceOf: RangeError, message: /opts\.out/ });
  await poolStillWorks(t);
});

test('an out that partially overlaps the input is refused, and nothing is written', async (t) => {
  for (const n of [8, 1_000_003]) {
    const buffer = new ArrayBuffer(8 * (n + 1));
    const whole = new Float64Array(buffer);
    for (let i = 0; i < whole.length; i++) whole[i] = i;
    const before = whole.slice();
    const cases = [
      [new Float64Array(buffer, 0, n), new Float64Array(buffer, 8, n)], // out starts inside the input
      [new Float64Array(buffer, 8, n), new Float64Array(buffer, 0, n)], // input starts inside out
    ];
    for (const [input, out] of cases) {
      await t.throwsAsync(pool.map(kernels.square, input, { out }), { instanceOf: Error, message: /overlap/ });
    }
    t.true(sameBytes(whole, before), `n=${n}: the buffer is untouched`);
  }
  const b32 = new ArrayBuffer(4 * 9);
  await t.throwsAsync(pool.map(kernels.neg, new Float32Array(b32, 0, 8), { out: new Float32Array(b32, 4, 8) }), { message: /overlap/ });
  await poolStillWorks(t);
});

test('an array or iterable input with a Float64Array out returns out', async (t) => {
  const out = new Float64Array(4);
  t.is(await pool.map(kernels.square, [1, 2, 3, 4], { out }), out);
  t.deepEqual([...out], [1, 4, 9, 16]);

  const fromSet = new Float64Array(3);
  t.is(await pool.map(kernels.neg, new Set([1, 2, 3]), { out: fromSet }), fromSet);
  t.deepEqual([...fromSet], [-1, -2, -3]);

  const fromAsync = new Float64Array(2);
  t.is(await pool.map(kernels.sqrt, (async function* () { yield 4; yield 9; })(), { out: fromAsync }), fromAsync);
  t.deepEqual([...fromAsync], [2, 3]);

  const values = Array.from(randomDoubles(SEED + 11, 300_007));
  const big = new Float64Array(values.length);
  t.is(await pool.map(kernels.clamp(-2, 2), values, { out: big }), big);
  t.is(firstMismatch(big, values.map((x) => Math.min(Math.max(x, -2), 2))), undefined, `seed ${SEED}`);
});

test('an out backed by a SharedArrayBuffer receives the results', async (t) => {
  const n = 400_000;
  const input = randomDoubles(SEED + 13, n);
  const out = new Float64Array(new SharedArrayBuffer(8 * n));
  t.is(await pool.map(kernels.exp, input, { out }), out);
  t.is(firstMismatch(out, Array.from(input, Math.exp), { ulps: 2 }), undefined, `seed ${SEED}`);
});

test('an out over a resizable or detached buffer is a TypeError naming opts.out', async (t) => {
  const resizable = new Float64Array(new ArrayBuffer(24, { maxByteLength: 64 }));
  await t.throwsAsync(pool.map(kernels.abs, new Float64Array(3), { out: resizable }), { instanceOf: TypeError, message: /opts\.out.*resizable/ });
  const detached = new Float64Array(3);
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  await t.throwsAsync(pool.map(kernels.abs, new Float64Array(0), { out: detached }), { instanceOf: TypeError, message: /opts\.out.*detached/ });
  await poolStillWorks(t);
});
