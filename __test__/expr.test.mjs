// Expression kernels (kernels.expr): the API of API.md's "Expression kernels" section, its
// errors (nothing run, the pool still works), every input kind, out in place, fused
// reductions and imap.
import test from 'ava';
import { Pool, kernels } from '../dist/index.mjs';

const pool = new Pool(2);
test.after.always(() => pool.terminate());

const range = (n, f) => Float64Array.from({ length: n }, (_, i) => f(i));

async function poolStillWorks(t) {
  t.deepEqual(await pool.map(kernels.expr('x + 1'), [1, 2]), [2, 3]);
}

test('one input: the map input is that array, of its type', async (t) => {
  const x = range(1000, (i) => i / 7 - 50);
  const y = await pool.map(kernels.expr('2*x*x + 3*x + 1'), x);
  t.true(y instanceof Float64Array);
  t.deepEqual(y, x.map((v) => 2 * v * v + 3 * v + 1));
  const f = Float32Array.from(x);
  const g = await pool.map(kernels.expr('2*x*x + 3*x + 1'), f);
  t.true(g instanceof Float32Array);
  t.deepEqual(g, f.map((v) => 2 * v * v + 3 * v + 1));
  t.deepEqual(await pool.map(kernels.expr('where(x > 0, sqrt(x), -x)'), [4, -1, 9, Number.NaN]), [2, 1, 3, Number.NaN]);
});

test('several inputs by name; the result type follows the inputs', async (t) => {
  const n = 300_001; // pooled, several chunks
  const a = range(n, (i) => i * 0.5);
  const b = range(n, (i) => 1 / (i + 1));
  const c = range(n, (i) => -i);
  const y = await pool.map(kernels.expr('a*b + c'), { a, b, c });
  t.true(y instanceof Float64Array);
  t.deepEqual(y, a.map((v, i) => v * b[i] + c[i]));
  const f = await pool.map(kernels.expr('a*b'), { a: new Float32Array([1.5, 2]), b: new Float32Array([2, 0.1]) });
  t.true(f instanceof Float32Array);
  t.deepEqual(f, new Float32Array([3, Math.fround(2 * Math.fround(0.1))]));
  const mixed = await pool.map(kernels.expr('a*b'), { a: new Float32Array([1.5]), b: [2] });
  t.true(mixed instanceof Float64Array);
  t.deepEqual(await pool.map(kernels.expr('a - b'), { a: [5, 6], b: [1, 2] }), [4, 4]);
  t.deepEqual(await pool.map(kernels.expr('hypot(x, y)'), { y: [4], x: [3] }), [5]);
});

test('constants, PI and E', async (t) => {
  const k = kernels.expr('s*x + t', { s: 2, t: 1 });
  t.deepEqual(k.inputs, ['x']);
  t.deepEqual(await pool.map(k, [1, 2]), [3, 5]);
  t.deepEqual(await pool.map(kernels.expr('x * PI + E'), [1]), [Math.PI + Math.E]);
});

test('out: in place, or another array', async (t) => {
  const f32 = new Float32Array([1, 2, 3]);
  const r = await pool.map(kernels.expr('s*x + t', { s: 2, t: 1 }), f32, { out: f32 });
  t.is(r, f32);
  t.deepEqual(f32, new Float32Array([3, 5, 7]));
  const a = range(200_000, (i) => i);
  const b = range(200_000, () => 2);
  await pool.map(kernels.expr('a*b + a'), { a, b }, { out: a });
  t.true(a.every((v, i) => v === 3 * i));
  const out = new Float32Array(2);
  t.is(await pool.map(kernels.expr('a / b'), { a: [1, 2], b: [3, 3] }, { out }), out);
  t.deepEqual(out, new Float32Array([1 / 3, 2 / 3]));
});

test('reduce with map: expr is a fused dot product', async (t) => {
  const n = 500_000;
  const a = range(n, (i) => (i % 13) - 6);
  const b = range(n, (i) => (i % 7) * 0.25);
  let dot = 0;
  for (let i = 0; i < n; i++) dot += a[i] * b[i];
  t.is(await pool.reduce(kernels.sum, { a, b }, { map: kernels.expr('a*b') }), dot);
  t.is(await pool.reduce(kernels.max, [1, -5, 3], { map: kernels.expr('abs(x)') }), 5);
  t.is(await pool.reduce(kernels.mean, { a: [1, 2], b: [3, 4] }, { map: kernels.expr('a+b') }), 5);
  t.is(await pool.reduce(kernels.sum, [1, 2], { map: kernels.expr('x*x'), initial: 10 }), 15);
  // The same answer as the built-in kernel over the mapped array.
  const squares = await pool.map(kernels.expr('x*x'), a);
  t.is(await pool.reduce(kernels.sum, a, { map: kernels.expr('x*x') }), await pool.reduce(kernels.sum, squares));
});

test('imap and imapUnordered stream the results in order', async (t) => {
  async function* gen() {
    for (let i = 0; i < 1000; i++) yield i;
  }
  const seen = [];
  for await (const v of pool.imap(kernels.expr('x * 2'), gen())) seen.push(v);
  t.deepEqual(seen, Array.from({ length: 1000 }, (_, i) => i * 2));
  const named = [];
  for await (const v of pool.imapUnordered(kernels.expr('a + b'), { a: [1, 2], b: [10, 20] })) named.push(v);
  t.deepEqual(named, [11, 22]);
});

