// Cluster mode when nobody is on the other side: no host serving the queue (the call
// rejects with NoHostError after cluster.hostTimeout, with a warning first), a caller that
// is gone (hosts skip its chunks), and BullMQ's event stream kept short.
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool, task } from '../../dist/index.mjs';
import { ClusterConnectionError, NoHostError } from '../../dist/cluster/index.js';
import { eventually, leftoverKeys, queueName, startHost, testRedis } from './support.mjs';

const { Redis } = await import('ioredis');
const tasks = new URL('./fixtures/tasks.mjs', import.meta.url);
const mark = task(tasks, 'mark');
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

const waiting = (queue) => r.llen(`bull:${queue}:wait`);

test.serial('no host: stats() shows the waiting call, and it rejects with NoHostError after hostTimeout, its chunks removed', async (t) => {
  t.timeout(30_000);
  const queue = queueName();
  const pool = new Pool({ cluster: { connection: redis.url, queue, hostTimeout: 2000 } });
  try {
    const began = Date.now();
    const call = pool.map((x) => x * 2, [1, 2, 3], { chunksize: 1 });
    call.catch(() => {});
    t.true(await eventually(async () => (await waiting(queue)) === 3, 15_000), 'its 3 chunks were queued');
    // hostTimeout counts from when the call's chunks were queued (connecting comes first).
    const queued = Date.now();
    t.like(pool.stats(), { pendingCalls: 1, pendingChunks: 3, hosts: 0, workers: 0, busy: 0 });
    const err = await t.throwsAsync(call, { instanceOf: NoHostError });
    const took = Date.now() - began;
    const sinceQueued = Date.now() - queued;
    t.true(err instanceof ClusterConnectionError, 'a kind of ClusterConnectionError');
    t.is(err.name, 'NoHostError');
    t.is(err.queue, queue);
    t.true(err.waited >= 2000, String(err.waited));
    t.regex(err.message, new RegExp(`^no worker host is serving queue "${queue}" at redis://127\\.0\\.0\\.1:\\d+/?: none was seen for \\d+ ms \\(start one: npx ferropool worker`));
    t.true(took >= 2000 && sinceQueued < 6000, `rejected ${took} ms after the call, ${sinceQueued} ms after its chunks were seen queued`);
    t.like(pool.stats(), { pendingCalls: 0, pendingChunks: 0 });
    await eventually(async () => (await waiting(queue)) === 0, 3000);
    t.is(await waiting(queue), 0, 'its chunks were removed from the queue');
    t.deepEqual(await leftoverKeys(redis.url, queue), []);
  } finally {
    await pool.terminate();
  }
});

test.serial('no host for 5 s: one FERROPOOL_NO_CLUSTER_HOST warning; a host started then runs the call; stats() counts the hosts', async (t) => {
  t.timeout(40_000);
  const queue = queueName();
  const warnings = [];
  const onWarning = (w) => {
    if (w.code === 'FERROPOOL_NO_CLUSTER_HOST') warnings.push(w);
  };
  process.on('warning', onWarning);
  const pool = new Pool({ cluster: { connection: redis.url, queue, hostTimeout: 20_000 } });
  let host;
  try {
    const call = pool.map((x) => x + 1, [1, 2, 3], { chunksize: 1 });
    await eventually(() => warnings.length > 0, 9000);
    t.is(warnings.length, 1);
    t.is(warnings[0].name, 'FerropoolWarning');
    t.regex(warnings[0].message, new RegExp(`no ferropool worker host has been seen on queue "${queue}" for \\d+ s while 1 call\\(s\\) wait for it; they reject with NoHostError after cluster\\.hostTimeout \\(20000 ms\\)`));
    await new Promise((res) => setTimeout(res, 1500));
    t.is(warnings.length, 1, 'once');
    host = await startHost(redis.url, queue, { processes: 2, name: 'late' });
    t.deepEqual(await call, [2, 3, 4]);
    const slow = pool.starmap(spin, [[1, 3000]]);
    await eventually(() => pool.stats().busy === 1, 3000);
    t.like(pool.stats(), { hosts: 1, workers: 2, busy: 1, pendingCalls: 1, pendingChunks: 1 });
    t.deepEqual(await slow, [1]);
    t.true(pool.stats().chunksDone >= 4);
  } finally {
    process.off('warning', onWarning);
    await pool.terminate();
    await host?.kill('SIGTERM');
  }
});

