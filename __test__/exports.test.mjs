import test from 'ava';
import { createRequire } from 'node:module';
import * as esm from '../dist/index.mjs';

const cjs = createRequire(import.meta.url)('../dist/index.js');

test('import and require expose the same objects', (t) => {
  const names = Object.keys(cjs).filter((n) => n !== '__esModule').sort();
  t.deepEqual(Object.keys(esm).sort(), names);
  for (const n of names) t.is(esm[n], cjs[n], n);
});

test('every name of API.md is exported, and the porting guide names every export', async (t) => {
  for (const n of ['Pool', 'Executor', 'Process', 'Lock', 'Value', 'Queue', 'kernels', 'task', 'cpuCount', 'AsyncResult', 'WorkerCrashedError', 'TimeoutError', 'AbortError', 'PoolStateError', 'TaskSerializationError', 'RemoteError']) {
    t.true(n in esm, n);
  }
  const { readFile } = await import('node:fs/promises');
  const guide = await readFile(new URL('../docs/coming-from-python.md', import.meta.url), 'utf8');
  for (const n of Object.keys(esm)) t.true(guide.includes(n), `docs/coming-from-python.md mentions ${n}`);
});

test('error classes have their names and are Errors', (t) => {
  for (const n of ['WorkerCrashedError', 'TimeoutError', 'AbortError', 'PoolStateError', 'TaskSerializationError', 'RemoteError', 'QueueEmptyError', 'QueueFullError']) {
    const e = n === 'WorkerCrashedError' ? new esm[n]('m', 1, 2) : new esm[n]('m');
    t.true(e instanceof Error, n);
    t.is(e.name, n);
    t.is(e.message, 'm');
  }
  t.true(new esm.TaskSerializationError('x') instanceof TypeError);
  t.is(new esm.AbortError('a', { cause: 'why' }).cause, 'why');
});
