// Cluster mode costs nothing to a program that does not use it: neither its code nor the
// Redis client is loaded. When its optional packages are missing, the error says what to
// install. (No Redis needed here; the cluster suite itself is __test__/cluster/.)
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = (code, args = []) => spawnSync(process.execPath, [...args, '--input-type=module', '-e', code], { cwd: root, encoding: 'utf8' });
const loaded = `const { createRequire } = await import('node:module');
const cache = Object.keys(createRequire(import.meta.url).cache);
console.log(JSON.stringify({ bullmq: cache.some((f) => f.includes('/bullmq/')), ioredis: cache.some((f) => f.includes('/ioredis/')), cluster: cache.some((f) => f.includes('/dist/cluster/')) }));`;

test('a program that never uses cluster loads neither its code nor bullmq nor ioredis', (t) => {
  const r = run(`import { Pool, kernels } from './dist/index.mjs';
const pool = new Pool(2);
await pool.map((x) => x + 1, [1, 2]);
await pool.map(kernels.square, new Float64Array(4));
await pool.terminate();
${loaded}`);
  t.is(r.status, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), { bullmq: false, ioredis: false, cluster: false });
});

test('a cluster pool loads them (the check above can fail)', (t) => {
  const r = run(`import { Pool } from './dist/index.mjs';
const pool = new Pool({ cluster: { connection: 'redis://127.0.0.1:1', queue: 'q', connectTimeout: 100 } });
await pool.terminate();
${loaded}`);
  t.is(r.status, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), { bullmq: true, ioredis: true, cluster: true });
});

test('without bullmq installed, a cluster pool and serve() say which package to install', (t) => {
  // Resolving 'bullmq' fails exactly as it does where it is not installed.
  const hide = `const M = require('node:module'); const resolve = M._resolveFilename;
M._resolveFilename = function (request, ...rest) {
  if (request === 'bullmq') { const e = new Error("Cannot find module 'bullmq'"); e.code = 'MODULE_NOT_FOUND'; throw e; }
  return resolve.call(this, request, ...rest);
};`;
  const r = spawnSync(process.execPath, ['-e', `${hide}
const { Pool } = require('./dist/index.js');
try { new Pool({ cluster: { connection: 'redis://127.0.0.1:1', queue: 'q' } }); console.log('no error'); } catch (e) { console.log(e.message); }
require('./dist/cluster/index.js').serve({ connection: 'redis://127.0.0.1:1', queue: 'q', log: false }).then(() => console.log('no error'), (e) => console.log(e.message));`], { cwd: root, encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.is(lines.length, 2, r.stdout);
  for (const line of lines) t.is(line, 'ferropool cluster mode needs the package "bullmq", which is not installed: npm install bullmq ioredis');
});
