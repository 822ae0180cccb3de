// pool.stats(), the stable codes of PoolStateError (what a graceful shutdown checks), and
// the loader's message when the binary is installed but does not load.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool, PoolStateError, Executor } from 'ferropool';

const root = fileURLToPath(new URL('..', import.meta.url));
const require_ = createRequire(import.meta.url);

test('stats(): workers, busy, pending calls and chunks, chunks done', async (t) => {
  const pool = new Pool(2);
  t.teardown(() => pool.terminate());
  t.deepEqual(pool.stats(), { workers: 0, busy: 0, pendingCalls: 0, pendingChunks: 0, chunksDone: 0, heapUsed: [], heapTotal: [] });
  const sab = new Int32Array(new SharedArrayBuffer(4));
  // Four chunks whose tasks wait until released: two run, two wait in the queue.
  const call = pool.map((flag) => { Atomics.wait(flag, 0, 0, 20_000); return 1; }, [sab, sab, sab, sab], { chunksize: 1 });
  let s = pool.stats();
  for (let i = 0; i < 400 && s.busy < 2; i++) {
    await new Promise((r) => setTimeout(r, 25));
    s = pool.stats();
  }
  t.like(s, { workers: 2, busy: 2, pendingCalls: 1, pendingChunks: 4, chunksDone: 0 });
  Atomics.store(sab, 0, 1);
  Atomics.notify(sab, 0);
  t.deepEqual(await call, [1, 1, 1, 1]);
  await pool.apply((x) => x, [1]);
  t.like(pool.stats(), { workers: 2, busy: 0, pendingCalls: 0, pendingChunks: 0, chunksDone: 5 });
  // Each worker reports its heap when it parks (after 0.5 ms of polling for work).
  let heaps = pool.stats().heapUsed;
  for (let i = 0; i < 200 && !heaps.every((h) => h > 100_000); i++) {
    await new Promise((r) => setTimeout(r, 10));
    heaps = pool.stats().heapUsed;
  }
  t.is(heaps.length, 2);
  for (const h of heaps) t.true(h > 100_000 && h < 1e9, `a worker's heap in bytes: ${h}`);
  const { heapUsed, heapTotal } = pool.stats();
  t.is(heapTotal.length, 2);
  for (let i = 0; i < 2; i++) t.true(heapTotal[i] >= heapUsed[i], `a worker's heap size (${heapTotal[i]}) holds what is in use (${heapUsed[i]})`);
});

test('PoolStateError codes: terminated while pending, not running, still running', async (t) => {
  const pool = new Pool(1);
  const pending = pool.map((ms) => { const end = Date.now() + ms; while (Date.now() < end); return ms; }, [5_000]);
  await new Promise((r) => setTimeout(r, 200));
  await pool.terminate();
  const terminated = await t.throwsAsync(pending, { instanceOf: PoolStateError });
  t.is(terminated.code, 'ERR_POOL_TERMINATED');
  const notRunning = await t.throwsAsync(pool.map((x) => x, [1]), { instanceOf: PoolStateError });
  t.is(notRunning.code, 'ERR_POOL_NOT_RUNNING');
  const running = await t.throwsAsync(new Pool(1).join(), { instanceOf: PoolStateError });
  t.is(running.code, 'ERR_POOL_RUNNING');
  const ex = new Executor({ maxWorkers: 1 });
  await ex.shutdown();
  t.is(t.throws(() => ex.submit((x) => x, 1), { instanceOf: PoolStateError }).code, 'ERR_POOL_NOT_RUNNING');
  t.is(new PoolStateError('made by a user').code, 'ERR_POOL_NOT_RUNNING');
});

test('a binary that is installed but does not load: its own error comes first', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ferropool-loader-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true });
  mkdirSync(path.join(dir, 'native'));
  cpSync(path.join(root, 'native/index.js'), path.join(dir, 'native/index.js'));
  const { platformName } = require_(path.join(root, 'dist/util/native.js'));
  const file = path.join(dir, 'native', `ferropool.${platformName()}.node`);
  writeFileSync(file, 'not a shared library');
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(dir, 'dist/index.js'))})`], { encoding: 'utf8' });
  t.not(r.status, 0);
  const lines = r.stderr.split('\n');
  const at = lines.findIndex((l) => l.startsWith('Error: ferropool: the native binary'));
  t.true(at >= 0, r.stderr);
  t.true(lines[at].includes(`is installed at ${file} but could not be loaded:`), lines[at]);
  t.true(lines[at + 1].includes(file), `the next line is that file's own error: ${lines[at + 1]}`);
  t.notRegex(lines[at + 1], /Cannot find/);
});

test('the loader names the failure of the installed package first (a loader hook that cannot resolve it)', (t) => {
  const { brokenBinaryMessage, platformName } = require_(path.join(root, 'dist/util/native.js'));
  const name = platformName();
  const file = `/app/node_modules/@ferropool/binding-${name}/ferropool.${name}.node`;
  const chain = new Error('Cannot find native binding. npm has a bug related to optional dependencies');
  chain.cause = new Error(`Cannot find module './ferropool.${name}.node'`);
  chain.cause.cause = new Error(`Cannot find module '/app/node_modules/@ferropool/binding-${name}/package.json'`);
  const lines = brokenBinaryMessage(chain, file).split('\n');
  t.is(lines[0], `ferropool: the native binary for this platform (${name}, Node ${process.versions.node}) is installed at ${file} but could not be loaded:`);
  t.is(lines[1], `  Cannot find module '/app/node_modules/@ferropool/binding-${name}/package.json'`);
  t.regex(lines.slice(2).join('\n'), /Cannot find native binding[\s\S]*ferropool\.[\w-]+\.node'/);
});
