/**
 * `Pool`: Python's `multiprocessing.Pool` for Node.js.
 * @module
 */
import { AsyncResult, type AsyncCallbacks } from './async-result';
import { PoolStateError } from '../engine/errors';
import type { PendingCall } from '../engine/lifecycle';
import { describe } from '../util/describe';
import { isKernel, type MapKernel, type ReduceKernel } from './kernels';
import { type ExprInputs, type ExprKernel, type ExprResult, isExprKernel } from './expr';
import { imapExpr } from './expr-run';
import { isTask, shipFunction } from './task';
import { type CallSite, captureCallSite, withCallSite } from '../engine/callsite';
import type { FnSpec } from '../wire/protocol';
import { type PoolStats, WORKER_ID_LIMIT } from '../engine/worker-group';
import type { ResourceLimits } from 'node:worker_threads';
import type { ClusterClient } from '../cluster/client';
import {
  type CallOptions,
  type FloatArray,
  type IntegerArray,
  checkPoolOptions,
  optionalArray,
  optionalBoolean,
  optionalObject,
  positiveInteger,
  sendableArgs,
} from '../engine/options';
import { promised } from '../util/thenable';
import { checkImap, JsCalls } from './pool-js';
import { checkReduceKernel, type KernelPool, mapKernel, mapKernelArg, reduceKernel } from './pool-kernels';
import { cpuCount, type KernelMapOptions, type KernelReduceOptions, type PoolOptions, type PoolState, type TaskFn } from './pool-types';

export { cpuCount };
export type { KernelMapOptions, KernelReduceOptions, PoolOptions, PoolState, PoolStats, TaskFn };

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
  /** Calls of JS functions on this machine's workers. */
  readonly #js: JsCalls;
  /** What kernel calls need of the pool. */
  readonly #kernels: KernelPool;
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
    const opts = checkPoolOptions(options);
    this.#processes = opts.processes === undefined ? cpuCount() : positiveInteger(opts.processes, 'processes');
    const maxTasksPerChild = opts.maxTasksPerChild === undefined ? undefined : positiveInteger(opts.maxTasksPerChild, 'maxTasksPerChild');
    this.#initializer = opts.initializer === undefined ? undefined : shipFunction(opts.initializer, 'initializer');
    optionalArray(opts.initargs, 'initargs');
    const initargs = opts.initargs === undefined ? [] : [...(opts.initargs as unknown[])];
    sendableArgs(initargs, 'initargs cannot be sent to the workers', 'initargs');
    optionalObject(opts.resourceLimits, 'resourceLimits');
    optionalBoolean(opts.inline, 'inline');
    const idLimit = (opts as { [WORKER_ID_LIMIT]?: unknown })[WORKER_ID_LIMIT];
    this.#js = new JsCalls({
      processes: this.#processes,
      initializer: this.#initializer,
      initargs,
      maxTasksPerChild,
      resourceLimits: opts.resourceLimits as ResourceLimits | undefined,
      inline: (opts.inline as boolean | undefined) ?? false,
      idLimit: typeof idLimit === 'number' ? idLimit : undefined,
      calls: this.#calls,
    });
    this.#kernels = { processes: this.#processes, calls: this.#calls };
    this.#cluster =
      opts.cluster === undefined
        ? undefined
        : new (require('../cluster/client') as typeof import('../cluster/client')).ClusterClient(opts.cluster, {
            initializer: this.#initializer,
            initargs,
            maxTasksPerChild,
            resourceLimits: opts.resourceLimits as ResourceLimits | undefined,
          });
    // With an initializer, the workers start now, as Python's do (it may set up what the
    // program expects to exist even if no task comes); without one, on the first call. (In
    // cluster mode the hosts run the initializer.)
    if (this.#initializer !== undefined && this.#cluster === undefined) this.#js.start();
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
    return this.#js.group?.stats() ?? { workers: 0, busy: 0, pendingCalls: 0, pendingChunks: 0, chunksDone: 0, heapUsed: [], heapTotal: [] };
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
      return mapKernel(this.#kernels, kernel, input, opts);
    });
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
      const { kernel, o, pre } = checkReduceKernel(fn, opts);
      if (this.#cluster) return this.#cluster.reduceKernel(kernel, pre, o.initial, input, o);
      return reduceKernel(this.#kernels, kernel, pre, input, o);
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
        return this.#js.apply(fn, args === undefined ? [] : [...args]) as R | Promise<R>;
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
    if (callbacks !== undefined || this.#cluster || this.#state !== 'running' || !(args === undefined || Array.isArray(args))) return new AsyncResult(this.apply(fn, args), callbacks);
    return this.#js.applyAsync(fn, args) as AsyncResult<R>;
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
    const call = checkImap(fn, input, opts, method);
    if (this.#cluster) return this.#cluster.imap(fn, input, call.o, ordered, method);
    return this.#js.imap(call, input, ordered, method, site);
  }

  /** The value of a JS map now (a small map the express lane settled), or a promise of it. */
  #mapJs(fn: unknown, input: unknown, opts: CallOptions | undefined, star: boolean, method: string): unknown {
    this.#assertRunning(method);
    if (this.#cluster) return this.#cluster.mapJs(fn, input, opts, star, method);
    return this.#js.map(fn, input, opts, star, method);
  }

  #reduceJs(fn: unknown, input: unknown, opts: unknown): Promise<unknown> {
    this.#assertRunning('reduce');
    if (this.#cluster) return this.#cluster.reduceJs(fn, input, opts);
    return this.#js.reduce(fn, input, opts);
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
    this.#js.flush();
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
    this.#js.flush();
    this.#state = 'terminated';
    const calls = [...this.#calls];
    const terminated = () => new PoolStateError('Pool was terminated before the call finished', 'ERR_POOL_TERMINATED');
    for (const call of calls) call.cancel(terminated());
    await Promise.all([...calls.map((c) => c.drained), this.#js.group?.close(), this.#cluster?.cancelAll(terminated())]);
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
    await Promise.all([this.#js.group?.close(this.#state === 'closed'), this.#cluster?.close()]);
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

}
