// The compiler helpers the worker provides (src/worker/helpers.ts) behave as the code compiled
// against them expects: generator functions compiled by tsc for ES5 (__generator, __values,
// __read) step exactly as they do with tslib's helpers (what the same compiled code runs on
// the main thread), through yields, try/catch/finally, loops, labelled breaks, delegation,
// and next/throw/return from outside; and run to the end, like the native generators they
// came from.
import test from 'ava';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ts = require('typescript');
const { helpersFor } = require('../dist/worker/helpers.js');

const CASES = {
  'try/finally with yields': "function* g() { try { yield 1; yield 2; } finally { yield 3; } }",
  'catch and finally': "function* g() { try { yield 1; throw new Error('x'); } catch (e) { yield e.message; } finally { yield 'f'; } return 'r'; }",
  'sent values and continue': "function* g() { const x = yield 1; for (let i = 0; i < 3; i++) { if (i === 1) continue; yield x + i; } }",
  'yield* delegation': "function* g() { function* inner() { const v = yield 'a'; return v * 2; } yield* [1, 2]; const r = yield* inner(); yield r; }",
  'return inside try, yield in finally': "function* g() { try { return 1; } finally { yield 2; } }",
  'labelled break out of try/finally': "function* g() { outer: for (const i of [1, 2, 3]) { try { if (i === 2) break outer; yield i; } finally { yield 'f' + i; } } yield 'end'; }",
  'nested try': "function* g() { try { try { yield 1; throw 'a'; } finally { yield 2; } } catch (e) { yield 'caught ' + e; } }",
  'destructuring and spread': "function* g() { const [a, ...rest] = [1, 2, 3]; const o = { ...{ p: 1 }, q: 2 }; yield [a, rest, o]; yield* 'xy'; }",
};

/** Steps a generator with `ops` (`['next', v]`, `['throw', e]`, `['return', v]`), recording
 * each outcome, until it is done or the ops run out. */
function trace(gen, ops) {
  const out = [];
  for (const [method, arg] of ops) {
    try {
      const r = gen[method](arg);
      out.push(JSON.stringify(r));
      if (r.done) break;
    } catch (err) {
      out.push(`threw ${err instanceof Error ? err.message : String(err)}`);
      break;
    }
  }
  return out;
}

const tslib = require('tslib');

function compiledES5(source) {
  const code = ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES5, module: ts.ModuleKind.None, noEmitHelpers: true, downlevelIteration: true, lib: ['lib.es2020.d.ts'] },
  }).outputText;
  const [names, values] = helpersFor(code);
  return {
    code,
    make: new Function(...names, `${code}\nreturn g;`)(...values),
    withTslib: new Function(...names, `${code}\nreturn g;`)(...names.map((n) => tslib[n])),
  };
}

const nexts = (n, first = 10) => Array.from({ length: n }, (_, i) => ['next', i === 0 ? undefined : first + i]);
const DRIVERS = {
  'next() to the end': nexts(12),
  'throw() at the 2nd step': [['next'], ['throw', new Error('boom')], ...nexts(8)],
  'return() at the 2nd step': [['next'], ['return', 'early'], ...nexts(8)],
  'throw() before the start': [['throw', new Error('early')], ...nexts(3)],
  'return() before the start': [['return', 'r0'], ...nexts(3)],
  'throw() at the 3rd step': [['next'], ['next', 5], ['throw', new Error('late')], ...nexts(8)],
};

for (const [name, source] of Object.entries(CASES)) {
  test(`__generator (tsc ES5) steps as with tslib's helpers and runs like the native generator: ${name}`, (t) => {
    const native = new Function(`${source}\nreturn g;`)();
    const { code, make, withTslib } = compiledES5(source);
    t.true(code.includes('__generator('), code);
    t.deepEqual(trace(make(), DRIVERS['next() to the end']), trace(native(), DRIVERS['next() to the end']), code);
    for (const [driver, ops] of Object.entries(DRIVERS)) {
      t.deepEqual(trace(make(), ops), trace(withTslib(), ops), `${driver}\n${code}`);
    }
  });
}

test('__awaiter and _async_to_generator settle like async functions, rejections included', async (t) => {
  const { __awaiter, _async_to_generator } = Object.fromEntries([...require('../dist/worker/helpers.js').HELPERS]);
  const viaAwaiter = (x) =>
    __awaiter(undefined, undefined, undefined, function* () {
      const a = yield Promise.resolve(x);
      try {
        yield Promise.reject(new Error('inner'));
      } catch (e) {
        return `${a}:${e.message}`;
      }
    });
  t.is(await viaAwaiter(1), '1:inner');
  const failing = _async_to_generator(function* () {
    yield null;
    throw new TypeError('outer');
  });
  await t.throwsAsync(failing(), { instanceOf: TypeError, message: 'outer' });
});

test('object rest and spread helpers copy own enumerable keys, symbols included, like the syntax', (t) => {
  const H = Object.fromEntries([...require('../dist/worker/helpers.js').HELPERS]);
  const sym = Symbol('s');
  const src = Object.defineProperty({ a: 1, b: 2, [sym]: 3 }, 'hidden', { value: 4, enumerable: false });
  const { a, ...rest } = src;
  for (const helper of ['__rest', '__objRest', '_object_without_properties']) {
    const got = H[helper](src, ['a']);
    t.deepEqual(Reflect.ownKeys(got), Reflect.ownKeys(rest), helper);
    t.is(got[sym], 3, helper);
  }
  const spread = { ...src, c: 5 };
  for (const helper of ['__spreadValues', '_object_spread']) {
    const got = H[helper]({}, src);
    got.c = 5;
    t.deepEqual(Reflect.ownKeys(got), Reflect.ownKeys(spread), helper);
  }
  void a;
});