test.serial('hostTimeout must be a positive integer or Infinity', (t) => {
  for (const bad of [0, -1, 1.5, '30s', null]) {
    t.throws(() => new Pool({ cluster: { connection: 'redis://127.0.0.1:1', queue: 'q', hostTimeout: bad } }), { message: /options\.cluster\.hostTimeout must be a positive integer/ });
  }
  t.notThrows(() => new Pool({ cluster: { connection: 'redis://127.0.0.1:1', queue: 'q', hostTimeout: Infinity } }).terminate());
});

test.serial('a killed caller: a host started later skips its chunks (and removes them) without running them', async (t) => {
  t.timeout(60_000);
  const queue = queueName();
  const dir = mkdtempSync(join(tmpdir(), 'ferropool-caller-'));
  const marks = join(dir, 'marks');
  const caller = spawn(process.execPath, [new URL('./fixtures/caller.mjs', import.meta.url).pathname, redis.url, queue, marks], { stdio: 'ignore' });
  let host;
  try {
    await eventually(async () => (await waiting(queue)) === 3, 10_000);
    t.is(await waiting(queue), 3);
    const [aliveKey] = await r.keys(`ferropool:${queue}:caller:*`);
    t.truthy(aliveKey, 'the caller keeps a liveness key while it waits');
    const exited = new Promise((res) => caller.once('exit', res));
    caller.kill('SIGKILL');
    await exited;
    // The key expires (10 s after its last refresh); until then the caller may be alive.
    t.true(await eventually(async () => (await r.exists(aliveKey)) === 0, 12_000), 'the liveness key expired');
    host = await startHost(redis.url, queue, { name: 'later' });
    t.true(await eventually(async () => (await waiting(queue)) === 0 && (await r.llen(`bull:${queue}:active`)) === 0, 5000));
    t.false(existsSync(marks), 'no chunk ran');
    t.regex(host.log, /later: skipped the chunks of caller [0-9a-f-]+, which is gone/);
    t.is(host.log.match(/skipped the chunks/g).length, 1, 'logged once per caller');
    t.deepEqual(await leftoverKeys(redis.url, queue), []);
  } finally {
    caller.kill('SIGKILL');
    await host?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});

test.serial('a caller whose liveness key lapsed while its chunks were skipped submits them again: the call completes, each result once', async (t) => {
  t.timeout(60_000);
  const queue = queueName();
  const dir = mkdtempSync(join(tmpdir(), 'ferropool-lapse-'));
  const marks = join(dir, 'marks');
  const host = await startHost(redis.url, queue, { processes: 2, name: 'skipper' });
  const pool = new Pool({ cluster: { connection: redis.url, queue } });
  try {
    // As if the caller's event loop were blocked past the key's TTL: the key keeps vanishing.
    const input = Array.from({ length: 40 }, (_, i) => [marks, i]);
    const call = pool.starmap(mark, input, { chunksize: 1 });
    let stop = false;
    const deleter = (async () => {
      while (!stop) {
        const keys = await r.keys(`ferropool:${queue}:caller:*`);
        if (keys.length > 0) await r.del(...keys);
        await new Promise((res) => setTimeout(res, 2));
      }
    })();
    await eventually(() => /skipped the chunks/.test(host.log), 5000);
    stop = true;
    await deleter;
    t.regex(host.log, /skipper: skipped the chunks of caller/);
    t.deepEqual(await call, input.map(([, i]) => i));
    const lines = readFileSync(marks, 'utf8').trim().split('\n').map(Number);
    t.true(lines.length >= 1 && lines.length <= 40, 'skipped chunks did not run');
  } finally {
    await pool.terminate();
    await host.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});

test.serial('BullMQ’s event stream stays short: about 100 entries after thousands of chunks', async (t) => {
  t.timeout(60_000);
  const queue = queueName();
  const host = await startHost(redis.url, queue, { processes: 2, name: 'streamer' });
  const pool = new Pool({ cluster: { connection: redis.url, queue } });
  try {
    for (let i = 0; i < 4; i++) await pool.map((x) => x, Array.from({ length: 200 }, (_, j) => j), { chunksize: 1 });
    t.is(await r.hget(`bull:${queue}:meta`, 'opts.maxLenEvents'), '100');
    const len = await r.xlen(`bull:${queue}:events`);
    // 800 chunks make about 4 events each (waiting, active, completed, removed); trimming
    // is approximate (whole stream nodes of 100 entries).
    t.true(len <= 300, `the stream holds ${len} entries`);
  } finally {
    await pool.terminate();
    await host.kill('SIGTERM');
  }
});
