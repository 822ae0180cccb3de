// Functions compiled by the usual TypeScript toolchains ship unchanged: each toolchain
// compiles the same fixture (inner functions, a class with private state, a generic
// function, async/await, spreads and rests), whose entry ships the function to a pool and
// prints what the workers and the main thread computed. The compilers insert their helpers
// (`__name`, `__awaiter`, `_async_to_generator`, …) into the function's source; the worker
// provides them (src/worker/helpers.ts). And the helpers themselves behave as the code compiled
// against them expects (below).
import test from 'ava';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describeRun, runNode } from './support/helpers.mjs';

const require = createRequire(import.meta.url);
const dir = fileURLToPath(new URL('./fixtures/toolchains/', import.meta.url));
const ts = require('typescript');
const esbuild = require('esbuild');
const swc = require('@swc/core');

/** Compiles `work*.ts` and `ship*.ts` with `compile(source, file)` into .build/<name>/. */
function build(name, files, compile, ext = '.js') {
  const out = `${dir}.build/${name}/`;
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const emitted = {};
  for (const file of files) {
    let code = compile(existsSync(dir + file) ? readFileSync(dir + file, 'utf8') : '', file);
    if (ext !== '.js') code = code.replaceAll(/(from\s+|require\()(['"])\.\/([\w-]+)\.js\2/g, `$1$2./$3${ext}$2`);
    const target = out + file.replace(/\.ts$/, ext);
    writeFileSync(target, code);
    emitted[file] = code;
  }
  return { out, emitted };
}

/** Runs `file` with node (and `flags`) in the fixture's directory, a few at a time. */
const run = (file, flags = []) => runNode(file, { flags, cwd: dir, timeout: 45_000 });

function check(t, r) {
  t.is(r.code, 0, describeRun(r));
  const { shipped, local } = JSON.parse(r.stdout);
  t.deepEqual(shipped, local);
  return shipped;
}

const EXPECTED_1 = { count: 4, n: 1, total: 6, first: 6, others: 1, keys: ['count', 'n', 'extra'], label: 'n=1' };
const EXPECTED_ES5_2 = { volume: 8, area: 4, side: 2, head: 1, tail: [3, 4], caught: 'once', isShape: true };

test('tsx (esbuild with keepNames: __name around inner functions and classes)', async (t) => {
  t.timeout(120_000);
  const r = await runNode(require.resolve('tsx/cli'), { args: ['ship.ts'], cwd: dir, timeout: 45_000 });
  t.deepEqual(check(t, r)[0], EXPECTED_1);
});

test('esbuild, target es2016 (__name, __async, __privateAdd/Get/Wrapper, __spreadValues, __objRest, …)', async (t) => {
  t.timeout(120_000);
  const { out, emitted } = build('esbuild-es2016', ['work.ts', 'ship.ts'], (code, file) =>
    esbuild.transformSync(code, { loader: 'ts', format: 'cjs', target: 'es2016', keepNames: true, sourcefile: file }).code,
  );
  for (const helper of ['__name(', '__async(', '__privateAdd(', '__spreadValues(', '__objRest(']) t.true(emitted['work.ts'].includes(helper), helper);
  t.deepEqual(check(t, await run(`${out}ship.js`))[0], EXPECTED_1);
});

for (const [target, module, ext, helpers] of [
  ['ES2015', 'CommonJS', '.js', ['__awaiter(', '__rest(', '__classPrivateFieldGet(']],
  ['ES2017', 'ES2020', '.mjs', ['__rest(', '__classPrivateFieldSet(']],
  ['ES2020', 'CommonJS', '.js', ['__classPrivateFieldGet(']],
]) {
  test(`tsc, target ${target}, module ${module} (${helpers.join(' ')})`, async (t) => {
    t.timeout(120_000);
    const { out, emitted } = build(`tsc-${target}-${module}`, ['work.ts', 'ship.ts'], (code, file) =>
      ts.transpileModule(code, { fileName: file, compilerOptions: { target: ts.ScriptTarget[target], module: ts.ModuleKind[module], useDefineForClassFields: false } }).outputText,
      ext,
    );
    for (const helper of helpers) t.true(emitted['work.ts'].includes(helper), helper);
    t.deepEqual(check(t, await run(`${out}ship${ext}`))[0], EXPECTED_1);
  });
}

test('tsc, target ES5 (__generator, __extends, __spreadArray, __read, __assign, __rest, __awaiter)', async (t) => {
  t.timeout(120_000);
  const { out, emitted } = build('tsc-es5', ['work-es5.ts', 'ship-es5.ts'], (code, file) =>
    ts.transpileModule(code, { fileName: file, compilerOptions: { target: ts.ScriptTarget.ES5, module: ts.ModuleKind.CommonJS, lib: ['lib.es2020.d.ts'], downlevelIteration: true } }).outputText,
  );
  for (const helper of ['__generator(', '__extends(', '__spreadArray(', '__assign(', '__rest(', '__awaiter(', '__read(']) t.true(emitted['work-es5.ts'].includes(helper), helper);
  t.deepEqual(check(t, await run(`${out}ship-es5.js`))[1], EXPECTED_ES5_2);
});

test('tsc with importHelpers, CommonJS (tslib_1.__awaiter)', async (t) => {
  t.timeout(120_000);
  const { out, emitted } = build('tsc-tslib', ['work.ts', 'ship.ts'], (code, file) =>
    ts.transpileModule(code, { fileName: file, compilerOptions: { target: ts.ScriptTarget.ES2015, module: ts.ModuleKind.CommonJS, importHelpers: true } }).outputText,
  );
  t.true(emitted['work.ts'].includes('tslib_1.__awaiter('));
  // The module loads tslib (a dependency of the dev tools); the shipped function gets ferropool's.
  t.deepEqual(check(t, await run(`${out}ship.js`))[0], EXPECTED_1);
});

for (const target of ['es2015', 'es2017']) {
  test(`SWC, jsc.target ${target} (_async_to_generator, _object_spread, _class_private_field_*, …)`, async (t) => {
    t.timeout(120_000);
    const { out, emitted } = build(`swc-${target}`, ['work.ts', 'ship.ts'], (code, file) =>
      swc.transformSync(code, { filename: file, jsc: { parser: { syntax: 'typescript' }, target }, module: { type: 'commonjs' } }).code,
    );
    t.true(emitted['work.ts'].includes('_class_private_field_get('));
    t.true(emitted['work.ts'].includes('_object_spread('));
    t.deepEqual(check(t, await run(`${out}ship.js`))[0], EXPECTED_1);
  });
}

test('SWC, jsc.target es5 (_ts_generator, _inherits, _call_super, _create_class, _to_consumable_array, …)', async (t) => {
  t.timeout(120_000);
  const { out, emitted } = build('swc-es5', ['work-es5.ts', 'ship-es5.ts'], (code, file) =>
    swc.transformSync(code, { filename: file, jsc: { parser: { syntax: 'typescript' }, target: 'es5' }, module: { type: 'commonjs' } }).code,
  );
  for (const helper of ['_ts_generator(', '_inherits(', '_call_super(', '_class_call_check(', '_create_class(', '_to_consumable_array(', '_to_array(']) t.true(emitted['work-es5.ts'].includes(helper), helper);
  t.deepEqual(check(t, await run(`${out}ship-es5.js`))[1], EXPECTED_ES5_2);
});

test('ts-node (tsconfig target ES2015, CommonJS: __awaiter, __rest, __classPrivateField*)', async (t) => {
  t.timeout(120_000);
  const r = await run('ship.ts', ['-r', 'ts-node/register']);
  t.deepEqual(check(t, r)[0], EXPECTED_1);
});

// Module tasks in TypeScript: the workers load them with the main thread's loader (tsx and
// ts-node hook require in worker threads; on Node 20 tsx's import hooks do not reach them).
for (const [name, runner] of [
  ['tsx', (file) => runNode(require.resolve('tsx/cli'), { args: [file], cwd: dir, timeout: 45_000 })],
  ['ts-node', (file) => run(file, ['-r', 'ts-node/register'])],
]) {
  test(`${name}: task() names an export of a .ts module`, async (t) => {
    t.timeout(120_000);
    const r = await runner('ts-task.ts');
    t.is(r.code, 0, describeRun(r));
    const { doubled, incremented } = JSON.parse(r.stdout);
    t.deepEqual(doubled, [2, 4, 6]);
    t.is(incremented, 42, 'the default export');
  });
}

// Under tsx, a thread that loaded ferropool (the main thread, and each worker) once ran every
// typed-array loop at half speed: tsx's require hook lexed our larger files, growing its
// WebAssembly memory, which detaches an ArrayBuffer, and V8 then drops an optimisation for
// the whole thread. Counted, not timed: ferropool adds no protector invalidation to what tsx
// does in a process with a bare worker. (node --import tsx: the tsx command runs the program
// in a child process, which the V8 flag would not reach.)
test('tsx: a pool does not cost its threads the ArrayBuffer-detaching protector', async (t) => {
  t.timeout(120_000);
  const count = async (what) => {
    const r = await runNode('protector.ts', { flags: ['--trace-protector-invalidation', '--import', 'tsx'], args: [what], cwd: dir, timeout: 45_000 });
    t.is(r.code, 0, describeRun(r));
    return r.stdout.split('\n').filter((l) => l.includes('protector cell ArrayBufferDetaching')).length;
  };
  const plain = await count('plain');
  t.is(await count('ferropool'), plain);
});

test('plain node: task() of a .ts module names the file and the runners that load it', async (t) => {
  const { Pool, task } = await import('ferropool');
  const pool = new Pool(1);
  t.teardown(() => pool.terminate());
  const call = pool.apply(task(`${dir}ts-tasks.ts`, 'double'), [2]);
  if (process.features.typescript) {
    t.is(await call, 4, 'Node strips the types itself');
    return;
  }
  const err = await t.throwsAsync(call, { instanceOf: TypeError });
  t.regex(err.message, /ts-tasks\.ts/);
  t.regex(err.message, /no loader for "\.ts" files/);
  t.regex(err.message, /npx tsx/);
  t.regex(err.message, /--experimental-strip-types/);
  // The pool goes on.
  t.is(await pool.apply((x) => x + 1, [1]), 2);
});

test('a helper ferropool does not provide: the error names the toolchain and the fix', async (t) => {
  const { Pool } = await import('ferropool');
  const pool = new Pool(1);
  t.teardown(() => pool.terminate());
  // What esbuild emits for `using` below ES2024 (a helper not provided).
  const fn = new Function('return function work(x) { return __using([], x); }')();
  const err = await t.throwsAsync(pool.map(fn, [1]), { name: 'TaskSerializationError' });
  t.regex(err.message, /__using, a helper that tsc \(a "target" below ES2022\) or esbuild\/tsx inserts/);
  t.regex(err.message, /"target": "ES2022"/);
  t.regex(err.message, /task\(moduleUrl, exportName\)/);
});

test('a shipped function that calls currentProcess() it imported, compiled to CommonJS by tsc, SWC and esbuild', async (t) => {
  const source = "import { currentProcess } from 'ferropool';\nexport function who(x: number): string {\n  return currentProcess().name + ':' + x;\n}\n";
  const compilers = {
    tsc: (code) => ts.transpileModule(code, { compilerOptions: { target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS } }).outputText,
    swc: (code) => swc.transformSync(code, { filename: 'who.ts', jsc: { parser: { syntax: 'typescript' }, target: 'es2020' }, module: { type: 'commonjs' } }).code,
    esbuild: (code) => esbuild.transformSync(code, { loader: 'ts', format: 'cjs', target: 'es2020' }).code,
  };
  const { Pool } = await import('ferropool');
  const pool = new Pool(1);
  t.teardown(() => pool.terminate());
  for (const [name, compile] of Object.entries(compilers)) {
    const { out, emitted } = build(`who-${name}`, ['who.ts'], () => compile(source));
    t.regex(emitted['who.ts'], /(ferropool_1|_ferropool|import_ferropool)\.currentProcess/, name);
    const { who } = require(`${out}who.js`);
    t.deepEqual(await pool.map(who, [7]), ['PoolWorker-1:7'], name);
  }
});

// --- the helpers themselves ------------------------------------------------------
// The compiler helpers the worker provides (src/worker/helpers.ts) behave as the code compiled
// against them expects: generator functions compiled by tsc for ES5 (__generator, __values,
// __read) step exactly as they do with tslib's helpers (what the same compiled code runs on
// the main thread), through yields, try/catch/finally, loops, labelled breaks, delegation,
// and next/throw/return from outside; and run to the end, like the native generators they
// came from.

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
