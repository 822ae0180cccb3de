// Cluster mode's faults against a real redis-server and worker hosts in their own OS
// processes: a host killed mid-call, a chunk that loses every host, abort and timeout,
// Redis going away and coming back.
import test from 'ava';
import { AbortError, Pool, TimeoutError, WorkerCrashedError, task } from '../../dist/index.mjs';
import { ClusterConnectionError } from '../../dist/cluster/index.js';
import { eventually, leftoverKeys, queueName, startHost, startRedis, testRedis } from './support.mjs';

const tasks = new URL('./fixtures/tasks.mjs', import.meta.url);
const spin = task(tasks, 'spin');
let redis;

test.before(async () => {
  redis = await testRedis();
});
test.after.always(async () => {
  await redis?.stop();
});

/** Waiting and running jobs of `queue` (BullMQ's lists). */
async function queued(url, queue) {
  const keys = await leftoverKeys(url, queue);
  return keys.filter((k) => /:(wait|active|prioritized|paused)$/.test(k));
}

test.serial('a host SIGKILLed mid-call: its chunks run on the other host, every result arrives once', async (t) => {
  t.timeout(60_000);
  const queue = queueName();
  const [a, b] = await Promise.all([startHost(redis.url, queue, { name: 'doomed' }), startHost(redis.url, queue, { name: 'survivor' })]);
  const pool = new Pool({ cluster: { connection: redis.url, queue } });
  try {
    const input = Array.from({ length: 12 }, (_, i) => i);
    const results = [];
    let killed = false;
    const slowly = (x) => {
      const until = Date.now() + 300;
      while (Date.now() < until);
      return x;
    };
    for await (const r of pool.imapUnordered(slowly, input, { chunksize: 1 })) {
      results.push(r);
      if (!killed && results.length === 2) {
        killed = true;
        await a.kill('SIGKILL');
      }
    }
    t.true(killed);
    t.deepEqual(results.sort((x, y) => x - y), input, 'every result, each once');
    t.deepEqual(await pool.map((x) => x + 1, [1, 2]), [2, 3], 'the pool goes on');
    await eventually(async () => (await leftoverKeys(redis.url, queue)).length === 0, 5000);
    t.deepEqual(await leftoverKeys(redis.url, queue), []);
  } finally {
    await pool.terminate();
    await Promise.all([a.kill(), b.kill('SIGTERM')]);
  }
});

test.serial('with the default lock times, the chunk of a killed host runs again within 10 s', async (t) => {
  t.timeout(60_000);
  const queue = queueName();
  const first = await startHost(redis.url, queue, { name: 'default-1', defaults: true });
  const pool = new Pool({ cluster: { connection: redis.url, queue } });
  try {
    const call = pool.apply(spin, [9, 3000]); // long enough to be running when its host is killed
    await eventually(() => queued(redis.url, queue).then((q) => q.some((k) => k.endsWith(':active'))), 5000);
    await first.kill('SIGKILL');
    const killedAt = Date.now();
    const second = await startHost(redis.url, queue, { name: 'default-2', defaults: true });
    t.is(await call, 9);
    const took = Date.now() - killedAt;
    t.true(took < 10_000 + 3000 + 1500, `the result came ${took} ms after the kill`);
    await second.kill('SIGTERM');
  } finally {
    await pool.terminate();
  }
});

test.serial('a chunk that loses its host more than maxRetries times rejects with WorkerCrashedError naming the host', async (t) => {
  t.timeout(60_000);
  const queue = queueName();
  const first = await startHost(redis.url, queue, { name: 'lost-1' });
  const pool = new Pool({ cluster: { connection: redis.url, queue, maxRetries: 0 } });
  try {
    const call = pool.apply(spin, [1, 3000]);
    call.catch(() => {});
    await eventually(() => first.log.length > 0 && queued(redis.url, queue).then((q) => q.some((k) => k.endsWith(':active'))), 5000);
    await first.kill('SIGKILL');
    const second = await startHost(redis.url, queue, { name: 'next' });
    const err = await t.throwsAsync(call, { instanceOf: WorkerCrashedError });
    t.regex(err.message, /lost its host 1 times, last lost-1 \(cluster\.maxRetries is 0\)/);
    t.is(err.host, 'lost-1');
    t.is(err.index, 0);
    await second.kill('SIGTERM');
  } finally {
    await pool.terminate();
  }
});

test.serial('abort and timeout reject at once and remove the call’s queued chunks; the next call is not delayed by them', async (t) => {
  t.timeout(60_000);
  const queue = queueName();
  const host = await startHost(redis.url, queue, { name: 'solo' });
  const pool = new Pool({ cluster: { connection: redis.url, queue } });
  try {
    const ac = new AbortController();
    // Chunks of 20 s each: gone within 3 s only if the running ones are stopped on the host.
    const call = pool.starmap(spin, Array.from({ length: 30 }, (_, i) => [i, 20_000]), { chunksize: 1, signal: ac.signal });
    await eventually(() => queued(redis.url, queue).then((q) => q.some((k) => k.endsWith(':active'))), 5000);
    ac.abort('enough');
    const err = await t.throwsAsync(call, { instanceOf: AbortError });
    t.is(err.cause, 'enough');
    await eventually(async () => (await queued(redis.url, queue)).length === 0, 3000);
    t.deepEqual(await queued(redis.url, queue), [], 'no waiting chunk left, and the running ones were stopped');

    const slow = pool.starmap(spin, Array.from({ length: 20 }, (_, i) => [i, 20_000]), { chunksize: 1, timeout: 300 });
    await t.throwsAsync(slow, { instanceOf: TimeoutError });
    await eventually(async () => (await queued(redis.url, queue)).length === 0, 3000);
    t.deepEqual(await queued(redis.url, queue), [], 'the timed-out call left nothing queued');
    // Chunks of 20 s were queued and running: the next call would wait behind them.
    const began = Date.now();
    t.deepEqual(await pool.map((x) => x * 2, [1, 2, 3]), [2, 4, 6]);
    t.true(Date.now() - began < 5000, `the next call took ${Date.now() - began} ms`);
  } finally {
    await pool.terminate();
    await host.kill('SIGTERM');
  }
});