test('the same expression is compiled once: the same kernel object', (t) => {
  t.is(kernels.expr('sqrt(x) + 1'), kernels.expr('sqrt(x) + 1'));
  t.not(kernels.expr('s*x', { s: 1 }), kernels.expr('s*x', { s: 2 }));
  t.is(kernels.expr('x').name, 'expr');
  t.is(kernels.expr('x').kind, 'map');
});

test('semantics: JS remainder, pow, round, min/max, comparisons, NaN is false in where', async (t) => {
  const x = [-2.5, -0.5, -0, 0, 0.49999999999999994, 2.5, Number.NaN, Infinity];
  const check = async (source, f) => {
    const got = await pool.map(kernels.expr(source), x);
    t.deepEqual(got.map((v) => Object.is(v, -0) ? '-0' : v), x.map(f).map((v) => Object.is(v, -0) ? '-0' : v), source);
  };
  await check('round(x)', Math.round);
  await check('x % 2', (v) => v % 2);
  await check('x ** 0.5', (v) => v ** 0.5);
  await check('1 ** x', (v) => 1 ** v);
  await check('min(x, 0)', (v) => Math.min(v, 0));
  await check('max(x, -0)', (v) => Math.max(v, -0));
  await check('(x > 0) + (x == x)', (v) => +(v > 0) + +!Number.isNaN(v));
  await check('where(x, 1, 2)', (v) => (v ? 1 : 2));
  await check('sign(x) * trunc(x) + floor(x) - ceil(x)', (v) => Math.sign(v) * Math.trunc(v) + Math.floor(v) - Math.ceil(v));
});

test('a syntax error quotes the expression with a caret under the position', (t) => {
  const e = t.throws(() => kernels.expr('a*b)+c'), { instanceOf: SyntaxError });
  t.is(e.message, "kernels.expr: unmatched ')' at position 3\n  a*b)+c\n     ^");
  t.throws(() => kernels.expr('2 +'), { instanceOf: SyntaxError, message: /at position 3\n {2}2 \+\n {5}\^$/ });
  t.throws(() => kernels.expr('-x ** 2'), { instanceOf: SyntaxError, message: /ambiguous/ });
  t.throws(() => kernels.expr('x = 1'), { instanceOf: SyntaxError, message: /==/ });
});

test('an unknown function is a SyntaxError naming it', (t) => {
  t.throws(() => kernels.expr('1 + foo(x)'), { instanceOf: SyntaxError, message: /unknown function 'foo' at position 4/ });
  t.throws(() => kernels.expr('sqrt(x, y)'), { instanceOf: SyntaxError, message: /sqrt\(\) takes 1 argument, got 2/ });
});

test('bad arguments of kernels.expr are TypeErrors', (t) => {
  t.throws(() => kernels.expr(42), { instanceOf: TypeError, message: /expression must be a string/ });
  t.throws(() => kernels.expr('s*x', { s: '2' }), { instanceOf: TypeError, message: /constants\.s must be a number/ });
});

test('a missing input is a TypeError naming it; nothing runs', async (t) => {
  const a = new Float64Array([1, 2]);
  const out = new Float64Array([7, 7]);
  await t.throwsAsync(pool.map(kernels.expr('a*b'), { a }, { out }), { instanceOf: TypeError, message: /input\.b is missing/ });
  t.deepEqual(out, new Float64Array([7, 7]));
  await t.throwsAsync(pool.map(kernels.expr('a*b'), a), { instanceOf: TypeError, message: /has inputs a, b: pass an object of arrays/ });
  await t.throwsAsync(pool.reduce(kernels.sum, { a }, { map: kernels.expr('a*b') }), { instanceOf: TypeError, message: /input\.b is missing/ });
  await poolStillWorks(t);
});

test('arrays of different lengths are a RangeError naming both', async (t) => {
  await t.throwsAsync(pool.map(kernels.expr('a + b'), { a: [1, 2, 3], b: new Float64Array(2) }), {
    instanceOf: RangeError,
    message: 'map: input.a has length 3 but input.b has length 2; the inputs must have one length',
  });
  await t.throwsAsync(pool.map(kernels.expr('x'), [1, 2], { out: new Float64Array(3) }), { instanceOf: RangeError, message: /opts\.out has length 3/ });
  await poolStillWorks(t);
});

test('a non-numeric element is a TypeError naming its position', async (t) => {
  await t.throwsAsync(pool.map(kernels.expr('a + b'), { a: [1, 2], b: [1, 'x'] }), { instanceOf: TypeError, message: /input\.b\[1\] must be a number/ });
  await t.throwsAsync(pool.map(kernels.expr('x + 1'), [1, 2, null]), { instanceOf: TypeError, message: /input\[2\] must be a number/ });
  await t.throwsAsync(pool.map(kernels.expr('a + b'), { a: [1], b: new Int32Array(1) }), { instanceOf: TypeError, message: /input\.b must be a Float64Array/ });
  await poolStillWorks(t);
});

test('an output overlapping an input without being it is refused', async (t) => {
  const buffer = new ArrayBuffer(8 * 1000);
  const a = new Float64Array(buffer, 0, 999);
  const shifted = new Float64Array(buffer, 8, 999);
  await t.throwsAsync(pool.map(kernels.expr('a * 2'), { a }, { out: shifted }), { message: /overlaps input a/ });
  await poolStillWorks(t);
});
