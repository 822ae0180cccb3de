// What the package exports: every name API.md lists, from the ESM entry and the CommonJS
// entry alike, which are one module (same names, same objects); the error classes; and the
// porting guide names every export.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as staticEsm from '../dist/index.mjs';

const require = createRequire(import.meta.url);
const cjs = require('../dist/index.js');

// What API.md lists.
const API_NAMES = [
  'Pool', 'Executor', 'Process', 'Lock', 'Value', 'Queue', 'kernels', 'task', 'cpuCount', 'AsyncResult',
  'WorkerCrashedError', 'TimeoutError', 'AbortError', 'PoolStateError', 'TaskSerializationError', 'RemoteError',
];
const ERRORS = ['WorkerCrashedError', 'TimeoutError', 'AbortError', 'PoolStateError', 'TaskSerializationError', 'RemoteError', 'QueueEmptyError', 'QueueFullError'];

const cjsNames = () => Object.keys(cjs).filter((n) => n !== '__esModule' && n !== 'default').sort();

test('import() and require() expose the same set of names', async (t) => {
  const esm = await import('../dist/index.mjs');
  const esmNames = Object.keys(esm).filter((n) => n !== 'default').sort();
  t.deepEqual(esmNames, cjsNames());
  t.deepEqual(Object.keys(staticEsm).filter((n) => n !== 'default').sort(), esmNames);
});

test('every name is the very same object from both entries', async (t) => {
  const esm = await import('../dist/index.mjs');
  for (const name of cjsNames()) t.is(esm[name], cjs[name], name);
  t.is(esm.Pool, staticEsm.Pool);
  t.is(esm.kernels, cjs.kernels);
  t.is(esm.kernels.square, cjs.kernels.square);
  // Loading again gives the cached module, not a second copy.
  t.is(require('../dist/index.js'), cjs);
  t.is((await import('../dist/index.mjs')).Pool, esm.Pool);
});

test('every name API.md lists is exported from both entries', (t) => {
  for (const name of API_NAMES) {
    t.true(name in staticEsm, `ESM exports ${name}`);
    t.true(name in cjs, `CJS exports ${name}`);
  }
  t.is(typeof staticEsm.Pool, 'function');
  t.is(typeof staticEsm.cpuCount, 'function');
  t.is(typeof staticEsm.kernels, 'object');
  for (const k of ['square', 'sqrt', 'abs', 'neg', 'exp', 'log', 'sin', 'cos', 'sum', 'min', 'max', 'mean']) {
    t.is(typeof staticEsm.kernels[k], 'object', `kernels.${k}`);
  }
  for (const k of ['affine', 'pow', 'clamp']) t.is(typeof staticEsm.kernels[k], 'function', `kernels.${k}`);
});

test('error classes have the right name, are Errors, and are shared by both entries', (t) => {
  for (const name of ERRORS) {
    const Cls = staticEsm[name];
    t.is(typeof Cls, 'function', name);
    t.is(Cls.name, name);
    const e = name === 'WorkerCrashedError' ? new Cls('boom', 1, 2) : new Cls('boom');
    t.true(e instanceof Error, `${name} is an Error`);
    t.true(e instanceof cjs[name], `${name} from import is instanceof the required class`);
    t.is(e.name, name);
    t.is(e.message, 'boom');
    t.true(String(e).startsWith(`${name}: boom`));
    t.is(typeof e.stack, 'string');
  }
  t.true(new staticEsm.TaskSerializationError('x') instanceof TypeError);
  const crashed = new staticEsm.WorkerCrashedError('gone', 3, 7);
  t.is(crashed.exitCode, 3);
  t.is(crashed.index, 7);
  t.is(new staticEsm.AbortError('a', { cause: 'why' }).cause, 'why');
  t.is(new staticEsm.AbortError().message.length > 0, true, 'AbortError has a default message');
});

test('the porting guide (docs/coming-from-python.md) names every export', async (t) => {
  const guide = await readFile(new URL('../docs/coming-from-python.md', import.meta.url), 'utf8');
  for (const n of Object.keys(staticEsm)) t.true(guide.includes(n), `docs/coming-from-python.md mentions ${n}`);
});

test('an error thrown through one entry is caught as the other entry\'s class', async (t) => {
  const pool = new cjs.Pool(1);
  pool.close();
  const err = await t.throwsAsync(pool.map(staticEsm.kernels.square, [1]));
  t.true(err instanceof staticEsm.PoolStateError);
  t.true(err instanceof cjs.PoolStateError);
  await pool.join();
});

test('a Pool from require() runs kernels from import', async (t) => {
  const pool = new cjs.Pool(2);
  t.teardown(() => pool.terminate());
  t.deepEqual(await pool.map(staticEsm.kernels.square, [1, 2, 3]), [1, 4, 9]);
  t.is(await pool.reduce(staticEsm.kernels.sum, new Float64Array(1_000_000).fill(1)), 1_000_000);
  t.is(cjs.cpuCount(), staticEsm.cpuCount());
});

test('the package resolves its own name to the same entries', async (t) => {
  // package.json "exports": import -> dist/index.mjs, require -> dist/index.js.
  const self = createRequire(new URL('../package.json', import.meta.url));
  const viaName = self('ferropool');
  t.is(viaName, cjs);
  const esmViaName = await import('ferropool');
  t.is(esmViaName.Pool, staticEsm.Pool);
});
