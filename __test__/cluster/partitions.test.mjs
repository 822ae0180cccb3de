// Cluster mode's faults beyond a killed host, through a TCP proxy between a client and
// Redis that the test controls: a host cut off mid-chunk and back, a caller cut off, Redis
// restarted mid-call, and many hosts on one machine.
import test, { registerCompletionHandler } from 'ava';
import { Pool, task } from '../../dist/index.mjs';
import { ClusterConnectionError } from '../../dist/cluster/index.js';
import { eventually, queueName, startHost, startProxy, startRedis, testRedis } from './support.mjs';

const { Redis } = await import('ioredis');
const tasks = new URL('./fixtures/tasks.mjs', import.meta.url);
const spin = task(tasks, 'spin');
let redis;
let r;

test.before(async () => {
  redis = await testRedis();
  r = new Redis(redis.url);
});
test.after.always(async () => {
  r?.disconnect();
  await redis?.stop();
});

// Once every result is reported, the file's process exits (ava's documented way): in one CI
// run of several, after these tests had passed, Node's own environment cleanup (CleanupHandles)
// spun for minutes at exit with nothing of JavaScript's left to run. process.exit() skips that
// cleanup. Whether an idle pool keeps a process alive is tested in results.test.mjs.
registerCompletionHandler(() => process.exit(0));

const portOf = (url) => Number(new URL(url).port);
const active = (queue) => r.llen(`bull:${queue}:active`);
/** Spins `ms`, then says which host process ran it. */
const where = (ms) => {
  const until = Date.now() + ms;
  while (Date.now() < until);
  return process.pid;
};

test.serial('a host cut off from Redis mid-chunk (a silent partition): its chunks run on another host; back, its late results are dropped', async (t) => {
  t.timeout(60_000);
  const queue = queueName();
  const proxy = await startProxy(portOf(redis.url));
  const cutOff = await startHost(proxy.url, queue, { name: 'island' });
  const pool = new Pool({ cluster: { connection: redis.url, queue } });
  let other;
  try {
    const call = pool.map(where, [1500, 1500, 1500, 1500], { chunksize: 1 });
    await eventually(async () => (await active(queue)) >= 1, 5000);
    proxy.freeze();
    other = await startHost(redis.url, queue, { name: 'mainland' });
    const pids = await call;
    t.is(pids.length, 4, 'every result, each once');
    t.true(pids.includes(other.child.pid), 'the chunks ran on the other host');
    t.false(pids.includes(cutOff.child.pid), 'nothing came from the host while it was cut off');
    proxy.thaw();
    // Back: the cut-off host's finished chunks reach Redis late and are dropped; it serves again.
    await new Promise((res) => setTimeout(res, 2500));
    const next = await pool.map(where, Array.from({ length: 8 }, () => 200), { chunksize: 1 });
    t.is(next.length, 8);
    t.true(next.every((pid) => pid === other.child.pid || pid === cutOff.child.pid));
  } finally {
    await pool.terminate();
    await Promise.all([cutOff.kill(), other?.kill()]);
    await proxy.close();
  }
});

test.serial('a caller cut off from Redis (silent): its calls reject with ClusterConnectionError; once back, calls work', async (t) => {
  t.timeout(60_000);
  const queue = queueName();
  const proxy = await startProxy(portOf(redis.url));
  const host = await startHost(redis.url, queue, { name: 'steady' });
  const pool = new Pool({ cluster: { connection: proxy.url, queue, connectTimeout: 1500 } });
  try {
    t.deepEqual(await pool.map((x) => x + 1, [1]), [2]);
    const call = pool.starmap(spin, [[1, 4000], [2, 4000]], { chunksize: 1 });
    call.catch(() => {});
    await eventually(async () => (await active(queue)) >= 1, 5000);
    const began = Date.now();
    proxy.freeze();
    const err = await t.throwsAsync(call, { instanceOf: ClusterConnectionError });
    const took = Date.now() - began;
    t.regex(err.message, /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/? \(.*\)/);
    t.true(took < 8000, `rejected ${took} ms after the cut`);
    proxy.thaw();
    const ok = await eventually(() => pool.map((x) => x * 3, [1, 2]).then((v) => v, () => false), 15_000);
    t.deepEqual(ok, [3, 6]);
  } finally {
    await pool.terminate();
    await host.kill();
    await proxy.close();
  }
});

