/**
 * A worker host of cluster mode: takes chunks from the queue and runs them on a local
 * ferropool {@link Pool}, so this thread only moves bytes and keeps its job locks renewed.
 * @module
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { serialize } from 'node:v8';
import { TaskSerializationError, WorkerCrashedError } from '../engine/errors';
import { PARTIAL } from '../engine/remote';
import { checkServeOptions } from '../engine/options';
import { kernels, type MapKernel, type ReduceKernel } from '../api/kernels';
import { Pool, cpuCount } from '../api/pool';
import { task } from '../api/task';
import { Lru } from '../util/lru';
import { toWireError } from '../wire/errors';
import type { FnSpec } from '../wire/protocol';
import type { ExprKernel } from '../api/expr';
import { type ChunkPayload, type ExprChunk, type InitSpec, type KernelSpec, decodePayload, encodeResult, jobSigned, redact, type ResultMessage } from './protocol';
import type { HostJob, HostTransport } from './transport';
import { BullHost } from './transport-host';

/**
 * Options of {@link serve}.
 * @example
 * ```ts
 * const options: ServeOptions = { connection: 'redis://127.0.0.1:6379', queue: 'render', processes: 4 };
 * ```
 */
export interface ServeOptions {
  /** The Redis URL (`redis://` or `rediss://`, with ACL user and password if needed). */
  connection: string;
  /** The queue's name: the same as the callers' `cluster.queue`. */
  queue: string;
  /** Worker threads of the local pool, and chunks run at once; default {@link cpuCount}(). */
  processes?: number;
  /** Run only jobs signed with this secret; default `process.env.FERROPOOL_SECRET`. */
  secret?: string;
  /** This host's name in logs and errors; default `hostname:pid`. */
  name?: string;
  /** Milliseconds a job's lock lasts without renewal (default 5000): a host silent this long is lost. */
  lockDuration?: number;
  /** Milliseconds between checks for jobs of lost hosts (default 3000). */
  stalledInterval?: number;
  /** Where log lines go (one per start and stop, one per refused job); default stderr; `false` for none. */
  log?: ((line: string) => void) | false;
}

/**
 * A running host, from {@link serve}.
 * @example
 * ```ts
 * const host = await serve({ connection: 'redis://127.0.0.1:6379', queue: 'render' });
 * host.name;          // e.g. 'build-7:4242'
 * await host.close(); // finishes its running chunks, then disconnects
 * ```
 */
export interface ClusterHost {
  /** The host's name, as errors and logs give it. */
  readonly name: string;
  /** Stops taking chunks, finishes the running ones, stops the local pools and disconnects. */
  close(): Promise<void>;
}

/** What a local pool's error stack has between the worker's stack and the call site. */
const LOCAL_CALL_SITE = '\n    --- the task ran in a pool worker';

/** How long a host remembers a cancelled call (ms). */
const CANCELLED_MS = 60_000;

/** Local pools kept for different initializers at once (the oldest is closed beyond). */
const MAX_POOLS = 8;

/**
 * Starts a worker host: chunks of the callers' `new Pool({ cluster: { connection, queue } })`
 * run here, on a local pool of `processes` workers. What `npx ferropool worker` runs.
 * @example
 * ```ts
 * import { serve } from 'ferropool/cluster';
 * const host = await serve({ connection: 'redis://127.0.0.1:6379', queue: 'render', processes: 4 });
 * process.on('SIGTERM', () => host.close());
 * ```
 */
