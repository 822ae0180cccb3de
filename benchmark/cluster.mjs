// `npm run bench -- --cluster` (C1 of ../shared/BENCHMARKS.md): cluster mode on this machine,
// with a real redis-server on loopback and each worker host its own OS process started with
// `ferropool worker`, as users start them.
//   1. the cost of a chunk: one `apply` round trip, and a map of 64 tiny chunks, against a
//      local pool of one worker;
//   2. scaling: CPU-bound chunks of 50 ms on 1 host and on 2 hosts (`--processes 1` each);
//      the target is ≥ 1.8× on a 2-core machine;
//   3. many hosts: a map of 2,000 single-item chunks on 2 hosts and on 8 (`--processes 1`
//      each, all on this machine): what a queue of small chunks costs as hosts are added.
// Contenders run interleaved, round by round; medians are reported. Uses FERROPOOL_TEST_REDIS
// when set, else starts redis-server on a free port (and stops it by its pid).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from '../dist/index.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function redisServer() {
  if (process.env.FERROPOOL_TEST_REDIS) return { url: process.env.FERROPOOL_TEST_REDIS, stop: () => {} };
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ferropool-bench-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  await new Promise((resolve, reject) => {
    child.once('error', () => reject(new Error('the cluster benchmark needs redis-server (apt-get install -y redis-server) or FERROPOOL_TEST_REDIS')));
    setTimeout(resolve, 300);
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function startHost(url, queue, name) {
  const child = spawn(process.execPath, [here('../dist/cluster/cli.js'), 'worker', '--connection', url, '--queue', queue, '--processes', '1', '--name', name], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stderr.on('data', (d) => {
      out += d;
      if (out.includes(`${name}: started`)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`host ${name} exited (${code}):\n${out}`)));
  });
}

export async function runCluster(args) {
  const quick = args.includes('--quick');
  const json = args.includes('--json');
  const rounds = quick ? 3 : 7;
  const redis = await redisServer();
  const one = `bench-${randomUUID().slice(0, 8)}`;
  const two = `bench-${randomUUID().slice(0, 8)}`;
  const eight = `bench-${randomUUID().slice(0, 8)}`;
  const hosts = await Promise.all([startHost(redis.url, one, 'one-a'), startHost(redis.url, two, 'two-a'), startHost(redis.url, two, 'two-b')]);
  for (let h = 0; h < 8; h++) hosts.push(await startHost(redis.url, eight, `eight-${h}`));
  const eightHosts = new Pool({ cluster: { connection: redis.url, queue: eight } });
  const oneHost = new Pool({ cluster: { connection: redis.url, queue: one } });
  const twoHosts = new Pool({ cluster: { connection: redis.url, queue: two } });
  const local = new Pool(1);
  const results = { machine: { cpu: os.cpus()[0]?.model, cores: os.availableParallelism(), node: process.version }, workloads: {} };
  try {
    // 1. The cost of a chunk.
    const inc = (x) => x + 1;
    const tiny = Array.from({ length: 6400 }, (_, i) => i);
    const applies = { local: [], cluster: [] };
    const maps = { local: [], cluster: [] };
    for (let w = 0; w < 20; w++) {
      await local.apply(inc, [w]);
      await oneHost.apply(inc, [w]);
    }
    for (let r = 0; r < rounds * 30; r++) {
      for (const [name, p] of [['local', local], ['cluster', oneHost]]) {
        const t = performance.now();
        if ((await p.apply(inc, [r])) !== r + 1) throw new Error('C1 apply result');
        applies[name].push(performance.now() - t);
      }
    }
    for (let r = 0; r < rounds; r++) {
      for (const [name, p] of [['local', local], ['cluster', oneHost]]) {
        const t = performance.now();
        const out = await p.map(inc, tiny, { chunksize: 100 });
        maps[name].push(performance.now() - t);
        if (out.length !== tiny.length || out[6399] !== 6400) throw new Error('C1 map result');
      }
    }
    // For scale: the engine alone, a bare BullMQ job whose worker pushes its answer to a list
    // the caller BLPOPs (what a cluster apply does, without ferropool around it).
    const { Queue, Worker } = await import('bullmq');
    const { Redis } = await import('ioredis');
    const bareName = `bench-${randomUUID().slice(0, 8)}`;
    const conns = Array.from({ length: 4 }, () => new Redis(redis.url, { maxRetriesPerRequest: null }));
    const bareQueue = new Queue(bareName, { connection: conns[0] });
    const bareWorker = new Worker(bareName, async (job) => void (await conns[1].rpush(`${bareName}:r`, String(job.data.x + 1))), { connection: conns[2] });
    await bareWorker.waitUntilReady();
    const bare = [];
    for (let r = 0; r < 20 + rounds * 30; r++) {
      const t = performance.now();
      await bareQueue.add('j', { x: r }, { removeOnComplete: true, removeOnFail: true });
      const [, v] = await conns[3].blpop(`${bareName}:r`, 5);
      if (Number(v) !== r + 1) throw new Error('C1 bare BullMQ result');
      if (r >= 20) bare.push(performance.now() - t);
    }
    await bareWorker.close();
    await bareQueue.obliterate({ force: true });
    await bareQueue.close();
    for (const c of conns) c.disconnect();
    const sorted = [...applies.cluster].sort((a, b) => a - b);
    results.workloads.C1_overhead = {
      title: 'cost of a chunk: apply round trip (p50, p99), and a map of 64 chunks of 100 tiny items (per chunk), 1 host vs a local pool of 1 worker',
      applyP50: { local: median(applies.local), cluster: median(applies.cluster), 'bare BullMQ': median(bare) },
      applyP99Cluster: sorted[Math.floor(sorted.length * 0.99)],
      perChunkMap: { local: median(maps.local) / 64, cluster: median(maps.cluster) / 64 },
    };
    // 2. Scaling: 16 chunks of 50 ms of CPU each.
    const burn = (ms) => {
      const until = performance.now() + ms;
      let x = 0;
      while (performance.now() < until) x++;
      return x > 0 ? ms : -1;
    };
    const work = Array.from({ length: 16 }, () => 50);
    await oneHost.map(burn, [5, 5], { chunksize: 1 });
    await twoHosts.map(burn, [5, 5, 5, 5], { chunksize: 1 });
    const scale = { '1 host': [], '2 hosts': [] };
    for (let r = 0; r < rounds; r++) {
      for (const [name, p] of r % 2 ? [['2 hosts', twoHosts], ['1 host', oneHost]] : [['1 host', oneHost], ['2 hosts', twoHosts]]) {
        await sleep(50);
        const t = performance.now();
        const out = await p.map(burn, work, { chunksize: 1 });
        scale[name].push(performance.now() - t);
        if (out.some((v) => v !== 50)) throw new Error('C1 scaling result');
      }
    }
    const m1 = median(scale['1 host']);
    const m2 = median(scale['2 hosts']);
    results.workloads.C1_scaling = { title: '16 chunks of 50 ms CPU each: 1 host vs 2 hosts (--processes 1 each)', medians: { '1 host': m1, '2 hosts': m2 }, speedup: m1 / m2, target: 1.8 };
    // 3. Many hosts: 2,000 single-item chunks, each result checked once.
    const items = Array.from({ length: 2000 }, (_, i) => i);
    await eightHosts.map(inc, items.slice(0, 64), { chunksize: 1 });
    const many = { '2 hosts': [], '8 hosts': [] };
    for (let r = 0; r < Math.max(3, rounds >> 1); r++) {
      for (const [name, p] of r % 2 ? [['8 hosts', eightHosts], ['2 hosts', twoHosts]] : [['2 hosts', twoHosts], ['8 hosts', eightHosts]]) {
        const t = performance.now();
        const out = await p.map(inc, items, { chunksize: 1 });
        many[name].push(performance.now() - t);
        if (out.length !== items.length || out.some((v, i) => v !== i + 1)) throw new Error('C1 many-hosts result');
      }
    }
    results.workloads.C1_hosts = { title: 'a map of 2,000 single-item chunks: 2 hosts vs 8 hosts (--processes 1 each, one machine)', medians: { '2 hosts': median(many['2 hosts']), '8 hosts': median(many['8 hosts']) } };
  } finally {
    await Promise.all([oneHost.terminate(), twoHosts.terminate(), eightHosts.terminate(), local.terminate()]);
    for (const h of hosts) h.kill('SIGTERM');
    await sleep(300);
    redis.stop();
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    return;
  }
  const o = results.workloads.C1_overhead;
  const s = results.workloads.C1_scaling;
  const f = (x) => x.toFixed(2);
  console.log(`C1 cluster mode (${results.machine.cores} cores, ${results.machine.cpu}, Node ${results.machine.node}; Redis on loopback)`);
  console.log(`  apply round trip, p50:         local ${f(o.applyP50.local)} ms   cluster ${f(o.applyP50.cluster)} ms (p99 ${f(o.applyP99Cluster)} ms)   bare BullMQ job ${f(o.applyP50['bare BullMQ'])} ms`);
  console.log(`  map, per chunk of 100 items:   local ${f(o.perChunkMap.local)} ms   cluster ${f(o.perChunkMap.cluster)} ms`);
  console.log(`  16 × 50 ms chunks:             1 host ${f(s.medians['1 host'])} ms   2 hosts ${f(s.medians['2 hosts'])} ms   speedup ${f(s.speedup)}× (target ≥ 1.8×)`);
  const h = results.workloads.C1_hosts;
  console.log(`  2,000 single-item chunks:      2 hosts ${f(h.medians['2 hosts'])} ms   8 hosts ${f(h.medians['8 hosts'])} ms`);
}
