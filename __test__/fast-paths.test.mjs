// The fast paths of JS-function calls: numbers read and written in place by the workers
// (arrays of numbers included), and small jobs the caller waits for on its own thread.
import test from 'ava';
import { Pool } from '../dist/index.mjs';

const pool = new Pool(2);
test.after.always(() => pool.terminate());

test('arrays of numbers: results are a plain array, equal to Array.prototype.map', async (t) => {
  const ints = Array.from({ length: 10_000 }, (_, i) => i - 5000);
  const doubles = ints.map((x) => x / 7);
  const edge = [0, -0, NaN, Infinity, -Infinity, 2 ** 31, -(2 ** 31), 1.5, Number.MIN_VALUE];
  for (const input of [ints, doubles, edge]) {
    const out = await pool.map((x) => x * 3 - 1, input);
    t.true(Array.isArray(out));
    t.deepEqual(out, input.map((x) => x * 3 - 1));
  }
  const signs = await pool.map((x) => -x, [0, -0]);
  t.true(Object.is(signs[0], -0) && Object.is(signs[1], 0));
});

test('numbers in, anything out: a result that is not a number still comes back in order', async (t) => {
  const input = Array.from({ length: 1000 }, (_, i) => i);
  const out = await pool.map((x) => (x % 97 === 0 ? `s${x}` : x % 89 === 0 ? { x } : x * 2), input, { chunksize: 100 });
  t.deepEqual(out, input.map((x) => (x % 97 === 0 ? `s${x}` : x % 89 === 0 ? { x } : x * 2)));
  const typed = await pool.map((x) => (x > 500 ? null : x), Float64Array.from(input));
  t.deepEqual(typed, input.map((x) => (x > 500 ? null : x)));
});

test('the item that throws is named by its index, for typed arrays and arrays of numbers', async (t) => {
  for (const input of [Float64Array.from({ length: 10 }, (_, i) => i), Array.from({ length: 10 }, (_, i) => i)]) {
    const err = await t.throwsAsync(pool.map((x) => { if (x === 7) throw new RangeError('seven'); return x; }, input, { chunksize: 3 }), { instanceOf: RangeError });
    t.is(err.index, 7);
  }
});

test('a hot loop of small calls settles every call with its own result, errors included', async (t) => {
  const row = Float64Array.from({ length: 1000 }, (_, i) => i);
  const sum = (a) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]; return s; };
  const want = sum(row);
  // The first calls teach the pool what a call costs; the later ones take the small-job path.
  for (let c = 0; c < 300; c++) {
    t.is(await pool.apply(sum, [row]), want);
    const mapped = await pool.map((x) => x * 2, [c, c + 1, c + 2]);
    t.deepEqual(mapped, [2 * c, 2 * c + 2, 2 * c + 4]);
    if (c % 50 === 0) {
      await t.throwsAsync(pool.apply((n) => { throw new Error(`no ${n}`); }, [c]), { message: `no ${c}` });
    }
  }
  // Concurrent small calls, and small calls mixed with a large one.
  const many = await Promise.all(Array.from({ length: 50 }, (_, i) => pool.apply((a, b) => a * b, [i, 2])));
  t.deepEqual(many, Array.from({ length: 50 }, (_, i) => i * 2));
  const [big, small] = await Promise.all([pool.map((x) => x + 1, Array.from({ length: 100_000 }, (_, i) => i)), pool.apply(sum, [row])]);
  t.is(big[99_999], 100_000);
  t.is(small, want);
});