export async function serve(options: ServeOptions): Promise<ClusterHost> {
  const checked = checkServeOptions(options);
  const { queue, secret, lockDuration, stalledInterval } = checked;
  const processes = checked.processes ?? cpuCount();
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const log = options.log === false ? () => {} : (options.log ?? ((line: string) => process.stderr.write(`${line}\n`)));
  const resultPrefix = `ferropool:${queue}:results:`;
  let lastError = '';
  let busy = 0;
  const transport: HostTransport = new BullHost({
    connection: options.connection,
    queue,
    // One chunk more than the workers: the next one is already here when a worker frees up,
    // instead of a Redis round trip later.
    concurrency: processes + 1,
    lockDuration,
    stalledInterval,
    onError: (err) => {
      const msg = err.message || String(err);
      if (msg !== lastError) log(`ferropool worker ${name}: Redis error: ${msg}`);
      lastError = msg;
    },
    info: () => ({ name, processes, busy }),
  });

  const pools = new Map<string, Pool>();
  const running = new Map<string, Set<AbortController>>();
  /** Calls cancelled lately (by key, with when), oldest first. */
  const cancelled = new Map<string, number>();
  const compiled = new Lru<string, (...args: unknown[]) => unknown>(512);
  /** Callers found gone (their chunks are skipped), logged once each. */
  const goneCallers = new Lru<string, true>(1024);

  const toFn = (spec: FnSpec): ((...args: unknown[]) => unknown) | ReturnType<typeof task> => {
    if (spec.k === 'mod') return task(spec.url, spec.name);
    let fn = compiled.get(spec.src);
    if (!fn) {
      fn = new Function(`return (${spec.src}\n);`)() as (...args: unknown[]) => unknown;
      if (typeof fn !== 'function') throw new TaskSerializationError('the shipped source is not a function');
      compiled.set(spec.src, fn);
    }
    return fn;
  };

  const poolFor = (init: InitSpec): Pool => {
    const key = createHash('sha256').update(serialize(init)).digest('hex');
    let pool = pools.get(key);
    if (pool) return pool;
    pool = new Pool({
      processes,
      initializer: init.fn === undefined ? undefined : toFn(init.fn),
      initargs: init.args,
      maxTasksPerChild: init.maxTasksPerChild,
      resourceLimits: init.resourceLimits,
    });
    pools.set(key, pool);
    if (pools.size > MAX_POOLS) {
      const [oldKey, old] = pools.entries().next().value!;
      pools.delete(oldKey);
      old.close();
      void old.join();
    }
    return pool;
  };

  const reply = (resultKey: string, msg: ResultMessage) => transport.reply(resultKey, encodeResult(msg, secret));

  const handle = async (job: HostJob): Promise<void> => {
    const data = job.data;
    if (typeof data !== 'object' || data === null || typeof data.r !== 'string' || !data.r.startsWith(resultPrefix) || typeof data.p !== 'string') {
      log(`ferropool worker ${name}: dropped job ${job.id}: it is not a ferropool chunk`);
      return;
    }
    const refuse = (why: string) => {
      log(`ferropool worker ${name}: refused job ${job.id}: ${why}`);
      return reply(data.r, { j: job.id, refused: why, host: name });
    };
    if (secret !== undefined && !jobSigned(secret, job.id, data)) return refuse(data.s === undefined ? "it is not signed, and this host runs only jobs signed with its secret" : "its signature does not match this host's secret");
    if (secret === undefined && data.s !== undefined) return refuse('it is signed, but this host has no secret to check it with (start it with --secret or FERROPOOL_SECRET)');
    // A caller that is gone (killed, cut off, or done with the call) waits for nothing: its
    // chunk is skipped, and so removed from the queue.
    if (data.c === 1) {
      const callerId = data.r.slice(resultPrefix.length);
      if (!(await transport.callerAlive(callerId))) {
        if (!goneCallers.get(callerId)) log(`ferropool worker ${name}: skipped the chunks of caller ${callerId}, which is gone`);
        goneCallers.set(callerId, true);
        return;
      }
    }
    let p: ChunkPayload;
    try {
      p = decodePayload(data.p);
    } catch (err) {
      return refuse(`its payload cannot be decoded (${(err as Error).message})`);
    }
    if (job.stalledCounter > p.maxRetries) {
      const lost = job.previousHost ?? 'unknown';
      const e = new WorkerCrashedError(
        `the chunk at input position ${p.start} lost its host ${job.stalledCounter} times, last ${lost} (cluster.maxRetries is ${p.maxRetries})`,
        undefined,
        p.start,
      );
      const wire = toWireError(e, p.start, []);
      delete wire.props.index;
      await reply(data.r, { j: job.id, ok: false, e: wire, host: lost, crashed: { exitCode: undefined } });
      return;
    }
    // Recorded while the chunk runs (not waited for): only needed if this host is lost.
    job.markHost(name).catch(() => {});
    const callKey = job.id.slice(0, job.id.lastIndexOf('.'));
    if (cancelled.has(callKey)) return;
    const ac = new AbortController();
    let set = running.get(callKey);
    if (!set) running.set(callKey, (set = new Set()));
    set.add(ac);
    busy++;
    try {
      const value = await execute(poolFor(p.init), p, ac.signal, toFn);
      if (ac.signal.aborted) return;
      const num = Array.isArray(value) && value.every((x) => typeof x === 'number');
      await reply(data.r, { j: job.id, ok: true, v: num ? Float64Array.from(value as number[]) : value, num, host: name });
    } catch (err) {
      if (ac.signal.aborted) return;
      const e = err as Error & { index?: unknown; [PARTIAL]?: unknown };
      const index = p.start + (typeof e.index === 'number' ? e.index : 0);
      const wire = toWireError(err, index, (e?.[PARTIAL] as never) ?? [], err instanceof TaskSerializationError);
      delete wire.props.index;
      // The worker's stack only: where this host's pool was called is of no use to the caller.
      if (wire.stack) wire.stack = wire.stack.split(LOCAL_CALL_SITE)[0];
      const crashed = err instanceof WorkerCrashedError ? { exitCode: err.exitCode } : undefined;
      await reply(data.r, { j: job.id, ok: false, e: wire, host: name, crashed });
    } finally {
      busy--;
      set.delete(ac);
      if (set.size === 0) running.delete(callKey);
    }
  };

  transport.onCancel((callKey) => {
    for (const ac of running.get(callKey) ?? []) ac.abort();
    // A chunk of the call taken just before the message came is dropped when it starts.
    const now = Date.now();
    cancelled.set(callKey, now);
    for (const [key, at] of cancelled) {
      if (now - at < CANCELLED_MS) break;
      cancelled.delete(key);
    }
  });
  await transport.start(handle);
  log(`ferropool worker ${name}: started on queue "${queue}" at ${redact(options.connection)} with ${processes} processes${secret === undefined ? '' : ', signed jobs only'}`);
  let closing: Promise<void> | undefined;
  return {
    name,
    close() {
      closing ??= (async () => {
        log(`ferropool worker ${name}: stopping (finishing its running chunks)`);
        await transport.close();
        await Promise.all(
          [...pools.values()].map((pool) => {
            pool.close();
            return pool.join();
          }),
        );
        log(`ferropool worker ${name}: stopped`);
      })();
      return closing;
    },
  };
}