test.serial('a caller whose connections are reset: its calls reject at once with ClusterConnectionError', async (t) => {
  t.timeout(30_000);
  const queue = queueName();
  const proxy = await startProxy(portOf(redis.url));
  const host = await startHost(redis.url, queue, { name: 'steady-2' });
  const pool = new Pool({ cluster: { connection: proxy.url, queue, connectTimeout: 1500 } });
  try {
    const call = pool.starmap(spin, [[1, 4000]]);
    call.catch(() => {});
    await eventually(async () => (await active(queue)) >= 1, 5000);
    const began = Date.now();
    proxy.cut();
    await t.throwsAsync(call, { instanceOf: ClusterConnectionError });
    t.true(Date.now() - began < 3000);
    proxy.restore();
    const ok = await eventually(() => pool.map((x) => x * 3, [1]).then((v) => v, () => false), 15_000);
    t.deepEqual(ok, [3]);
  } finally {
    await pool.terminate();
    await host.kill();
    await proxy.close();
  }
});

test.serial('Redis restarted mid-call: the call settles (rejects or completes), never hangs; later calls work', async (t) => {
  t.timeout(60_000);
  const own = await startRedis();
  const queue = queueName();
  const host = await startHost(own.url, queue, { name: 'reboot' });
  const pool = new Pool({ cluster: { connection: own.url, queue, connectTimeout: 1500 } });
  try {
    const call = pool.starmap(spin, [[1, 1500], [2, 1500], [3, 1500]], { chunksize: 1 });
    const settled = call.then(
      (v) => ({ ok: v }),
      (e) => ({ err: e }),
    );
    await new Promise((res) => setTimeout(res, 300));
    await own.stop();
    const back = await startRedis(own.port);
    own.stop = back.stop;
    const began = Date.now();
    const outcome = await Promise.race([settled, new Promise((res) => setTimeout(() => res('hung'), 15_000))]);
    t.not(outcome, 'hung', `settled ${Date.now() - began} ms after the restart`);
    if (outcome.err) t.true(outcome.err instanceof ClusterConnectionError, String(outcome.err));
    else t.deepEqual(outcome.ok, [1, 2, 3]);
    const ok = await eventually(() => pool.map((x) => x - 1, [5]).then((v) => v, () => false), 20_000);
    t.deepEqual(ok, [4]);
  } finally {
    await pool.terminate();
    await host.kill();
    await own.stop();
  }
});

test.serial('8 hosts on one machine, 2,000 chunks: every result once', async (t) => {
  t.timeout(180_000);
  const queue = queueName();
  const hosts = await Promise.all(Array.from({ length: 8 }, (_, i) => startHost(redis.url, queue, { name: `many-${i}` })));
  const pool = new Pool({ cluster: { connection: redis.url, queue } });
  try {
    const input = Array.from({ length: 2000 }, (_, i) => i);
    const seen = new Map();
    const pids = new Set();
    for await (const [i, pid] of pool.imapUnordered((x) => [x, process.pid], input, { chunksize: 1 })) {
      seen.set(i, (seen.get(i) ?? 0) + 1);
      pids.add(pid);
    }
    t.is(seen.size, 2000);
    t.true([...seen.values()].every((n) => n === 1), 'each result once');
    t.true(pids.size > 1, `the chunks ran on ${pids.size} hosts`);
    t.true([...pids].every((pid) => hosts.some((h) => h.child.pid === pid)));
  } finally {
    await pool.terminate();
    await Promise.all(hosts.map((h) => h.kill('SIGTERM')));
  }
});
