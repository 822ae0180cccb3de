/**
 * The caller's side of cluster mode: what {@link Pool}'s work methods do when the pool was
 * made with `cluster`. Chunks become jobs of a BullMQ queue; results come back on this
 * caller's own Redis list and are put in order here. Loaded by pool.ts only when `cluster`
 * is given.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { ResourceLimits } from 'node:worker_threads';
import { RemoteError, WorkerCrashedError } from '../engine/errors';
import { likeInput, toItems } from '../engine/chunks';
import { abortError, timeoutError } from '../engine/lifecycle';
import { PARTIAL, rebuildError } from '../engine/remote';
import { describe } from '../util/describe';
import type { MapKernel, ReduceKernel } from '../api/kernels';
import { shipFunction } from '../api/task';
import { numericInput } from '../engine/numbers';
import { isExprKernel, type ExprKernel } from '../api/expr';
import { columns as exprColumns, type Columns, output as exprOutput } from '../api/expr-run';
import { type CallOptions, checkClusterOptions, checkOptions, type FloatArray, isFloatArray, refuseArgs } from '../engine/options';
import { encodeCallArgs } from '../wire/payloads';
import type { FnSpec, Items } from '../wire/protocol';
import { type ChunkPayload, type InitSpec, type JobData, type KernelSpec, type Mode, decodeResult, encodePayload, refuseShared, type ResultMessage, signJob } from './protocol';
import { type CallerTransport, type HostInfo, NoHostError } from './transport';
import { BullCaller } from './transport-caller';
import type { PoolStats } from '../engine/worker-group';

/** After this long with calls waiting and no host seen, a warning is emitted (once). */
const WARN_AFTER_MS = 5000;

/** The local settings of the pool that apply on every host. */
export interface LocalSettings {
  initializer: FnSpec | undefined;
  initargs: unknown[];
  maxTasksPerChild: number | undefined;
  resourceLimits: ResourceLimits | undefined;
}

/** What a call sends with each chunk besides the items. */
interface CallSpec {
  fn: FnSpec | KernelSpec;
  mode: Mode;
  pre?: KernelSpec;
  /** The call's `opts.args` (plain data: shared memory cannot cross machines). */
  args?: unknown[];
}

/** A result (or error) of one chunk, as the engine yields it. */
type Event = { k: number; start: number; length: number; part: unknown } | { k: number; start: number; length: number; error: Error };

