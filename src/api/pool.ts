/**
 * `Pool`: Python's `multiprocessing.Pool` for Node.js.
 * @module
 */
import { AsyncResult, type AsyncCallbacks } from './async-result';
import { PoolStateError, RemoteError } from '../engine/errors';
import { ApplyBatcher } from '../engine/batch';
import { assemble, assembleShared, cut, defaultChunksize, likeInput, numberArray, toItems } from '../engine/chunks';
import { CostModel, runInline } from '../engine/cost';
import { type JobContext, runJob } from '../engine/jobs';
import { streamJobs } from '../engine/stream';
import { Call, type PendingCall, timeoutError } from '../engine/lifecycle';
import { fromNative, rebuildError } from '../engine/remote';
import { describe } from '../util/describe';
import { cloneMessage } from '../util/clone';
import { isKernel, type MapKernel, type ReduceKernel } from './kernels';
import { type ExprInputs, type ExprKernel, type ExprResult, isExprKernel } from './expr';
import { imapExpr, mapExpr, reduceExpr } from './expr-run';
import { native } from '../util/native';
import { FloatArrayKind } from '../../native/index';
import { XCall } from '../wire/lane';
import { numericInput } from '../engine/numbers';
import { isTask, type ModuleTask, shipFunction } from './task';
import { type CallSite, captureCallSite, withCallSite } from '../engine/callsite';
import { type CallArgs, encodeCallArgs, encodeValue, isNumeric } from '../wire/payloads';
import type { FnSpec, Items, WireError } from '../wire/protocol';
import type { ExpressCall, ExpressOutcome } from '../engine/lane';
import { type PoolStats, WORKER_ID_LIMIT, WorkerGroup } from '../engine/worker-group';
import type { ResourceLimits } from 'node:worker_threads';
import type { ClusterClient } from '../cluster/client';
import type { ClusterOptions } from '../cluster/options';
import {
  type CallOptions,
  type FloatArray,
  type IntegerArray,
  checkFixedBuffer,
  checkOptions,
  isFloatArray,
  positiveInteger,
  refuseArgs,
} from '../engine/options';

export type { PoolStats };

/**
 * `'running'`, then `'closed'` after {@link Pool.close} or `'terminated'` after {@link Pool.terminate}.
 * @example
 * ```ts
 * const pool = new Pool();
 * pool.state; // 'running'
 * pool.close();
 * pool.state; // 'closed'
 * ```
 */
export type PoolState = 'running' | 'closed' | 'terminated';


/**
 * Options of {@link Pool}'s constructor.
 * @example
 * ```ts
 * const pool = new Pool({
 *   processes: 4,
 *   initializer: (base) => { globalThis.base = base; }, // runs once in every worker
 *   initargs: [100],
 *   maxTasksPerChild: 1000,
 *   resourceLimits: { maxOldGenerationSizeMb: 512 },
 * });
 * await pool.map((x) => globalThis.base + x, [1, 2]); // [101, 102]
 * ```
 */
export interface PoolOptions {
  /** The number of workers; defaults to {@link cpuCount}(). Kernel calls use at most this many threads. */
  processes?: number;
  /** Run once in every worker when it starts, with `initargs`; with one, the workers start
   * when the pool is made (as Python's), and `close()` + `join()` waits for it to finish. */
  initializer?: ((...args: any[]) => unknown) | object;
  /** Arguments of `initializer`. */
  initargs?: readonly unknown[];
  /** A worker is replaced after this many tasks: a chunk of a map is one task, and so is
   * each `apply`/`applyAsync` call, batched or not (as Python counts them). */
  maxTasksPerChild?: number;
  /**
   * Let small calls of a cheap function run on the calling thread (default `false`): once
   * the workers have measured a function, a call predicted to be cheap skips the round
   * trip to a worker (two thread wake-ups, 100-300 µs here; 50× faster hot loops of tiny
   * calls). Opt in only for trusted functions: a task run this way shares the caller's
   * globals, a `process.exit()` in it ends the process (no `WorkerCrashedError`), and an
   * endless loop in it cannot be stopped.
   */
  inline?: boolean;
  /** V8 heap limits of each worker (see `worker_threads` `resourceLimits`): a task that
   * exceeds them fails with `WorkerCrashedError` and its worker is replaced. */
  resourceLimits?: ResourceLimits;
  /**
   * Run the chunks on other machines: worker hosts started with `npx ferropool worker`
   * on a BullMQ queue in Redis (needs the optional packages `bullmq` and `ioredis`; see
   * docs/cluster.md). Every method keeps its meaning; `processes` is then only a hint.
   */
  cluster?: ClusterOptions;
}

/**
 * A function a pool can run: a self-contained JS function or a {@link task}.
 * @typeParam A - Its arguments.
 * @typeParam R - What it returns.
 * @example
 * ```ts
 * const double: TaskFn<[number], number> = (x) => x * 2;
 * const sha: TaskFn<[string], string> = task('./tasks.mjs', 'sha');
 * await pool.map(double, [1, 2, 3]); // [2, 4, 6]
 * await pool.map(sha, ['a', 'b']);
 * ```
 */
export type TaskFn<A extends unknown[] = any[], R = unknown> = ((...args: A) => R) | ModuleTask<(...args: A) => R>;

/**
 * Options of {@link Pool.map} with a kernel.
 * @typeParam Out - The type of `out`: `Float64Array` or `Float32Array`.
 * @example
 * ```ts
 * const data = new Float64Array([1, -2, 3]);
 * await pool.map(kernels.affine(2, 1), data, { out: data, chunksize: 65_536 });
 * data; // Float64Array [3, -3, 7]
 * ```
 */
export interface KernelMapOptions<Out extends FloatArray = FloatArray> extends CallOptions {
  /** Write the results here (same type and length as the input; may be the input itself). */
  out?: Out;
}

/**
 * Options of {@link Pool.reduce} with a kernel.
 * @example
 * ```ts
 * await pool.reduce(kernels.sum, [-1, 2], { map: kernels.abs }); // 3: the L1 norm, no temporary array
 * await pool.reduce(kernels.max, data, { initial: 0, timeout: 5000 });
 * ```
 */
