// The native pool and the Node process: exit with idle pools, process.exit() mid-call,
// worker threads terminated mid-call, and the addon loaded in several isolates at once.
import test from 'ava';
import { execFile } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { Pool, kernels } from '../dist/index.mjs';

const CHILD_TIMEOUT_MS = 20_000;

/** Runs fixtures/<name> in a child node; resolves with { status, signal, stdout, stderr }. */
function runFixture(name, ...args) {
  const file = new URL(`fixtures/${name}`, import.meta.url).pathname;
  return new Promise((resolve) => {
    execFile(process.execPath, [file, ...args], { timeout: CHILD_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, signal: err?.signal ?? null, killed: err?.killed ?? false, stdout, stderr });
    });
  });
}

const describeRun = (r) => `status ${r.status}, signal ${r.signal}, killed ${r.killed}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

test('an idle pool that was never closed does not keep the process alive', async (t) => {
  t.timeout(3 * CHILD_TIMEOUT_MS);
  const r = await runFixture('kernels-idle-pool.mjs');
  t.false(r.killed, `the process did not exit by itself:\n${describeRun(r)}`);
  t.is(r.signal, null, describeRun(r));
  t.is(r.status, 0, describeRun(r));
  t.is(r.stdout.trim(), '1,4,9 4 true');
});

test('process.exit(0) while big kernel calls run exits 0 without crashing', async (t) => {
  t.timeout(6 * CHILD_TIMEOUT_MS);
  for (const when of ['sync', 'later', 'sync', 'later']) {
    const r = await runFixture('kernels-exit-mid-map.mjs', when);
    t.false(r.killed, `${when}: hung\n${describeRun(r)}`);
    t.is(r.signal, null, `${when}: ${describeRun(r)}`);
    t.is(r.status, 0, `${when}: ${describeRun(r)}`);
    t.is(r.stderr, '', `${when}: nothing on stderr`);
  }
});

test('worker threads terminated during big kernel calls leave the process healthy', async (t) => {
  t.timeout(4 * CHILD_TIMEOUT_MS);
  for (let run = 0; run < 2; run++) {
    const r = await runFixture('kernels-worker-terminate.mjs', '6');
    t.false(r.killed, `run ${run}: hung\n${describeRun(r)}`);
    t.is(r.signal, null, `run ${run}: ${describeRun(r)}`);
    t.is(r.status, 0, `run ${run}: ${describeRun(r)}`);
    t.is(r.stdout.trim(), 'terminated 6 ok true', `run ${run}: ${describeRun(r)}`);
  }
});

test('the addon loads in several worker threads at once and each computes correctly', async (t) => {
  t.timeout(60_000);
  const file = new URL('fixtures/kernels-isolate-map.mjs', import.meta.url);
  const n = 1_000_003;
  const params = [[1, 0], [2, 1], [-3, 0.5], [0.25, -7]];
  const workers = params.map(([a, b]) => new Worker(file, { workerData: { a, b, n } }));
  const exits = workers.map((w) => new Promise((resolve) => w.once('exit', resolve)));
  const answers = workers.map(
    (w) =>
      new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      }),
  );
  // This thread keeps using the addon meanwhile.
  const pool = new Pool();
  t.teardown(() => pool.terminate());
  const own = await pool.map(kernels.sqrt, new Float64Array(3_000_000).fill(49));
  t.true(own.every((v) => v === 7), 'the main thread\'s own call');

  const results = await Promise.all(answers);
  results.forEach(({ x, big, f32, small, sum }, w) => {
    const [a, b] = params[w];
    t.is(x.length, n);
    t.is(big.length, n);
    t.true(big instanceof Float64Array && f32 instanceof Float32Array, `worker ${w}: result types`);
    let bad = 0;
    let want = 0;
    for (let i = 0; i < n; i++) {
      if (!Object.is(big[i], a * x[i] + b)) bad++;
      if (!Object.is(f32[i], Math.fround(Math.fround(x[i]) * Math.fround(x[i])))) bad++;
      want += x[i];
    }
    t.is(bad, 0, `worker ${w}: every element`);
    t.deepEqual(small, [a + b, 2 * a + b, 3 * a + b], `worker ${w}: inline call`);
    t.is(sum, want, `worker ${w}: reduce`);
  });
  // Their pools are idle and never closed: the workers still exit by themselves.
  t.deepEqual(await Promise.all(exits), [0, 0, 0, 0]);
  const after = await pool.map(kernels.square, new Float64Array(2_000_000).fill(3));
  t.true(after.every((v) => v === 9), 'the main thread still works after the workers are gone');
});

test('every line a pool task prints reaches the parent, before terminate() and across retirements', async (t) => {
  t.timeout(2 * CHILD_TIMEOUT_MS);
  const r = await runFixture('worker-output.mjs');
  t.is(r.status, 0, describeRun(r));
  const out = new Set(r.stdout.split('\n').filter(Boolean));
  const expected = [
    'apply 1', 'apply 2', 'apply 3',
    ...Array.from({ length: 20 }, (_, i) => `map ${i}`),
    ...Array.from({ length: 300 }, (_, i) => `many ${i}`),
    'retiring 1', 'retiring 2', 'retiring 3',
  ];
  t.deepEqual(expected.filter((line) => !out.has(line)), [], 'lines missing from stdout');
  t.is(r.stdout.split('\n').filter(Boolean).length, expected.length, 'no line twice');
  t.is(r.stderr.trim(), 'apply err');
});

test('acquireAsync, getAsync and putAsync that time out settle even when nothing else keeps Node alive', async (t) => {
  t.timeout(2 * CHILD_TIMEOUT_MS);
  const r = await runFixture('shared-waits.mjs');
  t.is(r.status, 0, describeRun(r));
  t.is(r.stdout, 'lock false\nget QueueEmptyError\nput QueueFullError\n', describeRun(r));
});
