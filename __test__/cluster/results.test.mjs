// Cluster mode's results and errors against a real redis-server and two worker hosts, each
// its own OS process: every method gives what a local pool gives, errors included (plus the
// host), and nothing of a settled call stays in Redis.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lock, Pool, RemoteError, Value, WorkerCrashedError, kernels, task } from '../../dist/index.mjs';
import { eventually, leftoverKeys, queueName, startHost, testRedis } from './support.mjs';

const tasks = new URL('./fixtures/tasks.mjs', import.meta.url);
let redis;
let queue;
let hosts;
let cluster;
let local;

test.before(async () => {
  redis = await testRedis();
  queue = queueName();
  hosts = await Promise.all([startHost(redis.url, queue, { name: 'alpha' }), startHost(redis.url, queue, { name: 'beta' })]);
  cluster = new Pool({ cluster: { connection: redis.url, queue } });
  local = new Pool(2);
});

test.after.always(async () => {
  await cluster?.terminate();
  await local?.terminate();
  await Promise.all((hosts ?? []).map((h) => h.kill('SIGTERM')));
  await redis?.stop();
});

const square = (x) => x * x;

test.serial('map, starmap, apply, the async forms and reduce give what a local pool gives', async (t) => {
  const words = ['a', 'bb', 'ccc', 'dddd'];
  for (const [what, run] of [
    ['map of numbers', (p) => p.map(square, [1, 2, 3, 4, 5])],
    ['map of a Float64Array', (p) => p.map((x) => x / 2, new Float64Array([1, 2, 3]))],
    ['map of a Float32Array', (p) => p.map((x) => x + 0.5, new Float32Array([1, 2, 3]))],
    ['map of strings', (p) => p.map((s) => s.toUpperCase(), words)],
    ['map of objects', (p) => p.map((o) => ({ n: o.n + 1, when: new Date(0), tags: new Set(['x']) }), [{ n: 1 }, { n: 2 }])],
    ['map of a generator', (p) => p.map((x) => x - 1, (function* () { yield 5; yield 6; })())],
    ['map to typed arrays', (p) => p.map((n) => new Int16Array(n), [1, 2])],
    ['map of an empty input', (p) => p.map(square, [])],
    ['map with chunksize 1', (p) => p.map(square, [1, 2, 3], { chunksize: 1 })],
    ['starmap', (p) => p.starmap((a, b) => a * b, [[1, 2], [3, 4], [5, 6]])],
    ['apply', (p) => p.apply((a, b) => `${a}-${b}`, ['x', 7])],
    ['apply with no args', (p) => p.apply(() => 42)],
    ['applyAsync', (p) => p.applyAsync((a) => a + 1, [1]).get()],
    ['mapAsync', (p) => p.mapAsync(square, [3, 4]).get()],
    ['starmapAsync', (p) => p.starmapAsync((a, b) => a - b, [[5, 1]]).get()],
    ['reduce', (p) => p.reduce((a, b) => a + b, [1, 2, 3, 4, 5, 6, 7])],
    ['reduce with initial', (p) => p.reduce((a, b) => a + b, ['b', 'c'], { initial: 'a' })],
    ['reduce of an empty input with initial', (p) => p.reduce((a, b) => a + b, [], { initial: 9 })],
    ['a task()', (p) => p.map(task(tasks, 'spin'), [1, 2, 3])],
    ['kernels.sqrt over a Float64Array', (p) => p.map(kernels.sqrt, new Float64Array([1, 4, 9]))],
    ['kernels.affine over numbers', (p) => p.map(kernels.affine(2, 1), [1, 2, 3])],
    ['kernels.sum', (p) => p.reduce(kernels.sum, new Float64Array([1, 2, 3.5]))],
    ['kernels.max with initial', (p) => p.reduce(kernels.max, [1, 5, 3], { initial: 4 })],
    ['kernels.mean', (p) => p.reduce(kernels.mean, [1, 2, 3, 4])],
    ['kernels.sum with map', (p) => p.reduce(kernels.sum, [-1, 2, -3], { map: kernels.abs })],
    ['kernels.expr over one array', (p) => p.map(kernels.expr('s*x + 1', { s: 3 }), new Float32Array([1, 2, 3]))],
    ['kernels.expr over named arrays', (p) => p.map(kernels.expr('a*b + c'), { a: [1, 2, 3], b: new Float64Array([4, 5, 6]), c: [1, 1, 1] }, { chunksize: 2 })],
    ['kernels.expr fused into a reduction', (p) => p.reduce(kernels.sum, { a: [1, 2, 3], b: [4, 5, 6] }, { map: kernels.expr('a*b'), chunksize: 2 })],
  ]) {
    t.deepEqual(await run(cluster), await run(local), what);
  }
});