/** One call in flight. */
class Call {
  readonly pending = new Map<string, number>();
  /** The pending chunks' jobs, to submit again if hosts skipped them (see #tick). */
  readonly jobs = new Map<string, JobData>();
  /** When its first chunk was queued (0 before). */
  queuedAt = 0;
  readonly inbox: Array<[number, ResultMessage]> = [];
  failure: Error | undefined;
  #wake: (() => void) | undefined;
  finished!: () => void;
  readonly drained = new Promise<void>((r) => (this.finished = r));
  constructor(readonly key: string) {}
  notify(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }
  fail(err: Error): void {
    this.failure ??= err;
    this.notify();
  }
  wait(): Promise<void> {
    return new Promise((r) => (this.#wake = r));
  }
}

function kernelSpec(k: MapKernel | ReduceKernel): KernelSpec {
  if (isExprKernel(k)) return { k: 'kernel', name: 'expr', params: [], expr: k.expression, constants: { ...k.constants } };
  return { k: 'kernel', name: k.name, params: k.kind === 'map' ? [...k.params] : [] };
}

/** A host's error rebuilt as a local pool would reject with it, plus its `host`. */
function hostError(msg: ResultMessage): Error {
  if ('refused' in msg) {
    return Object.assign(new RemoteError(`host ${msg.host} refused the chunk without running it: ${msg.refused}`), { host: msg.host });
  }
  if (msg.ok) throw new Error('not an error');
  let err: Error;
  if (msg.crashed) {
    err = new WorkerCrashedError(msg.e.message, msg.crashed.exitCode, msg.e.index);
    for (const [k, v] of Object.entries(msg.e.props)) if (k !== 'exitCode') (err as unknown as Record<string, unknown>)[k] = v;
    err.stack = `${msg.e.stack ?? `WorkerCrashedError: ${msg.e.message}`}\n    --- on cluster host ${msg.host} ---`;
  } else {
    err = rebuildError(msg.e);
    err.stack = (err.stack ?? '').replace(/--- the task ran in a pool worker(; the call was made:)? ---/, `--- the task ran on cluster host ${msg.host}$1 ---`);
  }
  return Object.assign(err, { host: msg.host });
}

let lastCall = 0;

/**
 * A cluster pool's engine. Every method validates its arguments as a local pool does, then
 * refuses shared-memory arguments, which cannot cross machines.
 */
export class ClusterClient {
  readonly #transport: CallerTransport;
  readonly #id = randomUUID();
  readonly #secret: string | undefined;
  readonly #maxRetries: number;
  readonly #maxInFlight: number;
  readonly #init: InitSpec;
  readonly #calls = new Map<string, Call>();
  readonly #connection: string;
  readonly #queue: string;
  readonly #hostTimeout: number;
  /** The hosts seen alive at the last check. */
  #hosts: HostInfo[] = [];
  /** The last time a host was seen alive or a result came (ms). */
  #seenAt = 0;
  #warned = false;
  #chunksDone = 0;
  #beat: NodeJS.Timeout | undefined;
  #ticking = false;
  /** Ticks left that submit the pending chunks again (after this caller's liveness lapsed). */
  #resubmit = 0;

  /** `options` is the pool's `cluster` option, checked here. */
  constructor(options: unknown, local: LocalSettings) {
    const o = checkClusterOptions(options);
    this.#secret = o.secret;
    this.#maxRetries = o.maxRetries;
    this.#maxInFlight = o.maxInFlight;
    this.#hostTimeout = o.hostTimeout;
    this.#connection = o.connection;
    this.#queue = o.queue;
    refuseShared(local.initargs, 'initargs', 'Pool');
    this.#init = { fn: local.initializer, args: local.initargs, maxTasksPerChild: local.maxTasksPerChild, resourceLimits: local.resourceLimits };
    this.#transport = new BullCaller({ connection: o.connection, queue: o.queue, callerId: this.#id, connectTimeout: o.connectTimeout });
  }

  #route = (bytes: Buffer): void => {
    const msg = decodeResult(bytes, this.#secret);
    if (!msg) return;
    const call = this.#calls.get(msg.j.slice(0, msg.j.lastIndexOf('.')));
    const k = call?.pending.get(msg.j);
    this.#seenAt = Date.now(); // a host answered
    if (call === undefined || k === undefined) return; // a duplicate (a chunk run twice) or a settled call's
    call.pending.delete(msg.j);
    call.jobs.delete(msg.j);
    this.#chunksDone++;
    call.inbox.push([k, msg]);
    call.notify();
  };

  #lost = (err: Error): void => {
    for (const call of this.#calls.values()) call.fail(err);
  };

  /**
   * Runs the chunks of `source` and yields each chunk's result as it arrives (any order),
   * keeping at most maxInFlight chunks queued; cancels what is left when the consumer stops.
   */
  async *#run(spec: CallSpec, source: Iterator<Items> | AsyncIterator<Items>, o: CallOptions): AsyncGenerator<Event, void, undefined> {
    if (o.signal?.aborted) throw abortError(o.signal);
    // The call counts from now (join() waits for it, terminate() and abort reach it), also
    // while it waits for Redis; listening keeps the process alive meanwhile.
    const call = new Call(`${this.#id}.${(lastCall = (lastCall + 1) % 0x7fff_ffff)}`);
    this.#calls.set(call.key, call);
    this.#transport.listen(this.#route, this.#lost);
    if (this.#beat === undefined) {
      this.#beat = setInterval(() => void this.#tick(), Math.min(1000, Math.max(100, Math.floor(this.#hostTimeout / 5))));
      this.#beat.unref();
    }
    const onAbort = () => call.fail(abortError(o.signal!));
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const timer =
      o.timeout !== undefined && o.timeout !== Infinity
        ? setTimeout(() => call.fail(timeoutError(o.timeout!)), o.timeout)
        : undefined;
    const starts: Array<[number, number]> = [];
    let k = 0;
    let position = 0;
    let exhausted = false;
    try {
      await Promise.race([
        this.#transport.ready(),
        call.wait().then(() => {
          throw call.failure;
        }),
      ]);
      for (;;) {
        if (call.failure) throw call.failure;
        const batch: Array<{ id: string; data: JobData }> = [];
        while (!exhausted && call.pending.size + batch.length < this.#maxInFlight) {
          const step = await source.next();
          if (step.done) {
            exhausted = true;
            break;
          }
          const items = step.value;
          const payload: ChunkPayload = { v: 1, fn: spec.fn, mode: spec.mode, items, start: position, init: this.#init, maxRetries: this.#maxRetries };
          if (spec.pre) payload.pre = spec.pre;
          if (spec.args) payload.args = spec.args;
          const id = `${call.key}.${k}`;
          const data: JobData = { p: encodePayload(payload), r: this.#transport.resultKey, c: 1 };
          if (this.#secret !== undefined) data.s = signJob(this.#secret, id, data);
          batch.push({ id, data });
          call.jobs.set(id, data);
          call.pending.set(id, k);
          starts[k] = [position, items.length];
          position += items.length;
          k++;
        }
        if (batch.length > 0) {
          call.queuedAt ||= Date.now();
          await this.#transport.submit(batch);
        }
        if (call.failure) throw call.failure;
        const next = call.inbox.shift();
        if (next === undefined) {
          if (exhausted && call.pending.size === 0) return;
          await call.wait();
          continue;
        }
        const [ck, msg] = next;
        const [start, length] = starts[ck]!;
        if ('refused' in msg || !msg.ok) yield { k: ck, start, length, error: hostError(msg) };
        else yield { k: ck, start, length, part: msg.v };
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      this.#calls.delete(call.key);
      if (this.#calls.size === 0) {
        this.#transport.idle();
        clearInterval(this.#beat);
        this.#beat = undefined;
      }
      const left = [...call.pending.keys()];
      if (left.length > 0) await this.#transport.cancel(call.key, left);
      call.finished();
      if (!exhausted) await source.return?.();
    }
  }

  /**
   * Once a second while calls are in flight: refreshes this caller's liveness key (and
   * submits the pending chunks again if it had lapsed, since hosts skip the chunks of
   * callers without one), reads the hosts' heartbeats, warns once when calls have waited
   * {@link WARN_AFTER_MS} with no host, and rejects those that waited `hostTimeout`.
   */
  async #tick(): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      if (await this.#transport.heartbeat()) this.#resubmit = 2; // twice: a host may be skipping one right now
      if (this.#resubmit > 0) {
        this.#resubmit--;
        const jobs = [...this.#calls.values()].flatMap((c) => [...c.jobs].map(([id, data]) => ({ id, data })));
        if (jobs.length > 0) await this.#transport.submit(jobs);
      }
      this.#hosts = await this.#transport.hosts();
      const now = Date.now();
      if (this.#hosts.length > 0) {
        this.#seenAt = now;
        this.#warned = false;
        return;
      }
      let longest = 0;
      let waiting = 0;
      for (const call of this.#calls.values()) {
        if (call.pending.size === 0 || call.queuedAt === 0) continue;
        const waited = now - Math.max(this.#seenAt, call.queuedAt);
        waiting++;
        longest = Math.max(longest, waited);
        if (waited >= this.#hostTimeout) call.fail(new NoHostError(this.#connection, this.#queue, waited));
      }
      if (!this.#warned && longest >= WARN_AFTER_MS && longest < this.#hostTimeout) {
        this.#warned = true;
        const until = this.#hostTimeout === Infinity ? 'they wait until one comes (cluster.hostTimeout is Infinity)' : `they reject with NoHostError after cluster.hostTimeout (${this.#hostTimeout} ms)`;
        process.emitWarning(
          `no ferropool worker host has been seen on queue "${this.#queue}" for ${Math.round(longest / 1000)} s while ${waiting} call(s) wait for it; ${until}. Start one: npx ferropool worker --connection URL --queue ${this.#queue}`,
          { type: 'FerropoolWarning', code: 'FERROPOOL_NO_CLUSTER_HOST' },
        );
      }
    } catch {
      // Redis is away: the calls learn it from the result reader.
    } finally {
      this.#ticking = false;
    }
  }

  /** {@link Pool.stats} of a cluster pool: this pool's calls and chunks, and the hosts seen at the last check. */
  stats(): PoolStats & { hosts: number } {
    let chunks = 0;
    for (const call of this.#calls.values()) chunks += call.pending.size;
    return {
      workers: this.#hosts.reduce((n, h) => n + h.processes, 0),
      busy: this.#hosts.reduce((n, h) => n + h.busy, 0),
      pendingCalls: this.#calls.size,
      pendingChunks: chunks,
      chunksDone: this.#chunksDone,
      heapUsed: [],
      heapTotal: [],
      hosts: this.#hosts.length,
    };
  }

  /** All chunks' results, by chunk; the first error rejects (and cancels the rest). */
  async #all(spec: CallSpec, chunks: Items[], o: CallOptions, total: number): Promise<unknown[]> {
    const parts = new Array<unknown>(chunks.length);
    let done = 0;
    for await (const e of this.#run(spec, chunks[Symbol.iterator](), o)) {
      if ('error' in e) throw e.error;
      parts[e.k] = e.part;
      done += e.length;
      if (done < total) o.onProgress?.(done, total);
    }
    o.onProgress?.(total, total);
    return parts;
  }

  /** `pool.map` / `starmap` / `apply` with a JS function or task. */
  async mapJs(fn: unknown, input: unknown, opts: unknown, star: boolean, method: string): Promise<unknown> {
    const f = shipFunction(fn, `${method}: fn`);
    const o = checkOptions<CallOptions & { out?: FloatArray }>(opts, method, method === 'map' ? ['out'] : []);
    if (method === 'apply') refuseArgs(o, method, 'apply takes its arguments as args');
    const args = clusterArgs(o, method);
    if (o.out !== undefined) {
      if (!isFloatArray(input) || o.out.constructor !== input.constructor || o.out.length !== input.length) {
        throw new TypeError(`map: opts.out must be a ${isFloatArray(input) ? input.constructor.name : 'Float64Array or Float32Array'} of the input's length (and the input a typed array), got ${describe(o.out)}`);
      }
    }
    let items = toItems(input, method, star);
    if (items instanceof Promise) items = await items;
    refuseShared(items, star ? 'argTuples' : 'input', method);
    const n = items.length;
    const out = assemble(await this.#all({ fn: f, mode: star ? 'star' : 'map', ...(args ? { args } : {}) }, cut(items, o.chunksize ?? defaultChunksize(n)), o, n), input, n);
    if (o.out === undefined) return star ? out : likeInput(input, out);
    for (let i = 0; i < n; i++) {
      if (typeof (out as ArrayLike<unknown>)[i] !== 'number') throw new TypeError(`map: opts.out holds numbers, but the result for input[${i}] is ${describe((out as ArrayLike<unknown>)[i])}`);
    }
    o.out.set(out as ArrayLike<number>);
    return o.out;
  }

  /** `pool.map` with a kernel. */
  async mapKernel(kernel: MapKernel, input: unknown, opts: unknown): Promise<unknown> {
    const o = checkOptions<CallOptions & { out?: FloatArray }>(opts, 'map', ['out']);
    refuseArgs(o, 'map', 'a kernel takes no extra arguments (use kernels.expr constants, or a JS function)');
    if (isExprKernel(kernel)) {
      const cols = await exprColumns(kernel, input, 'map');
      const out = exprOutput(cols, o.out, 'map');
      const parts = await this.#all({ fn: kernelSpec(kernel), mode: 'kmap' }, exprChunks(cols, o.chunksize), o, cols.length);
      let at = 0;
      for (const p of parts as FloatArray[]) {
        out.set(p, at);
        at += p.length;
      }
      return o.out !== undefined || cols.anyTyped ? out : Array.from(out);
    }
    let data = numericInput(input, 'map');
    if (data instanceof Promise) data = await data;
    if (o.out !== undefined && (!isFloatArray(o.out) || o.out.constructor !== data.constructor || o.out.length !== data.length)) {
      throw new TypeError(`map: opts.out must be a ${data.constructor.name} like the input, of length ${data.length}, got ${describe(o.out)}`);
    }
    const chunks = cut(data, o.chunksize ?? kernelChunksize(data.length));
    const parts = await this.#all({ fn: kernelSpec(kernel), mode: 'kmap' }, chunks, o, data.length);
    const out = o.out ?? (data instanceof Float32Array ? new Float32Array(data.length) : new Float64Array(data.length));
    let at = 0;
    for (const p of parts as FloatArray[]) {
      out.set(p, at);
      at += p.length;
    }
    return o.out !== undefined || isFloatArray(input) ? out : Array.from(out);
  }

  /** `pool.reduce` with a reduction kernel. */
  async reduceKernel(kernel: ReduceKernel, pre: MapKernel | undefined, initial: number | undefined, input: unknown, o: CallOptions): Promise<number> {
    let data: { length: number };
    let chunks: Items[];
    if (pre !== undefined && isExprKernel(pre)) {
      const cols = await exprColumns(pre as ExprKernel, input, 'reduce');
      data = cols;
      chunks = exprChunks(cols, o.chunksize);
    } else {
      let numbers = numericInput(input, 'reduce');
      if (numbers instanceof Promise) numbers = await numbers;
      data = numbers;
      chunks = cut(numbers, o.chunksize ?? kernelChunksize(numbers.length));
    }
    const spec: CallSpec = { fn: kernelSpec(kernel), mode: 'kreduce' };
    if (pre) spec.pre = kernelSpec(pre);
    const parts = (await this.#all(spec, chunks, o, data.length)) as number[];
    switch (kernel.name) {
      case 'sum':
        return parts.reduce((a, b) => a + b, initial ?? 0);
      case 'min':
        return parts.reduce((a, b) => Math.min(a, b), initial ?? Infinity);
      case 'max':
        return parts.reduce((a, b) => Math.max(a, b), initial ?? -Infinity);
      default: {
        if (data.length === 0) return Number.NaN;
        let total = 0;
        for (let i = 0; i < parts.length; i++) total += parts[i]! * chunks[i]!.length;
        return total / data.length;
      }
    }
  }

  /** `pool.reduce` with a JS function or task: chunks fold on the hosts, then one more job folds their results. */
  async reduceJs(fn: unknown, input: unknown, opts: unknown): Promise<unknown> {
    const f = shipFunction(fn, 'reduce: fn');
    const o = checkOptions<CallOptions & { initial?: unknown }>(opts, 'reduce', ['initial']);
    refuseArgs(o, 'reduce', 'reduce calls fn(acc, x) with nothing else');
    let items = toItems(input, 'reduce', false);
    if (items instanceof Promise) items = await items;
    refuseShared(items, 'input', 'reduce');
    refuseShared(o.initial, 'opts.initial', 'reduce');
    const hasInitial = o.initial !== undefined;
    if (items.length === 0) {
      if (hasInitial) return o.initial;
      throw new TypeError('reduce: the input is empty and no opts.initial was given');
    }
    const spec: CallSpec = { fn: f, mode: 'reduce' };
    const partials = await this.#all(spec, cut(items, o.chunksize ?? defaultChunksize(items.length)), o, items.length);
    const all = hasInitial ? [o.initial, ...partials] : partials;
    if (all.length === 1) return all[0];
    const [combined] = await this.#all(spec, [all], { signal: o.signal }, all.length);
    return combined;
  }

  /** `pool.imap` (`ordered`) and `pool.imapUnordered`. */
  async *imap(fn: unknown, input: unknown, opts: CallOptions, ordered: boolean, method: string): AsyncGenerator<unknown, void, undefined> {
    const f = shipFunction(fn, `${method}: fn`);
    const length = Array.isArray(input) || ArrayBuffer.isView(input) ? (input as ArrayLike<unknown>).length : undefined;
    const chunks = readChunks(input as Iterable<unknown> | AsyncIterable<unknown>, opts.chunksize, length, method);
    const buffered = new Map<number, unknown>();
    let failedAt: number | undefined;
    let failure: Error | undefined;
    let next = 0;
    let done = 0;
    const args = clusterArgs(opts, method);
    for await (const e of this.#run({ fn: f, mode: 'map', ...(args ? { args } : {}) }, chunks, opts)) {
      if ('error' in e) {
        if (!ordered) throw e.error;
        if (failedAt === undefined || e.k < failedAt) [failedAt, failure] = [e.k, e.error];
      } else {
        if (!ordered) {
          const part = e.part as ArrayLike<unknown>;
          for (let i = 0; i < part.length; i++) yield part[i];
          opts.onProgress?.((done += e.length), length ?? done);
          continue;
        }
        buffered.set(e.k, e.part);
      }
      while (buffered.has(next)) {
        const part = buffered.get(next) as ArrayLike<unknown>;
        buffered.delete(next++);
        for (let i = 0; i < part.length; i++) yield part[i];
        opts.onProgress?.((done += part.length), length ?? done);
      }
      if (failedAt !== undefined && next === failedAt) {
        const partial = (failure as unknown as Record<symbol, Items | undefined>)[PARTIAL];
        if (partial) for (let i = 0; i < partial.length; i++) yield partial[i];
        throw failure;
      }
    }
  }

  /** Rejects every unfinished call with `error`, and waits until their queued chunks are removed. */
  async cancelAll(error: Error): Promise<void> {
    const calls = [...this.#calls.values()];
    for (const call of calls) call.fail(error);
    await Promise.all(calls.map((c) => c.drained));
  }

  /** Waits for every unfinished call to settle. */
  async drain(): Promise<void> {
    while (this.#calls.size > 0) await Promise.all([...this.#calls.values()].map((c) => c.drained));
  }

  /** Disconnects from Redis (after {@link drain} or {@link cancelAll}). */
  close(): Promise<void> {
    return this.#transport.close();
  }
}

/** A call's `opts.args` for the hosts: plain data (each chunk's payload carries them),
 * checked now; shared memory cannot cross machines. */
function clusterArgs(o: CallOptions, method: string): unknown[] | undefined {
  if (o.args === undefined || o.args.length === 0) return undefined;
  for (let i = 0; i < o.args.length; i++) refuseShared(o.args[i], `opts.args[${i}]`, method);
  encodeCallArgs(o.args, method); // a value that cannot be cloned: a TypeError naming it
  return [...o.args];
}

/** About 32 chunks a call: enough to keep many hosts busy and balanced, few enough that
 * each is worth its Redis round trip (~1-2 ms). */
function defaultChunksize(n: number): number {
  return Math.max(1, Math.ceil(n / 32));
}

/** Kernels compute a million elements in about a millisecond: a chunk smaller than this
 * would cost more to move than to compute. */
function kernelChunksize(n: number): number {
  return Math.max(1 << 18, Math.ceil(n / 16));
}

/** An expression kernel's columns cut into chunks ({@link ExprChunk}s). */
function exprChunks(cols: Columns, chunksize: number | undefined): Items[] {
  const size = chunksize ?? kernelChunksize(cols.length);
  const chunks: Items[] = [];
  for (let s = 0; s < cols.length; s += size) {
    const e = Math.min(cols.length, s + size);
    chunks.push({ length: e - s, columns: cols.arrays.map((a) => a.slice(s, e)) } as unknown as Items);
  }
  // An expression without inputs still maps `length` elements.
  if (cols.length > 0 && cols.arrays.length === 0 && chunks.length === 0) chunks.push({ length: cols.length, columns: [] } as unknown as Items);
  return chunks;
}

function cut(items: Items, size: number): Items[] {
  const chunks: Items[] = [];
  const typed = ArrayBuffer.isView(items);
  for (let s = 0; s < items.length; s += size) {
    chunks.push(typed ? (items as Float64Array).slice(s, s + size) : (items as unknown[]).slice(s, s + size));
  }
  return chunks;
}

/** The chunks' results joined in order: a typed array like a typed `input` when every
 * result is a number, else an array. */
function assemble(parts: unknown[], input: unknown, total: number): unknown[] | FloatArray {
  const numeric = parts.every((p) => p instanceof Float64Array || p instanceof Float32Array);
  if (numeric && isFloatArray(input)) {
    const out = input instanceof Float32Array ? new Float32Array(total) : new Float64Array(total);
    let at = 0;
    for (const p of parts as FloatArray[]) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
  const out = new Array<unknown>(total);
  let at = 0;
  for (const p of parts as ArrayLike<unknown>[]) for (let i = 0; i < p.length; i++) out[at++] = p[i];
  return out;
}

/**
 * The chunks of an imap's input, read lazily: `chunksize` items each, or without one, a
 * known-length input in about 32 chunks, and an unknown-length one in chunks that start at
 * one item (the first results come at once) and double every 8 chunks up to 256.
 */
async function* readChunks(input: Iterable<unknown> | AsyncIterable<unknown>, chunksize: number | undefined, length: number | undefined, method: string): AsyncGenerator<Items, void, undefined> {
  const sync = typeof (input as Iterable<unknown>)[Symbol.iterator] === 'function';
  const it = sync ? (input as Iterable<unknown>)[Symbol.iterator]() : (input as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  let k = 0;
  let position = 0;
  let finished = false;
  try {
    for (;;) {
      const size = chunksize ?? (length !== undefined ? defaultChunksize(length) : Math.min(256, 2 ** Math.floor(k / 8)));
      const items: unknown[] = [];
      while (items.length < size) {
        const step = sync ? (it as Iterator<unknown>).next() : await (it as AsyncIterator<unknown>).next();
        if (step.done) {
          finished = true;
          break;
        }
        refuseShared(step.value, `input[${position + items.length}]`, method);
        items.push(step.value);
      }
      if (items.length > 0) yield items;
      position += items.length;
      k++;
      if (finished) return;
    }
  } finally {
    if (!finished) await it.return?.();
  }
}