test.serial('terminate() rejects unfinished calls with PoolStateError and leaves nothing queued', async (t) => {
  const queue = queueName();
  const host = await startHost(redis.url, queue, { name: 'term' });
  const pool = new Pool({ cluster: { connection: redis.url, queue } });
  try {
    const call = pool.starmap(spin, Array.from({ length: 10 }, (_, i) => [i, 20_000]), { chunksize: 1 });
    await eventually(() => queued(redis.url, queue).then((q) => q.some((k) => k.endsWith(':active'))), 5000);
    await pool.terminate();
    await t.throwsAsync(call, { name: 'PoolStateError' });
    await eventually(async () => (await queued(redis.url, queue)).length === 0, 3000);
    t.deepEqual(await queued(redis.url, queue), []);
  } finally {
    await host.kill('SIGTERM');
  }
});

test.serial('SIGTERM: a host finishes its running chunk, logs its stop and exits 0; the call completes', async (t) => {
  t.timeout(60_000);
  const queue = queueName();
  const host = await startHost(redis.url, queue, { name: 'graceful' });
  const pool = new Pool({ cluster: { connection: redis.url, queue } });
  try {
    const call = pool.apply(spin, [7, 1500]);
    await eventually(() => queued(redis.url, queue).then((q) => q.some((k) => k.endsWith(':active'))), 5000);
    const exited = new Promise((r) => host.child.once('exit', (code) => r(code)));
    host.child.kill('SIGTERM');
    t.is(await call, 7, 'the running chunk finished');
    t.is(await exited, 0);
    t.regex(host.log, /graceful: started on queue/);
    t.regex(host.log, /graceful: stopping \(finishing its running chunks\)\n.*graceful: stopped/);
  } finally {
    await pool.terminate();
    await host.kill();
  }
});

test.serial('Redis down: calls reject with ClusterConnectionError naming the connection, no hang; once it is back, calls work', async (t) => {
  t.timeout(60_000);
  const own = await startRedis();
  const queue = queueName();
  const host = await startHost(own.url, queue, { name: 'weather' });
  const pool = new Pool({ cluster: { connection: own.url, queue, connectTimeout: 1000 } });
  try {
    t.deepEqual(await pool.map((x) => x + 1, [1]), [2]);
    const during = pool.starmap(spin, [[1, 2000]]);
    during.catch(() => {});
    await new Promise((r) => setTimeout(r, 300));
    await own.stop();
    const lost = await t.throwsAsync(during, { instanceOf: ClusterConnectionError });
    t.true(lost.message.includes(own.url.replace(/\/$/, '')), lost.message);
    const after = await t.throwsAsync(pool.map((x) => x, [1]), { instanceOf: ClusterConnectionError });
    t.regex(after.message, new RegExp(`cannot reach Redis at redis://127\\.0\\.0\\.1:${own.port}`));
    t.is(after.connection, `redis://127.0.0.1:${own.port}`);
    const back = await startRedis(own.port);
    own.stop = back.stop;
    // The host reconnects by itself (ioredis retries), and so does the pool.
    const ok = await eventually(() => pool.map((x) => x * 3, [1, 2]).then((r) => r, () => false), 20_000);
    t.deepEqual(ok, [3, 6]);
  } finally {
    await pool.terminate();
    await host.kill();
    await own.stop();
  }
});

test.serial('while Redis cannot be reached: abort rejects at once, and without it the call gives up after connectTimeout', async (t) => {
  const pool = new Pool({ cluster: { connection: 'redis://127.0.0.1:1', queue: queueName(), connectTimeout: 1500 } });
  try {
    const ac = new AbortController();
    const call = pool.map((x) => x, [1], { signal: ac.signal });
    setTimeout(() => ac.abort('user'), 100);
    const aborted = await t.throwsAsync(call, { instanceOf: AbortError });
    t.is(aborted.cause, 'user');
    const err = await t.throwsAsync(pool.apply(() => 1), { instanceOf: ClusterConnectionError });
    t.regex(err.message, /^cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(.*ECONNREFUSED.*no connection within 1500 ms\)$/);
  } finally {
    await pool.terminate();
  }
});

test('a password in the connection is not shown in errors', (t) => {
  const err = new ClusterConnectionError('redis://user:hunter2@db:6379/0', 'down');
  t.false(err.message.includes('hunter2'));
  t.regex(err.message, /redis:\/\/user:\*\*\*@db:6379\/0/);
});