test.serial('a large map spreads over both hosts and keeps input order', async (t) => {
  const input = Array.from({ length: 40 }, (_, i) => i);
  const out = await cluster.map((x) => {
    const until = Date.now() + 20;
    while (Date.now() < until);
    return [x, process.pid];
  }, input, { chunksize: 2 });
  t.deepEqual(out.map(([x]) => x), input);
  const pids = [...new Set(out.map(([, pid]) => pid))].sort();
  t.deepEqual(pids, hosts.map((h) => h.child.pid).sort());
});

test.serial('imap yields in input order, imapUnordered yields every result', async (t) => {
  const ordered = [];
  for await (const r of cluster.imap((x) => x * 10, [1, 2, 3, 4, 5], { chunksize: 1 })) ordered.push(r);
  t.deepEqual(ordered, [10, 20, 30, 40, 50]);
  const unordered = [];
  for await (const r of cluster.imapUnordered((x) => x * 10, [1, 2, 3, 4, 5])) unordered.push(r);
  t.deepEqual(unordered.sort((a, b) => a - b), [10, 20, 30, 40, 50]);
  async function* later() {
    for (const x of [3, 2, 1]) {
      await new Promise((r) => setTimeout(r, 10));
      yield x;
    }
  }
  const fromAsync = [];
  for await (const r of cluster.imap((x) => -x, later())) fromAsync.push(r);
  t.deepEqual(fromAsync, [-3, -2, -1]);
  // An endless input: read lazily, and the loop can stop.
  function* naturals() {
    for (let i = 1; ; i++) yield i;
  }
  const firsts = [];
  for await (const r of cluster.imap((x) => x + 1, naturals())) {
    firsts.push(r);
    if (firsts.length === 20) break;
  }
  t.deepEqual(firsts, Array.from({ length: 20 }, (_, i) => i + 2));
});

test.serial('a task error comes back with its class, message, own properties, index, remote stack and host', async (t) => {
  const fails = (x) => {
    if (x === 3) {
      const e = new RangeError(`bad ${x}`);
      e.code = 'E_BAD';
      e.detail = { x };
      throw e;
    }
    return x;
  };
  const err = await t.throwsAsync(cluster.map(fails, [1, 2, 3, 4], { chunksize: 1 }), { instanceOf: RangeError, message: 'bad 3' });
  t.is(err.code, 'E_BAD');
  t.deepEqual(err.detail, { x: 3 });
  t.is(err.index, 2);
  t.true(['alpha', 'beta'].includes(err.host), String(err.host));
  t.regex(err.stack, /RangeError: bad 3\n\s+at /);
  t.regex(err.stack, /the task ran on cluster host (alpha|beta)/);
  const custom = await t.throwsAsync(cluster.apply(() => {
    class Oops extends Error {
      name = 'Oops';
    }
    throw new Oops('custom');
  }));
  t.is(custom.name, 'Oops');
  t.is(custom.message, 'custom');
  t.is(custom.index, 0);
  // imap: every result before the failed position first, then the error.
  const seen = [];
  await t.throwsAsync(async () => {
    for await (const r of cluster.imap(fails, [1, 2, 3, 4, 5], { chunksize: 2 })) seen.push(r);
  }, { message: 'bad 3' });
  t.deepEqual(seen, [1, 2]);
});

test.serial('a worker that dies on a host gives WorkerCrashedError with the host, and the host goes on', async (t) => {
  const err = await t.throwsAsync(cluster.map((x) => (x === 2 ? process.exit(7) : x), [1, 2, 3], { chunksize: 1 }), { instanceOf: WorkerCrashedError });
  t.is(err.exitCode, 7);
  t.is(err.index, 1);
  t.true(['alpha', 'beta'].includes(err.host));
  t.deepEqual(await cluster.map(square, [1, 2, 3], { chunksize: 1 }), [1, 4, 9]);
});

test.serial('initializer and initargs run on every host', async (t) => {
  const pool = new Pool({ cluster: { connection: redis.url, queue }, initializer: (base) => (globalThis.base = base), initargs: [100] });
  try {
    t.deepEqual(await pool.map((x) => globalThis.base + x, [1, 2, 3, 4], { chunksize: 1 }), [101, 102, 103, 104]);
  } finally {
    await pool.terminate();
  }
});

test.serial('maxTasksPerChild applies on every host: a fresh worker for each chunk', async (t) => {
  const count = () => (globalThis.seen = (globalThis.seen ?? 0) + 1);
  const fresh = new Pool({ cluster: { connection: redis.url, queue }, maxTasksPerChild: 1 });
  const reused = new Pool({ cluster: { connection: redis.url, queue } });
  try {
    t.deepEqual(await fresh.map(count, Array(8).fill(0), { chunksize: 1 }), Array(8).fill(1));
    t.true((await reused.map(count, Array(8).fill(0), { chunksize: 1 })).some((n) => n > 1), 'without it, workers are reused');
  } finally {
    await Promise.all([fresh.terminate(), reused.terminate()]);
  }
});

