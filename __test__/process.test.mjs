import test from 'ava';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

function run(fixture, ...flags) {
  const file = fileURLToPath(new URL(`fixtures/${fixture}`, import.meta.url));
  return spawnSync(process.execPath, [...flags, file], { encoding: 'utf8', timeout: 30_000 });
}

test('an idle pool does not keep the process alive', (t) => {
  const r = run('idle-pool.mjs');
  t.is(r.signal, null, r.stderr);
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout.trim(), '2,4,6');
});

test('process.exit() with work in flight exits with its code, without crashing', (t) => {
  for (let i = 0; i < 3; i++) {
    const r = run('exit-mid-work.mjs');
    t.is(r.signal, null, r.stderr);
    t.is(r.status, 7, r.stderr);
  }
});

test('a pending call keeps the process alive until it settles', (t) => {
  const r = run('pending-keeps-alive.mjs');
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout.trim(), 'result 40');
});

test('the addon works in several isolates at once, and survives their termination mid-call', (t) => {
  const r = run('isolates.mjs');
  t.is(r.signal, null, r.stderr);
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout.trim(), 'ok 15');
});

test('the addon loaded only by workers, one after another: no crash as each last one exits', (t) => {
  // With mimalloc 3 as the addon's allocator, the second worker's load crashed with SIGSEGV:
  // the allocator's state died with the first thread that had used it (see crates/node/src/lib.rs).
  const r = run('workers-only.mjs');
  t.is(r.signal, null, r.stderr);
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout.trim(), 'ok 12');
});

test('terminate() and join() settle when the workers are idle', (t) => {
  for (let i = 0; i < 6; i++) {
    const r = run('terminate-idle.mjs');
    t.is(r.status, 0, `run ${i}: ${r.stderr}`);
    t.is(r.stdout.trim(), 'settled');
  }
});

test('output memory that is not zero-filled is fully overwritten', (t) => {
  const r = run('recycled-outputs.mjs', '--expose-gc');
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout.trim(), 'bad 0');
});

test('a callback that throws leaves the result alone and surfaces as an uncaught exception', (t) => {
  const r = run('callback-throws.mjs');
  t.is(r.status, 0, r.stderr);
  t.deepEqual(r.stdout.trim().split('\n').sort(), ['get 42', 'uncaught in callback']);
});

test('shared buffers passed to tasks are released by the workers once the caller drops them', (t) => {
  const r = run('shared-forgotten.mjs', '--expose-gc');
  t.is(r.status, 0, r.stderr);
  const { peak, after } = JSON.parse(r.stdout);
  // 50 x 8 MiB were touched; with the workers still holding them, nothing comes back.
  t.true(peak - after > 250, `RSS peak ${peak} MiB, after ${after} MiB`);
});

test('Ctrl-C (SIGINT) during long JS and kernel maps ends the process promptly', async (t) => {
  const { spawn } = await import('node:child_process');
  const file = fileURLToPath(new URL('fixtures/sigint.mjs', import.meta.url));
  const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => String(d).includes('started') && resolve());
    child.once('exit', () => reject(new Error('the fixture ended before it started')));
  });
  const sent = Date.now();
  child.kill('SIGINT');
  const [code, signal] = await Promise.race([
    new Promise((r) => child.once('exit', (c, s) => r([c, s]))),
    new Promise((r) => setTimeout(() => r(['still running', null]), 10_000)),
  ]);
  if (code === 'still running') child.kill('SIGKILL');
  t.is(signal, 'SIGINT', `exit ${code}`);
  t.true(Date.now() - sent < 10_000);
});

test('an unhandled rejection inside an async task fails that call, naming the error', async (t) => {
  const { Pool } = await import('../dist/index.mjs');
  const pool = new Pool(1);
  t.teardown(() => pool.terminate());
  const err = await t.throwsAsync(pool.apply(async () => {
    Promise.reject(new RangeError('nobody caught me'));
    await new Promise((r) => setTimeout(r, 20));
    return 1;
  }));
  t.is(err.name, 'WorkerCrashedError');
  t.regex(err.message, /nobody caught me/);
  t.deepEqual(await pool.map((x) => x + 1, [1]), [2]);
});