function kernelOf(spec: KernelSpec): MapKernel | ReduceKernel {
  const [a = 0, b = 0] = spec.params;
  switch (spec.name) {
    case 'expr':
      return kernels.expr(String(spec.expr), spec.constants) as unknown as MapKernel;
    case 'affine':
      return kernels.affine(a, b);
    case 'pow':
      return kernels.pow(a);
    case 'clamp':
      return kernels.clamp(a, b);
    default: {
      const k = (kernels as unknown as Record<string, MapKernel | ReduceKernel>)[spec.name];
      if (k === undefined || typeof k !== 'object') throw new TypeError(`unknown kernel ${spec.name}`);
      return k;
    }
  }
}

/** Runs one chunk on the local pool. */
function execute(pool: Pool, p: ChunkPayload, signal: AbortSignal, toFn: (spec: FnSpec) => unknown): Promise<unknown> {
  const o = p.args === undefined ? { signal } : { signal, args: p.args };
  if (p.fn.k === 'kernel') {
    const k = kernelOf(p.fn);
    const exprOf = p.fn.name === 'expr' ? p.fn : p.pre?.name === 'expr' ? p.pre : undefined;
    if (exprOf !== undefined) {
      // An expression kernel's chunk is its columns' slices (ExprChunk), named again here.
      const { length, columns } = p.items as unknown as ExprChunk;
      const names = (kernelOf(exprOf) as unknown as ExprKernel).inputs;
      const items = names.length === 0 ? new Float64Array(length) : names.length === 1 ? columns[0] : Object.fromEntries(names.map((n, i) => [n, columns[i]]));
      p = { ...p, items: items as Float64Array };
    }
    if (p.mode === 'kreduce') {
      return pool.reduce(k as ReduceKernel, p.items as Float64Array, { ...o, ...(p.pre ? { map: kernelOf(p.pre) as MapKernel } : {}) });
    }
    return pool.map(k as MapKernel, p.items as Float64Array, o);
  }
  const fn = toFn(p.fn) as (...args: unknown[]) => unknown;
  switch (p.mode) {
    case 'star':
      return pool.starmap(fn, p.items as unknown[][], o);
    case 'reduce':
      return pool.reduce(fn, p.items as unknown[], o);
    default:
      return pool.map(fn, p.items as unknown[], o);
  }
}