test.serial('shared-memory arguments are refused with a TypeError naming them, and nothing is sent', async (t) => {
  await t.throwsAsync(cluster.map((l) => l, [1, new Lock()]), { instanceOf: TypeError, message: /input\[1\] is a Lock.*shared memory/ });
  await t.throwsAsync(cluster.apply((x) => x, [{ buf: new SharedArrayBuffer(8) }]), { instanceOf: TypeError, message: /argTuples\[0\]\[0\]\.buf is a SharedArrayBuffer/ });
  await t.throwsAsync(cluster.map((x) => x, new Float64Array(new SharedArrayBuffer(16))), { instanceOf: TypeError });
  t.throws(() => new Pool({ cluster: { connection: redis.url, queue }, initargs: [new Value('i32', 1)] }), { instanceOf: TypeError, message: /initargs\[0\] is a Value/ });
  t.deepEqual(await cluster.map(square, [2]), [4], 'the pool still works');
});

test.serial('onProgress reports chunks as they arrive, and (total, total) at the end', async (t) => {
  const seen = [];
  await cluster.map(square, Array.from({ length: 10 }, (_, i) => i), { chunksize: 2, onProgress: (done, total) => seen.push([done, total]) });
  t.deepEqual(seen.at(-1), [10, 10]);
  t.true(seen.length >= 2, JSON.stringify(seen));
  for (let i = 1; i < seen.length; i++) t.true(seen[i][0] > seen[i - 1][0]);
});

test.serial('an idle cluster pool does not keep the process alive', (t) => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import { Pool } from ${JSON.stringify(new URL('../../dist/index.mjs', import.meta.url).href)};
const pool = new Pool({ cluster: { connection: ${JSON.stringify(redis.url)}, queue: ${JSON.stringify(queue)} } });
console.log(JSON.stringify(await pool.map((x) => x * 2, [1, 2, 3])));`], { encoding: 'utf8', timeout: 20_000 });
  t.is(r.signal, null, 'it exited by itself');
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout, '[2,4,6]\n');
});

test.serial('bad cluster options name the option', (t) => {
  t.throws(() => new Pool({ cluster: { connection: 'http://x', queue } }), { instanceOf: TypeError, message: /cluster\.connection must be a redis:\/\// });
  t.throws(() => new Pool({ cluster: { connection: redis.url } }), { instanceOf: TypeError, message: /cluster\.queue/ });
  t.throws(() => new Pool({ cluster: { connection: redis.url, queue, maxRetries: -1 } }), { instanceOf: RangeError, message: /maxRetries/ });
  t.throws(() => new Pool({ cluster: { connection: redis.url, queue, nope: 1 } }), { instanceOf: TypeError, message: /cluster\.nope is not an option/ });
});

test.serial('close() and join() right after a call: the call completes first', async (t) => {
  const pool = new Pool({ cluster: { connection: redis.url, queue } });
  const call = pool.map(square, [1, 2, 3]);
  pool.close();
  await pool.join();
  t.deepEqual(await call, [1, 4, 9]);
  await t.throwsAsync(pool.map(square, [1]), { name: 'PoolStateError' });
});

test.serial('settled calls leave no keys in Redis, and close() + join() disconnect', async (t) => {
  const pool = new Pool({ cluster: { connection: redis.url, queue } });
  t.deepEqual(await pool.map(square, Array.from({ length: 50 }, (_, i) => i), { chunksize: 5 }), Array.from({ length: 50 }, (_, i) => i * i));
  t.is(await pool.reduce((a, b) => a + b, [1, 2, 3]), 6);
  await t.throwsAsync(pool.map((x) => { throw new Error(`no ${x}`); }, [1]));
  pool.close();
  await pool.join();
  // A job is removed just after its result is sent: allow that moment.
  await eventually(async () => (await leftoverKeys(redis.url, queue)).length === 0, 3000);
  t.deepEqual(await leftoverKeys(redis.url, queue), []);
});

test.serial('with a secret: hosts refuse unsigned and wrongly signed jobs without running them', async (t) => {
  const q = queueName();
  const host = await startHost(redis.url, q, { name: 'vault', secret: 'right' });
  const dir = mkdtempSync(join(tmpdir(), 'ferropool-secret-'));
  try {
    const marker = join(dir, 'ran');
    for (const secret of [undefined, 'wrong']) {
      const pool = new Pool({ cluster: { connection: redis.url, queue: q, ...(secret ? { secret } : {}) } });
      const err = await t.throwsAsync(pool.apply(task(tasks, 'mark'), [marker, 1]), { instanceOf: RemoteError });
      t.regex(err.message, /host vault refused the chunk without running it/);
      t.is(err.host, 'vault');
      await pool.terminate();
    }
    t.false(existsSync(marker), 'nothing ran');
    const signed = new Pool({ cluster: { connection: redis.url, queue: q, secret: 'right' } });
    t.is(await signed.apply(task(tasks, 'mark'), [marker, 5]), 5);
    t.true(existsSync(marker));
    await signed.terminate();
    t.regex(host.log, /refused job .*not signed/);
    t.regex(host.log, /refused job .*signature does not match/);
  } finally {
    await host.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});
