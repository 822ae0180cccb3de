// What the cluster tests share: a real redis-server (the one .ci/run started, named by
// FERROPOOL_TEST_REDIS, or one of this test file's own) and worker hosts started as separate
// OS processes with the `ferropool worker` command, exactly as users start them.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const cli = join(root, 'dist/cluster/cli.js');
const { Redis } = await import('ioredis');

/** A free TCP port on the loopback interface. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts a private redis-server on `port` (a free one by default); `stop()` kills it by pid. */
export async function startRedis(port) {
  port ??= await freePort();
  const which = spawnSync('redis-server', ['--version']);
  if (which.status !== 0) throw new Error('the cluster tests need redis-server on PATH (apt-get install -y redis-server), or FERROPOOL_TEST_REDIS=redis://host:port');
  const dir = mkdtempSync(join(tmpdir(), 'ferropool-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  for (let i = 0; ; i++) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  probe.disconnect();
  return {
    url,
    port,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The shared Redis of the CI run, or a private one. */
export async function testRedis() {
  const url = process.env.FERROPOOL_TEST_REDIS;
  if (url) return { url, stop: async () => {} };
  return startRedis();
}

/** A fresh queue name, so tests never see each other's jobs. */
export const queueName = () => `t${randomUUID().slice(0, 8)}`;

/** Starts `ferropool worker` as a child process; resolves once it logged that it started. */
/** (Short lock times by default, so that a lost host is found in 2-3 s; `defaults` keeps the command's own.) */
export function startHost(url, queue, { processes = 1, name = `h-${randomUUID().slice(0, 6)}`, secret, defaults = false } = {}) {
  const args = [cli, 'worker', '--connection', url, '--queue', queue, '--processes', String(processes), '--name', name];
  if (!defaults) args.push('--lock-duration', '2000', '--stalled-interval', '1000');
  if (secret !== undefined) args.push('--secret', secret);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FERROPOOL_SECRET: '' } });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  const started = new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      log += d;
      if (log.includes(`${name}: started`)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`host ${name} exited (${code}) before it started:\n${log}`)));
  });
  const host = {
    name,
    child,
    get log() {
      return log;
    },
    kill(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      return exited;
    },
  };
  return started.then(() => host);
}

/** Every key of Redis except BullMQ's per-queue bookkeeping (meta, id, events, stalled-check). */
export async function leftoverKeys(url, queue) {
  const r = new Redis(url);
  try {
    const keys = [...(await r.keys(`bull:${queue}:*`)), ...(await r.keys(`ferropool:${queue}:*`))];
    // (and the hosts' heartbeats, which live as long as their hosts)
    return keys.filter((k) => !/^bull:[^:]+:(meta|id|events|stalled-check|marker)$|^ferropool:[^:]+:(hosts|host:.*)$/.test(k)).sort();
  } finally {
    r.disconnect();
  }
}

/** Polls `check` (async, truthy when done) for up to `ms`. */
export async function eventually(check, ms = 5000) {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A TCP proxy in front of Redis on a free loopback port, to cut a client off:
 * `freeze()` stops forwarding in both directions without closing anything (a network
 * partition: bytes wait, as TCP retransmission would), `thaw()` delivers them and goes on;
 * `cut()` resets every connection and refuses new ones until `restore()`.
 */
export async function startProxy(targetPort) {
  const { createServer: server, connect } = await import('node:net');
  const port = await freePort();
  const pairs = new Set();
  let frozen = false;
  let refused = false;
  const srv = server((client) => {
    if (refused) return client.destroy();
    const upstream = connect(targetPort, '127.0.0.1');
    const pair = { client, upstream, held: [] };
    pairs.add(pair);
    const forward = (from, to) =>
      from.on('data', (d) => {
        if (frozen) pair.held.push([to, d]);
        else to.write(d);
      });
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
  });
  await new Promise((res) => srv.listen(port, '127.0.0.1', res));
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    freeze() {
      frozen = true;
    },
    thaw() {
      frozen = false;
      for (const p of pairs) {
        for (const [to, d] of p.held) if (!to.destroyed) to.write(d);
        p.held = [];
      }
    },
    cut() {
      refused = true;
      for (const p of pairs) {
        p.client.resetAndDestroy?.() ?? p.client.destroy();
        p.upstream.destroy();
      }
    },
    restore() {
      refused = false;
    },
    close() {
      this.cut();
      return new Promise((res) => srv.close(res));
    },
  };
}
