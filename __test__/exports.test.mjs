import test from 'ava';
import { createRequire } from 'node:module';
import * as esm from '../dist/index.mjs';

const cjs = createRequire(import.meta.url)('../dist/index.js');

test('import and require expose the same objects', (t) => {
  const names = Object.keys(cjs).filter((n) => n !== '__esModule').sort();
  t.deepEqual(Object.keys(esm).sort(), names);
  for (const n of names) t.is(esm[n], cjs[n], n);
});

test('the names of API.md that exist so far are exported', (t) => {
  for (const n of ['Pool', 'Executor', 'kernels', 'task', 'cpuCount', 'AsyncResult', 'WorkerCrashedError', 'TimeoutError', 'AbortError', 'PoolStateError', 'TaskSerializationError', 'RemoteError']) {
    t.true(n in esm, n);
  }
});

test('error classes have their names and are Errors', (t) => {
  for (const n of ['WorkerCrashedError', 'TimeoutError', 'AbortError', 'PoolStateError', 'TaskSerializationError', 'RemoteError']) {
    const e = n === 'WorkerCrashedError' ? new esm[n]('m', 1, 2) : new esm[n]('m');
    t.true(e instanceof Error, n);
    t.is(e.name, n);
    t.is(e.message, 'm');
  }
  t.true(new esm.TaskSerializationError('x') instanceof TypeError);
  t.is(new esm.AbortError('a', { cause: 'why' }).cause, 'why');
});