export interface KernelReduceOptions extends CallOptions {
  /** The value the reduction starts from (not with `kernels.mean`). */
  initial?: number;
  /** An element-wise kernel applied to each element first, fused: no temporary array. */
  map?: MapKernel;
}

/**
 * The number of CPUs this process may use: `os.availableParallelism()`, or the
 * `FERROPOOL_THREADS` environment variable when it is set.
 * @example
 * ```ts
 * import { Pool, cpuCount } from 'ferropool';
 * const pool = new Pool(cpuCount()); // what new Pool() does
 * ```
 */
export function cpuCount(): number {
  return native.cpuCount();
}

/** How often a pooled kernel call with `onProgress` reports. */
const PROGRESS_INTERVAL_MS = 50;

let lastCallId = 0;

function nextCallId(): number {
  lastCallId = lastCallId >= 0xffff_fffe ? 1 : lastCallId + 1;
  return lastCallId;
}

/**
 * A pool of workers: Python's `multiprocessing.Pool`, with Promises. Built-in
 * {@link kernels} run on a process-wide native thread pool sized to the CPU count.
 *
 * @example
 * ```ts
 * import { Pool, kernels } from 'ferropool';
 * const pool = new Pool();                        // or new Pool(4), new Pool({ processes: 4 })
 * const out = await pool.map(kernels.square, new Float64Array(10_000_000));
 * await pool.close(); await pool.join();
 * ```
 */
export class Pool {
  readonly #processes: number;
  #state: PoolState = 'running';
  readonly #calls = new Set<PendingCall>();
  readonly #initializer: FnSpec | undefined;
  readonly #initargs: unknown[];
  readonly #maxTasksPerChild: number | undefined;
  readonly #resourceLimits: ResourceLimits | undefined;
  #group: WorkerGroup | undefined;
  /** What a call on the workers needs (made with the group). */
  #context: JobContext | undefined;
  readonly #applies: ApplyBatcher;
  readonly #costs = new CostModel();
  readonly #inline: boolean;
  readonly #idLimit: number | undefined;
  /** Cluster mode's engine (loaded only when `options.cluster` is given). */
  readonly #cluster: ClusterClient | undefined;

