// Property test: random expressions over random inputs (NaN, ±0, ±Infinity, subnormals,
// huge and tiny numbers) equal the same formula as a JS function: bit for bit for the
// operations API.md promises exact, within 2 ulp for the other functions (applied last, so
// an error of theirs is not amplified by what follows). FC_RUNS raises the run count.
import test from 'ava';
import fc from 'fast-check';
import { Pool, kernels } from '../dist/index.mjs';

const pool = new Pool(2);
test.after.always(() => pool.terminate());
const RUNS = Number(process.env.FC_RUNS ?? 150);

const special = fc.constantFrom(0, -0, 1, -1, 0.5, -0.5, 2.5, -2.5, Number.NaN, Infinity, -Infinity, 5e-324, -2.2250738585072014e-308, 1.7976931348623157e308, 1e-300, 1e300, 0.49999999999999994);
const number = fc.oneof({ weight: 2, arbitrary: special }, { weight: 3, arbitrary: fc.double() }, { weight: 2, arbitrary: fc.integer({ min: -10, max: 10 }) });
const literal = fc.oneof(fc.constantFrom('0', '1', '2', '0.5', '3', '1e-3', '1e300'), fc.integer({ min: 0, max: 100 }).map(String));

/** [expression source, JS source] pairs built from exact operations only. */
const NAMES = ['x', 'y', 'z'];
const exact = fc.letrec((tie) => ({
  leaf: fc.oneof(fc.constantFrom(...NAMES).map((n) => [n, n]), literal.map((l) => [l, l])),
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc.tuple(fc.constantFrom('+', '-', '*', '/', '%'), tie('node'), tie('node')).map(([op, [a, ja], [b, jb]]) => [`(${a} ${op} ${b})`, `(${ja} ${op} ${jb})`]),
    fc.tuple(fc.constantFrom('<', '<=', '>', '>=', '==', '!='), tie('node'), tie('node')).map(([op, [a, ja], [b, jb]]) => [`(${a} ${op} ${b})`, `(+(${ja} ${op === '==' ? '===' : op === '!=' ? '!==' : op} ${jb}))`]),
    fc.tuple(fc.constantFrom('sqrt', 'abs', 'floor', 'ceil', 'round', 'trunc', 'sign'), tie('node')).map(([f, [a, ja]]) => [`${f}(${a})`, `Math.${f}(${ja})`]),
    fc.tuple(fc.constantFrom('min', 'max'), tie('node'), tie('node')).map(([f, [a, ja], [b, jb]]) => [`${f}(${a}, ${b})`, `Math.${f}(${ja}, ${jb})`]),
    tie('node').map(([a, ja]) => [`-${a}`, `(-${ja})`]),
    fc.tuple(tie('node'), tie('node'), tie('node')).map(([[c, jc], [a, ja], [b, jb]]) => [`where(${c}, ${a}, ${b})`, `(${jc} ? ${ja} : ${jb})`]),
  ),
})).node;

const INEXACT = ['cbrt', 'exp', 'expm1', 'log', 'log1p', 'log2', 'log10', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'sinh', 'cosh', 'tanh'];
const outer = fc.oneof(
  fc.tuple(fc.constantFrom(...INEXACT), exact).map(([f, [a, ja]]) => [`${f}(${a})`, `Math.${f}(${ja})`]),
  fc.tuple(fc.constantFrom('atan2', 'pow', 'hypot'), exact, exact).map(([f, [a, ja], [b, jb]]) => [`${f}(${a}, ${b})`, `Math.${f}(${ja}, ${jb})`]),
  fc.tuple(exact, exact).map(([[a, ja], [b, jb]]) => [`(${a}) ** (${b})`, `((${ja}) ** (${jb}))`]),
);

const f64 = new Float64Array(1);
const i64 = new BigInt64Array(f64.buffer);
/** The distance in units in the last place between two doubles (0 for two NaNs). */
function ulps(a, b) {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  if (a === b) return Object.is(a, b) || a !== 0 ? 0 : Infinity;
  const key = (v) => {
    f64[0] = v;
    const bits = i64[0];
    return bits < 0n ? -(bits & 0x7fffffffffffffffn) : bits;
  };
  const d = key(a) - key(b);
  return Number(d < 0n ? -d : d);
}

function inputsFor(source, columns, kind) {
  const k = kernels.expr(source);
  const wrap = (c) => (kind === 'f32' ? Float32Array.from(c) : kind === 'array' ? Array.from(c) : Float64Array.from(c));
  return { k, cols: Object.fromEntries(k.inputs.map((n) => [n, wrap(columns[n])])) };
}

async function compare(t, source, js, columns, kind, tolerance) {
  const { k, cols } = inputsFor(source, columns, kind);
  const f = new Function(...NAMES, `return ${js};`);
  const n = columns.x.length;
  const input = k.inputs.length === 1 ? cols[k.inputs[0]] : k.inputs.length === 0 ? new Float64Array(n) : cols;
  const got = await pool.map(k, input);
  for (let i = 0; i < n; i++) {
    const args = NAMES.map((name) => (cols[name] ?? columns[name])[i]);
    let want = f(...args);
    if (kind === 'f32') want = Math.fround(want);
    const g = got[i];
    const off = kind === 'f32' ? (Object.is(Math.fround(g), want) || (Number.isNaN(g) && Number.isNaN(want)) ? 0 : ulps(Math.fround(g), want)) : ulps(g, want);
    if (off > tolerance) {
      t.fail(`${source} (${kind}) at ${i}, inputs ${args.join(', ')}: got ${Object.is(g, -0) ? '-0' : g}, JS ${Object.is(want, -0) ? '-0' : want} (${off} ulp)`);
      return false;
    }
  }
  return true;
}

const columnsArb = fc.integer({ min: 1, max: 40 }).chain((n) =>
  fc.record({ x: fc.array(number, { minLength: n, maxLength: n }), y: fc.array(number, { minLength: n, maxLength: n }), z: fc.array(number, { minLength: n, maxLength: n }) }),
);
const kindArb = fc.constantFrom('f64', 'f32', 'array');

test('exact operations equal the JS function bit for bit', async (t) => {
  await fc.assert(
    fc.asyncProperty(exact, columnsArb, kindArb, async ([source, js], columns, kind) => compare(t, source, js, columns, kind, 0)),
    { numRuns: RUNS },
  );
  t.pass();
});

test('the other functions are within 2 ulp of Math', async (t) => {
  await fc.assert(
    fc.asyncProperty(outer, columnsArb, async ([source, js], columns) => compare(t, source, js, columns, 'f64', 2)),
    { numRuns: RUNS },
  );
  t.pass();
});