  /**
   * A pool of `options.processes` workers (or `options` of them, when it is a number), by
   * default {@link cpuCount}(). JS workers start on the first call that needs them, or,
   * with an `initializer`, at once (as Python's do).
   * @example
   * ```ts
   * const pool = new Pool();                               // cpuCount() workers
   * const four = new Pool(4);                              // Python's Pool(4)
   * const fresh = new Pool({ processes: 2, maxTasksPerChild: 100 });
   * ```
   */
  constructor(options?: PoolOptions | number) {
    const opts: PoolOptions = typeof options === 'number' ? { processes: options } : checkPoolOptions(options);
    this.#processes = opts.processes === undefined ? cpuCount() : positiveInteger(opts.processes, 'processes');
    this.#maxTasksPerChild = opts.maxTasksPerChild === undefined ? undefined : positiveInteger(opts.maxTasksPerChild, 'maxTasksPerChild');
    this.#initializer = opts.initializer === undefined ? undefined : shipFunction(opts.initializer, 'initializer');
    if (opts.initargs !== undefined && !Array.isArray(opts.initargs)) {
      throw new TypeError(`initargs must be an array, got ${describe(opts.initargs)}`);
    }
    this.#initargs = opts.initargs === undefined ? [] : [...opts.initargs];
    try {
      encodeValue(this.#initargs, new Map());
    } catch (err) {
      throw new TypeError(`initargs cannot be sent to the workers: ${cloneMessage('initargs', err)} (send structured-clone values; Lock, Value, Queue and SharedArrayBuffers are shared)`, { cause: err });
    }
    if (opts.resourceLimits !== undefined && (typeof opts.resourceLimits !== 'object' || opts.resourceLimits === null)) {
      throw new TypeError(`resourceLimits must be an object, got ${describe(opts.resourceLimits)}`);
    }
    this.#resourceLimits = opts.resourceLimits;
    if (opts.inline !== undefined && typeof opts.inline !== 'boolean') throw new TypeError(`inline must be a boolean, got ${describe(opts.inline)}`);
    this.#inline = opts.inline ?? false;
    const idLimit = (opts as { [WORKER_ID_LIMIT]?: unknown })[WORKER_ID_LIMIT];
    this.#idLimit = typeof idLimit === 'number' ? idLimit : undefined;
    this.#applies = new ApplyBatcher(() => this.#workers(), this.#processes, this.#maxTasksPerChild);
    this.#cluster =
      opts.cluster === undefined
        ? undefined
        : new (require('../cluster/client') as typeof import('../cluster/client')).ClusterClient(opts.cluster, {
            initializer: this.#initializer,
            initargs: this.#initargs,
            maxTasksPerChild: this.#maxTasksPerChild,
            resourceLimits: this.#resourceLimits,
          });
    // With an initializer, the workers start now, as Python's do (it may set up what the
    // program expects to exist even if no task comes); without one, on the first call. (In
    // cluster mode the hosts run the initializer.)
    if (this.#initializer !== undefined && this.#cluster === undefined) this.#workers().group.start();
  }

  /** The workers for JS functions, started on the first call that needs them. */
  #workers(): JobContext {
    if (!this.#group) {
      const group = new WorkerGroup({
        size: this.#processes,
        initializer: this.#initializer,
        initargs: this.#initargs,
        maxTasksPerChild: this.#maxTasksPerChild,
        resourceLimits: this.#resourceLimits,
        idLimit: this.#idLimit,
      });
      group.onInitError = (wire) => {
        const cause = rebuildError(wire);
        const error = new RemoteError(`the pool's initializer threw in a worker: ${cause.message}`, { cause });
        for (const call of [...this.#calls]) call.cancel(error);
      };
      this.#group = group;
    }
    this.#context ??= { group: this.#group, calls: this.#calls, costs: this.#costs };
    return this.#context;
  }

  /**
   * The number of workers.
   * @example
   * ```ts
   * new Pool(4).processes; // 4
   * ```
   */
  get processes(): number {
    return this.#processes;
  }

  /**
   * A snapshot of the pool's work, for monitoring (what piscina users read from
   * `utilization`, `queueSize` and `completed`):
   * - `workers`: worker threads alive now (0 until the first JS-function call starts them);
   * - `busy`: of those, how many are running a chunk or a call now;
   * - `pendingCalls`: calls handed to the workers and not finished;
   * - `pendingChunks`: their chunks not yet handed back (queued, running, or done and waiting
   *   for the rest of their call);
   * - `chunksDone`: chunks finished on the workers since the pool started (a call of
   *   `apply` is one chunk; calls run on the caller with `inline: true` are not counted);
   * - `heapUsed`: each worker's V8 heap in use, in bytes, as of the last time it went idle
   *   (0 before it first did);
   * - `heapTotal`: each worker's V8 heap size, likewise.
   *
   * Kernel calls run on the native thread pool and do not appear here.
   * @example
   * ```ts
   * const pool = new Pool(2);
   * const pending = pool.map((x) => x * 2, [1, 2, 3, 4], { chunksize: 1 });
   * pool.stats(); // e.g. { workers: 2, busy: 2, pendingCalls: 1, pendingChunks: 4, chunksDone: 0, heapUsed: [0, 0], heapTotal: [0, 0] }
   * await pending;
   * pool.stats().chunksDone; // 4
   * ```
   */
  stats(): PoolStats {
    if (this.#cluster) return this.#cluster.stats();
    return this.#group?.stats() ?? { workers: 0, busy: 0, pendingCalls: 0, pendingChunks: 0, chunksDone: 0, heapUsed: [], heapTotal: [] };
  }

  /**
   * `'running'`, `'closed'` or `'terminated'`.
   * @example
   * ```ts
   * if (pool.state === 'running') await pool.map((x) => x + 1, [1, 2]);
   * ```
   */
  get state(): PoolState {
    return this.#state;
  }

  /**
   * Applies `fn` to every element of `input`, in parallel; the results are in input order.
   * With a kernel, a `Float64Array` gives a `Float64Array` (likewise `Float32Array`), an
   * array or iterable of numbers gives `number[]`, and `opts.out` receives the results. With
   * a JS function, a typed array whose results are all numbers gives a typed array of its
   * type (an `Int32Array`'s are converted as `Int32Array.prototype.map` converts them).
   *
   * The input's memory is read in place by native threads: do not transfer, detach or
   * resize its buffer (or `opts.out`'s) until the returned promise settles.
   *
   * @example
   * ```ts
   * const roots = await pool.map(kernels.sqrt, new Float32Array([1, 4, 9])); // Float32Array [1, 2, 3]
   * await pool.map(kernels.neg, data, { out: data });                        // in place
   * ```
   */
  map<Out extends FloatArray, N extends string>(fn: ExprKernel<N>, input: ExprInputs<N>, opts: KernelMapOptions<Out> & { out: Out }): Promise<Out>;
  map<N extends string, const I extends ExprInputs<N>>(fn: ExprKernel<N>, input: I, opts?: KernelMapOptions): Promise<ExprResult<I>>;
  map(fn: MapKernel, input: Float64Array, opts?: KernelMapOptions<Float64Array>): Promise<Float64Array>;
  map(fn: MapKernel, input: Float32Array, opts?: KernelMapOptions<Float32Array>): Promise<Float32Array>;
  map<Out extends FloatArray>(fn: MapKernel, input: Iterable<number> | AsyncIterable<number>, opts: KernelMapOptions<Out> & { out: Out }): Promise<Out>;
  map(fn: MapKernel, input: Iterable<number> | AsyncIterable<number>, opts?: KernelMapOptions<Float64Array>): Promise<number[]>;
  map<const A extends readonly unknown[]>(fn: TaskFn<[number, ...A], number | Promise<number>>, input: Float64Array, opts: CallOptions & { args: A; out?: Float64Array }): Promise<Float64Array>;
  map<const A extends readonly unknown[]>(fn: TaskFn<[number, ...A], number | Promise<number>>, input: Float32Array, opts: CallOptions & { args: A; out?: Float32Array }): Promise<Float32Array>;
  map<T, const A extends readonly unknown[], R>(fn: TaskFn<[T, ...A], R | Promise<R>>, input: Iterable<T> | AsyncIterable<T> | ArrayLike<T>, opts: CallOptions & { args: A }): Promise<R[]>;
  map(fn: TaskFn<[number], number | Promise<number>>, input: Float64Array, opts?: CallOptions & { out?: Float64Array }): Promise<Float64Array>;
  map(fn: TaskFn<[number], number | Promise<number>>, input: Float32Array, opts?: CallOptions & { out?: Float32Array }): Promise<Float32Array>;
  map<A extends IntegerArray>(fn: TaskFn<[number], number | Promise<number>>, input: A, opts?: CallOptions): Promise<A>;
  map<T, R>(fn: TaskFn<[T], R | Promise<R>>, input: Iterable<T> | AsyncIterable<T> | ArrayLike<T>, opts?: CallOptions): Promise<R[]>;
  map(fn: MapKernel | TaskFn, input: unknown, opts?: KernelMapOptions): Promise<unknown> {
    if (!isKernel(fn)) {
      // The call site goes onto the errors of a call that settles later; one settled now
      // (a small map through the express lane) threw with the caller's frames on its stack
      // already, and capturing them would cost more than the lane's whole round trip.
      try {
        const r = this.#mapJs(fn, input, opts, false, 'map');
        return r instanceof Promise ? withCallSite(r) : Promise.resolve(r);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return promised(() => {
      this.#assertRunning('map');
      const kernel = mapKernelArg(fn, 'map');
      if (this.#cluster) return this.#cluster.mapKernel(kernel, input, opts);
      const o = checkOptions<KernelMapOptions>(opts, 'map', ['out']);
      refuseArgs(o, 'map', 'a kernel takes no extra arguments (use kernels.expr constants, or a JS function)');
      if (isExprKernel(kernel)) return mapExpr(kernel, input, o, this.#processes, (total, start) => this.#run(o, total, start));
      const data = numericInput(input, 'map');
      return data instanceof Promise ? data.then((d) => this.#mapKernel(kernel, d, o, input)) : this.#mapKernel(kernel, data, o, input);
    });
  }

  #mapKernel(kernel: MapKernel, data: FloatArray, o: KernelMapOptions, input: unknown): FloatArray | number[] | Promise<FloatArray | number[]> {
    const given = o.out === undefined ? undefined : checkOut(o.out, data);
    const [p0, p1] = kernel.params;
    // The output is made once the call may start (not for a call whose signal aborted).
    let out!: FloatArray;
    const result = () => (given !== undefined || isFloatArray(input) ? out : Array.from(out));
    const done = this.#run(o, data.length, (id) => {
      out = given ?? newLike(data);
      return native.mapKernel(id, kernel.code, p0, p1, data, out, o.chunksize ?? 0, this.#processes);
    });
    return done instanceof Promise ? done.then(result) : result();
  }

  /**
   * Reduces `input` to one number with a reduction kernel, in parallel. Chunk results are
   * combined in chunk order, so the answer is the same on every run and machine for a
   * given input and `chunksize`. `opts.map` applies an element-wise kernel first.
   *
   * @example
   * ```ts
   * const total = await pool.reduce(kernels.sum, data);
   * const sumOfSquares = await pool.reduce(kernels.sum, data, { map: kernels.square });
   * const lowest = await pool.reduce(kernels.min, data, { initial: 0 });
   * ```
   */
  reduce<N extends string>(fn: ReduceKernel, input: ExprInputs<N>, opts: KernelReduceOptions & { map: ExprKernel<N> }): Promise<number>;
  reduce(fn: ReduceKernel, input: FloatArray | Iterable<number> | AsyncIterable<number>, opts?: KernelReduceOptions): Promise<number>;
  /**
   * A parallel tree reduction with your own `fn(acc, x)`: each chunk is folded on a worker,
   * then the chunks' results are folded in order on this thread, starting from
   * `opts.initial` when given. `fn` must be associative (`(a+b)+c === a+(b+c)`), or the
   * answer depends on the chunking. An empty input gives `initial`, or a `TypeError`.
   * @example
   * ```ts
   * await pool.reduce((a, b) => a + b, [1, 2, 3, 4]);                  // 10
   * await pool.reduce((a, b) => (a > b ? a : b), words, { initial: '' }); // the last word in order
   * ```
   */
  reduce<T>(fn: TaskFn<[T, T], T | Promise<T>>, input: Iterable<T> | AsyncIterable<T> | ArrayLike<T>, opts?: CallOptions & { initial?: T }): Promise<T>;
  reduce(fn: ReduceKernel | TaskFn, input: unknown, opts?: KernelReduceOptions | (CallOptions & { initial?: unknown })): Promise<unknown> {
    if (!isKernel(fn) && (typeof fn === 'function' || isTask(fn))) return withCallSite(promised(() => this.#reduceJs(fn, input, opts)));
    return promised(() => {
      this.#assertRunning('reduce');
      if (!isKernel(fn)) {
        throw new TypeError(`reduce: fn must be a reduction kernel (kernels.sum, min, max or mean), got ${describe(fn)}`);
      }
      if (fn.kind !== 'reduce') {
        throw new TypeError(
          `reduce: kernels.${fn.name} is element-wise; reduce takes kernels.sum, min, max or mean (pass kernels.${fn.name} as opts.map to apply it first)`,
        );
      }
      const o = checkOptions<KernelReduceOptions>(opts, 'reduce', ['initial', 'map']);
      refuseArgs(o, 'reduce', 'a kernel takes no extra arguments');
      const pre = o.map === undefined ? undefined : mapKernelArg(o.map, 'reduce', 'opts.map');
      if (o.initial !== undefined) {
        if (typeof o.initial !== 'number') throw new TypeError(`reduce: opts.initial must be a number, got ${describe(o.initial)}`);
        if (fn.name === 'mean') throw new TypeError('reduce: opts.initial cannot be used with kernels.mean');
      }
      if (this.#cluster) return this.#cluster.reduceKernel(fn, pre, o.initial, input, o);
      if (pre !== undefined && isExprKernel(pre)) return reduceExpr(fn.code, pre, input, o.initial, o, this.#processes, (total, start) => this.#run(o, total, start));
      const [p0, p1] = pre ? pre.params : NO_PARAMS;
      const reduceData = (data: FloatArray) =>
        this.#run(o, data.length, (id) =>
          native.reduceKernel(id, fn.code, pre?.code, p0, p1, data, o.initial ?? null, o.chunksize ?? 0, this.#processes),
        );
      const data = numericInput(input, 'reduce');
      return data instanceof Promise ? data.then(reduceData) : reduceData(data);
    });
  }

  /**
   * Like {@link map}, but each element of `argTuples` is spread as the arguments.
   * @example
   * ```ts
   * await pool.starmap((a, b) => a * b, [[1, 2], [3, 4]]); // [2, 12]
   * ```
   */
  starmap<A extends unknown[], const X extends readonly unknown[], R>(fn: TaskFn<[...A, ...X], R | Promise<R>>, argTuples: Iterable<A> | AsyncIterable<A> | ArrayLike<A>, opts: CallOptions & { args: X }): Promise<R[]>;
  starmap<A extends unknown[], R>(fn: TaskFn<A, R | Promise<R>>, argTuples: Iterable<A> | AsyncIterable<A> | ArrayLike<A>, opts?: CallOptions): Promise<R[]>;
  starmap<A extends unknown[], R>(fn: TaskFn<A, R | Promise<R>>, argTuples: Iterable<A> | AsyncIterable<A> | ArrayLike<A>, opts?: CallOptions): Promise<R[]> {
    return withCallSite(promised(() => this.#mapJs(fn, argTuples, opts, true, 'starmap'))) as Promise<R[]>;
  }

  /**
   * Calls `fn(...args)` on a worker.
   * @example
   * ```ts
   * await pool.apply((a, b) => a + b, [1, 2]); // 3
   * ```
   */
  apply<A extends unknown[], R>(fn: TaskFn<A, R | Promise<R>>, args?: A, opts?: CallOptions): Promise<R> {
    return promised(() => {
      if (args !== undefined && !Array.isArray(args)) throw new TypeError(`apply: args must be an array, got ${describe(args)}`);
      if (opts === undefined && !this.#cluster) {
        this.#assertRunning('apply');
        const f = shipFunction(fn, 'apply: fn');
        const argv = args === undefined ? [] : [...args];
        if (this.#runsInline(f, 1, {})) {
          const r = runInline(fn as (...a: unknown[]) => unknown, true, [argv]);
          return (r instanceof Promise ? r.then((x) => x[0]) : (r as unknown[])[0]) as R | Promise<R>;
        }
        // A small call, once the workers are up: the express lane, if it is free.
        const waitNs = this.#group ? this.#costs.smallJobWait(f, 1) : undefined;
        const express = waitNs === undefined ? undefined : this.#group!.express(f, argv, waitNs);
        if (express !== undefined) return this.#expressResult(f, express) as Promise<R>;
        // Otherwise batched with the other applies of this turn (see ApplyBatcher).
        return this.#applies.add(f, argv) as Promise<R>;
      }
      return promised(() => this.#mapJs(fn, [args ?? []], opts, true, 'apply')).then((r) => (r as R[])[0]!);
    });
  }

  /**
   * {@link apply} with Python's `AsyncResult` handle (also awaitable).
   * @example
   * ```ts
   * const r = pool.applyAsync(fib, [30], { callback: console.log });
   * await r.get(5000);
   * ```
   */
  applyAsync<A extends unknown[], R>(fn: TaskFn<A, R | Promise<R>>, args?: A, callbacks?: AsyncCallbacks<R>): AsyncResult<R> {
    return new AsyncResult(this.apply(fn, args), callbacks);
  }

  /**
   * {@link map} with an `AsyncResult` handle; `opts` also take `callback` and `errorCallback`.
   * @example
   * ```ts
   * const r = pool.mapAsync((x) => x * 2, [1, 2, 3], { callback: (out) => console.log(out) });
   * await r.get(); // [2, 4, 6]
   * const k = pool.mapAsync(kernels.neg, new Float64Array([1, 2])); // AsyncResult<Float64Array>
   * ```
   */
  mapAsync(fn: MapKernel, input: Float64Array, opts?: KernelMapOptions<Float64Array> & AsyncCallbacks<Float64Array>): AsyncResult<Float64Array>;
  mapAsync(fn: MapKernel, input: Float32Array, opts?: KernelMapOptions<Float32Array> & AsyncCallbacks<Float32Array>): AsyncResult<Float32Array>;
  mapAsync<Out extends FloatArray>(fn: MapKernel, input: Iterable<number> | AsyncIterable<number>, opts: KernelMapOptions<Out> & { out: Out } & AsyncCallbacks<Out>): AsyncResult<Out>;
  mapAsync(fn: MapKernel, input: Iterable<number> | AsyncIterable<number>, opts?: KernelMapOptions<Float64Array> & AsyncCallbacks<number[]>): AsyncResult<number[]>;
  mapAsync<A extends IntegerArray>(fn: TaskFn<[number], number | Promise<number>>, input: A, opts?: CallOptions & AsyncCallbacks<A>): AsyncResult<A>;
  mapAsync<T, const A extends readonly unknown[], R>(fn: TaskFn<[T, ...A], R | Promise<R>>, input: Iterable<T> | AsyncIterable<T> | ArrayLike<T>, opts: CallOptions & { args: A } & AsyncCallbacks<R[]>): AsyncResult<R[]>;
  mapAsync<T, R>(fn: TaskFn<[T], R | Promise<R>>, input: Iterable<T> | AsyncIterable<T> | ArrayLike<T>, opts?: CallOptions & AsyncCallbacks<R[]>): AsyncResult<R[]>;
  mapAsync(fn: MapKernel | TaskFn, input: unknown, opts?: KernelMapOptions & AsyncCallbacks<never>): AsyncResult<unknown> {
    const { callback, errorCallback, ...rest } = opts ?? {};
    return new AsyncResult(this.map(fn as MapKernel, input as Float64Array, rest as KernelMapOptions<Float64Array>), { callback, errorCallback } as AsyncCallbacks<unknown>);
  }

  /**
   * {@link starmap} with an `AsyncResult` handle; `opts` also take `callback` and `errorCallback`.
   * @example
   * ```ts
   * const r = pool.starmapAsync((a, b) => a * b, [[1, 2], [3, 4]], { errorCallback: console.error });
   * await r; // [2, 12]
   * ```
   */
  starmapAsync<A extends unknown[], const X extends readonly unknown[], R>(fn: TaskFn<[...A, ...X], R | Promise<R>>, argTuples: Iterable<A> | AsyncIterable<A> | ArrayLike<A>, opts: CallOptions & { args: X } & AsyncCallbacks<R[]>): AsyncResult<R[]>;
  starmapAsync<A extends unknown[], R>(fn: TaskFn<A, R | Promise<R>>, argTuples: Iterable<A> | AsyncIterable<A> | ArrayLike<A>, opts?: CallOptions & AsyncCallbacks<R[]>): AsyncResult<R[]>;
  starmapAsync<A extends unknown[], R>(fn: TaskFn<A, R | Promise<R>>, argTuples: Iterable<A> | AsyncIterable<A> | ArrayLike<A>, opts?: CallOptions & AsyncCallbacks<R[]>): AsyncResult<R[]> {
    const { callback, errorCallback, ...rest } = opts ?? {};
    return new AsyncResult(this.starmap(fn, argTuples, rest as CallOptions), { callback, errorCallback });
  }

  /**
   * Results in input order, each yielded as soon as it (and those before it) are ready.
   * The input is read lazily with bounded read-ahead, so it may be endless. If a task throws,
   * every result before it is yielded, then the error is thrown.
   * @example
   * ```ts
   * function* naturals() { for (let i = 1; ; i++) yield i; }          // endless
   * for await (const r of pool.imap((x) => x * 2, naturals())) if (r > 100) break;
   * ```
   */
  imap<N extends string>(fn: ExprKernel<N>, input: ExprInputs<N>, opts?: CallOptions): AsyncIterableIterator<number>;
  imap<T, const A extends readonly unknown[], R>(fn: TaskFn<[T, ...A], R | Promise<R>>, input: Iterable<T> | AsyncIterable<T>, opts: CallOptions & { args: A }): AsyncIterableIterator<R>;
  imap<T, R>(fn: TaskFn<[T], R | Promise<R>>, input: Iterable<T> | AsyncIterable<T>, opts?: CallOptions): AsyncIterableIterator<R>;
  imap(fn: ExprKernel | TaskFn, input: unknown, opts?: CallOptions): AsyncIterableIterator<unknown> {
    if (isExprKernel(fn)) return imapExpr((k, b, o) => this.map(k, b as Float64Array, o), fn, input, opts, 'imap');
    return this.#imap(fn, input, opts, true, 'imap', captureCallSite());
  }

  /**
   * Like {@link imap}, but yields results in the order they complete.
   * @example
   * ```ts
   * function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
   * for await (const r of pool.imapUnordered(fib, [32, 20, 25])) console.log(r); // e.g. 6765, 75025, 2178309
   * ```
   */
  imapUnordered<N extends string>(fn: ExprKernel<N>, input: ExprInputs<N>, opts?: CallOptions): AsyncIterableIterator<number>;
  imapUnordered<T, const A extends readonly unknown[], R>(fn: TaskFn<[T, ...A], R | Promise<R>>, input: Iterable<T> | AsyncIterable<T>, opts: CallOptions & { args: A }): AsyncIterableIterator<R>;
  imapUnordered<T, R>(fn: TaskFn<[T], R | Promise<R>>, input: Iterable<T> | AsyncIterable<T>, opts?: CallOptions): AsyncIterableIterator<R>;
  imapUnordered(fn: ExprKernel | TaskFn, input: unknown, opts?: CallOptions): AsyncIterableIterator<unknown> {
    if (isExprKernel(fn)) return imapExpr((k, b, o) => this.map(k, b as Float64Array, o), fn, input, opts, 'imapUnordered');
    return this.#imap(fn, input, opts, false, 'imapUnordered', captureCallSite());
  }

  #imap(fn: unknown, input: unknown, opts: CallOptions | undefined, ordered: boolean, method: string, site: CallSite): AsyncIterableIterator<unknown> {
    this.#assertRunning(method);
    const f = shipFunction(fn, `${method}: fn`);
    const o = checkOptions<CallOptions>(opts, method);
    const args = callArgs(o, method);
    if (typeof input !== 'object' || input === null || (typeof (input as Iterable<unknown>)[Symbol.iterator] !== 'function' && typeof (input as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function')) {
      throw new TypeError(`${method}: input must be an iterable or async iterable, got ${describe(input)}`);
    }
    if (this.#cluster) return this.#cluster.imap(fn, input, o, ordered, method);
    const length = Array.isArray(input) || ArrayBuffer.isView(input) ? (input as ArrayLike<unknown>).length : undefined;
    // Without a chunksize, chunks start at one item and grow while the input keeps coming
    // (see streamJobs); a known input's no larger than Python's default share of a worker.
    const maxChunk = length === undefined ? Infinity : defaultChunksize(length, this.#processes);
    return streamJobs(this.#workers(), { f, star: false, input: input as Iterable<unknown>, chunksize: o.chunksize, maxChunk, readAhead: this.#processes * 2, ordered, opts: o, total: length, method, site, args });
  }

  /** The value of a JS map now (a small map the express lane settled), or a promise of it. */
  #mapJs(fn: unknown, input: unknown, opts: CallOptions | undefined, star: boolean, method: string): unknown {
    this.#assertRunning(method);
    if (this.#cluster) return this.#cluster.mapJs(fn, input, opts, star, method);
    const f = shipFunction(fn, `${method}: fn`);
    const o = checkOptions<CallOptions & { out?: FloatArray }>(opts, method, method === 'map' ? ['out'] : []);
    if (method === 'apply') refuseArgs(o, method, 'apply takes its arguments as args');
    const args = callArgs(o, method);
    let out: FloatArray | undefined;
    if (o.out !== undefined) {
      if (!isFloatArray(input)) throw new TypeError(`map: opts.out needs a Float64Array or Float32Array input, got ${describe(input)}`);
      out = checkOut(o.out, input);
    }
    /** With `out`, the results must all be numbers: they are written there. */
    const intoOut = (results: unknown): unknown => {
      if (out === undefined || results === out) return results;
      const r = results as ArrayLike<unknown>;
      for (let i = 0; i < r.length; i++) {
        if (typeof r[i] !== 'number') throw new TypeError(`map: opts.out holds numbers, but the result for input[${i}] is ${describe(r[i])}`);
      }
      out.set(r as ArrayLike<number>);
      return out;
    };
    const run = (items: Items): Promise<unknown> | unknown => {
      if (items.length === 0) return intoOut(assemble([], input, 0));
      if (this.#runsInline(f, items.length, o)) {
        const results = runInline(fn as (...args: unknown[]) => unknown, star, items, args?.list);
        return results instanceof Promise ? results.then((r) => intoOut(assemble([r], input, items.length))) : intoOut(assemble([results], input, items.length));
      }
      // A call predicted to take microseconds goes to one worker in one chunk (waking more
      // would cost more than the work), and the caller waits for it briefly on this thread
      // instead of an event-loop turn: a hot loop of small maps pays no thread wake-up.
      const waitNs = o.chunksize === undefined ? this.#costs.smallJobWait(f, items.length) : undefined;
      if (waitNs !== undefined && !star && isNumeric(items) && this.#group && o.signal === undefined && o.timeout === undefined && o.onProgress === undefined) {
        // Numbers, once the workers are up: the whole map as one express call, if the lane
        // is free (no task board, no napi call, no message on the way there or back).
        // Numeric results land in `out`, or in an array like the input (a number[] for one).
        const asArray = items !== input;
        const call = this.#group.express(f, [items], waitNs, XCall.Map, out ?? (asArray ? 'array' : undefined), args?.list);
        if (call !== undefined) {
          // (Results that were not numbers on the worker's fast path come back encoded.)
          const finish = (r: unknown) => intoOut(asArray && r instanceof Float64Array ? numberArray(r) : r);
          return this.#expressResult(f, call, { items: items.length, finish });
        }
      }
      const chunks = cut(items, waitNs !== undefined ? items.length : (o.chunksize ?? this.#costs.chunksize(f, items.length, this.#processes)));
      if (!star && isNumeric(items)) {
        // Numbers (the caller's typed array, or the one an array of numbers became): workers
        // read them in place and write numeric results in place, nothing copied or encoded.
        const output = out ?? newLike(items);
        const asArray = items !== input;
        return runJob(this.#workers(), { f, star, chunks, opts: o, total: items.length, shared: [items, output], waitNs, args }).then((parts) => intoOut(assembleShared(parts, chunks, output, asArray)));
      }
      return runJob(this.#workers(), { f, star, chunks, opts: o, total: items.length, waitNs, args }).then((parts) => assemble(parts, input, items.length));
    };
    if (!star && Array.isArray(input) && this.#runsInline(f, input.length, o)) {
      // On the caller, a plain array needs no conversion: map it as it is, and keep the
      // cost model honest with what it really took.
      const began = performance.now();
      const results = runInline(fn as (...args: unknown[]) => unknown, false, input, args?.list);
      if (!(results instanceof Promise)) this.#costs.record(f, ((performance.now() - began) * 1e6) / Math.max(1, input.length));
      return results;
    }
    const items = toItems(input, method, star);
    const result = items instanceof Promise ? items.then(run) : run(items);
    if (star || !ArrayBuffer.isView(input) || isFloatArray(input)) return result;
    return result instanceof Promise ? result.then((r) => likeInput(input, r)) : likeInput(input, result);
  }

  #reduceJs(fn: unknown, input: unknown, opts: unknown): Promise<unknown> {
    this.#assertRunning('reduce');
    if (this.#cluster) return this.#cluster.reduceJs(fn, input, opts);
    const f = shipFunction(fn, 'reduce: fn');
    const o = checkOptions<CallOptions & { initial?: unknown }>(opts, 'reduce', ['initial']);
    refuseArgs(o, 'reduce', 'reduce calls fn(acc, x) with nothing else');
    const hasInitial = o.initial !== undefined;
    // The chunks' results (and `initial`, first) are folded by one more job, on a worker
    // like the rest, so a task() or a function with worker-side globals combines too.
    // It runs within what is left of the call's timeout: with one item a chunk, every call
    // of `fn` happens there (an endless `fn` must still time out).
    let began = 0;
    const combine = (partials: unknown[]): Promise<unknown> => {
      const all = hasInitial ? [o.initial, ...partials] : partials;
      if (all.length === 1) return Promise.resolve(all[0]);
      const ms = o.timeout;
      if (ms === undefined || ms === Infinity) return runJob(this.#workers(), { f, star: null, chunks: [[0, all]], opts: { signal: o.signal }, total: all.length }).then((parts) => parts[0]![0]);
      // The call's own timeout error when the rest of its time runs out.
      // (The caller's signal is forwarded by hand: AbortSignal.any needs Node 20.3.)
      const timer = new AbortController();
      const left = setTimeout(() => timer.abort(timeoutError(ms)), Math.max(0, ms - (performance.now() - began)));
      const forward = () => timer.abort(o.signal!.reason);
      if (o.signal?.aborted) forward();
      else o.signal?.addEventListener('abort', forward, { once: true });
      const done = () => {
        clearTimeout(left);
        o.signal?.removeEventListener('abort', forward);
      };
      return runJob(this.#workers(), { f, star: null, chunks: [[0, all]], opts: { signal: timer.signal }, total: all.length }).then(
        (parts) => {
          done();
          return parts[0]![0];
        },
        (err: unknown) => {
          done();
          throw err;
        },
      );
    };
    const run = (items: Items): Promise<unknown> => {
      if (items.length === 0) {
        if (hasInitial) return Promise.resolve(o.initial);
        return Promise.reject(new TypeError('reduce: the input is empty and no opts.initial was given'));
      }
      const chunks = cut(items, o.chunksize ?? defaultChunksize(items.length, this.#processes));
      began = performance.now();
      return runJob(this.#workers(), { f, star: null, chunks, opts: o, total: items.length }).then((parts) => combine(parts.map((p) => p[0])));
    };
    const items = toItems(input, 'reduce', false);
    return items instanceof Promise ? items.then(run) : run(items);
  }

  /** The value (or error) of an express call, now or once its worker is done; for a map,
   * `map` says how many items it had and turns its results into the call's answer. */
  #expressResult(f: FnSpec, call: ExpressCall, map?: { items: number; finish(results: unknown): unknown }): unknown {
    const settle = (o: ExpressOutcome): unknown => {
      this.#costs.record(f, o.ns / (map?.items ?? 1));
      if (o.ok) return map ? map.finish(o.value) : o.value;
      const err = rebuildError(o.value as WireError) as Error & { index?: number };
      if (!map) err.index = 0; // the position within the call's own arguments (a map's: the input position)
      throw err;
    };
    if (call.settled) return settle(call);
    const waiting = new ExpressWait(this.#calls, call);
    return call.promise.then(
      (o) => {
        waiting.end();
        return settle(o);
      },
      (e: unknown) => {
        waiting.end();
        throw e;
      },
    );
  }

  /**
   * Whether a call of `items` items of `f` runs on the calling thread: only a shipped
   * function whose measured cost predicts well under a worker round trip, on a pool
   * without an initializer (whose globals exist only in the workers), and without a
   * signal or timeout (which cannot interrupt the calling thread).
   */
  #runsInline(f: FnSpec, items: number, o: CallOptions): boolean {
    return this.#inline && f.k === 'fn' && this.#initializer === undefined && o.signal === undefined && o.timeout === undefined && this.#costs.cheap(f, items);
  }

  /**
   * No new work is accepted; work already submitted finishes.
   * @example
   * ```ts
   * const results = pool.map((x) => x * 2, [1, 2, 3]);
   * pool.close();
   * await results; // [2, 4, 6]: submitted before close()
   * await pool.join();
   * ```
   */
  close(): void {
    this.#applies.flush();
    if (this.#state === 'running') this.#state = 'closed';
  }

  /**
   * Stops now: every unfinished call rejects with `PoolStateError`. Resolves once no native
   * thread touches the calls' buffers any more.
   * @example
   * ```ts
   * const pending = pool.apply(() => { for (;;); });
   * await pool.terminate(); // pending rejects with PoolStateError
   * pool.state;             // 'terminated'
   * ```
   */
  async terminate(): Promise<void> {
    this.#applies.flush();
    this.#state = 'terminated';
    const calls = [...this.#calls];
    const terminated = () => new PoolStateError('Pool was terminated before the call finished', 'ERR_POOL_TERMINATED');
    for (const call of calls) call.cancel(terminated());
    await Promise.all([...calls.map((c) => c.drained), this.#group?.close(), this.#cluster?.cancelAll(terminated())]);
    await this.#cluster?.close();
  }

  /**
   * Waits for all submitted work to finish and the workers to exit; only after
   * {@link close} or {@link terminate}.
   * @example
   * ```ts
   * pool.close();
   * await pool.join(); // every call made before close() has settled
   * ```
   */
  async join(): Promise<void> {
    if (this.#state === 'running') throw new PoolStateError('Pool is still running: call close() or terminate() before join()', 'ERR_POOL_RUNNING');
    while (this.#calls.size > 0) await Promise.all([...this.#calls].map((c) => c.drained));
    await this.#cluster?.drain();
    await Promise.all([this.#group?.close(this.#state === 'closed'), this.#cluster?.close()]);
  }

  /**
   * `await using pool = new Pool()`: closes the pool, then joins it (no result is lost).
   * @example
   * ```ts
   * {
   *   await using pool = new Pool();
   *   console.log(await pool.map((x) => x * x, [1, 2, 3]));
   * } // pool.close() and await pool.join() here
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.join();
  }

  #assertRunning(method: string): void {
    if (this.#state !== 'running') throw new PoolStateError(`Pool not running (it is ${this.#state}); ${method}() needs a running pool`, 'ERR_POOL_NOT_RUNNING');
  }

  /**
   * Starts a native call and settles with its result, honouring `signal`, `timeout`,
   * `onProgress` and `terminate()`. `start` returns the value when the call ran inline.
   */
  #run<T>(o: CallOptions, total: number, start: (id: number) => T | Promise<T>): Promise<T> | T {
    const refused = Call.refusal(o);
    if (refused !== undefined) throw refused;
    const id = nextCallId();
    let started: T | Promise<T>;
    try {
      started = start(id);
    } catch (err) {
      throw fromNative(err);
    }
    if (!(started instanceof Promise)) {
      o.onProgress?.(total, total);
      return started;
    }
    return new KernelCall<T>(this.#calls, o, total, id, started).promise;
  }
}

/** A kernel call on the native pool (see {@link Call}): settles with its native promise;
 * stays registered until that has settled, since until then native threads may touch its
 * arrays. */
class KernelCall<T> extends Call {
  readonly promise: Promise<T>;
  #resolve!: (value: T) => void;
  #reject!: (error: Error) => void;
  readonly #id: number;

  constructor(calls: Set<PendingCall>, o: CallOptions, total: number, id: number, pending: Promise<T>) {
    super(
      calls,
      o,
      total,
      undefined,
      pending.then(
        () => undefined,
        () => undefined,
      ),
    );
    this.#id = id;
    this.promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.begin(true);
    this.watchProgress(() => native.kernelProgress(id), PROGRESS_INTERVAL_MS);
    pending.then(
      (value) => this.succeed(value),
      (err) => this.reject(fromNative(err)),
    );
  }

  protected stop(): void {
    native.cancelKernel(this.#id);
  }

  protected resolved(value: unknown): void {
    this.#resolve(value as T);
  }

  protected rejected(error: Error): void {
    this.#reject(error);
  }
}

/** An express call its caller stopped polling for (see {@link Call}): registered until the
 * worker's note (or its death) settles it; `terminate()` rejects it at once. */
class ExpressWait extends Call {
  readonly #call: ExpressCall & { settled: false };

  constructor(calls: Set<PendingCall>, call: ExpressCall & { settled: false }) {
    super(calls, undefined, 1);
    this.#call = call;
    this.begin(false);
  }

  protected stop(): void {}
  protected resolved(): void {}

  protected rejected(error: Error): void {
    this.#call.cancel(error);
  }
}

/** Runs `work` now and turns its value, promise or exception into a promise. */
function promised<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (err) {
    return Promise.reject(err);
  }
}

function checkPoolOptions(options: unknown): PoolOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`Pool options must be a number of processes or an object, got ${describe(options)}`);
  }
  const known = ['processes', 'initializer', 'initargs', 'maxTasksPerChild', 'resourceLimits', 'inline', 'cluster'];
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new TypeError(`Pool: options.${key} is not an option (known: ${known.join(', ')})`);
  }
  return options as PoolOptions;
}

/** A call's `opts.args`, checked and encoded once for all its jobs (none when empty). */
function callArgs(o: CallOptions, method: string): CallArgs | undefined {
  return o.args === undefined || o.args.length === 0 ? undefined : encodeCallArgs(o.args, method);
}

/** The parameters of a reduction without an element-wise kernel first (unused). */
const NO_PARAMS = [0, 0] as const;

function mapKernelArg(fn: unknown, method: string, name = 'fn'): MapKernel {
  if (isKernel(fn)) {
    if (fn.kind === 'map') return fn;
    throw new TypeError(`${method}: ${name} is kernels.${fn.name}, a reduction; use pool.reduce(kernels.${fn.name}, input)`);
  }
  throw new TypeError(`${method}: ${name} must be a kernel such as kernels.square, got ${describe(fn)}`);
}

/**
 * A new output for a map of `data` that writes every element: of its type for floats, a
 * Float64Array for integers. Large ones come from the addon without zero-filling (see
 * crates/node/src/outputs.rs); all are ordinary, transferable ArrayBuffers.
 */
function newLike(data: FloatArray | Int32Array): FloatArray {
  const f32 = data instanceof Float32Array;
  const unfilled = native.allocOutput(f32 ? FloatArrayKind.Float32 : FloatArrayKind.Float64, data.length);
  return unfilled ?? (f32 ? new Float32Array(data.length) : new Float64Array(data.length));
}

function checkOut(out: unknown, data: FloatArray): FloatArray {
  const expected = data instanceof Float32Array ? 'Float32Array' : 'Float64Array';
  if (!isFloatArray(out) || out.constructor !== data.constructor) {
    throw new TypeError(`map: opts.out must be a ${expected} like the input, got ${describe(out)}`);
  }
  checkFixedBuffer(out, 'opts.out');
  if (out.length !== data.length) {
    throw new RangeError(`map: opts.out has length ${out.length} but the input has length ${data.length}`);
  }
  return out;
}
