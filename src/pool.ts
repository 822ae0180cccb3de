/**
 * `Pool`: Python's `multiprocessing.Pool` for Node.js.
 * @module
 */
import { AbortError, PoolStateError, TimeoutError } from './errors';
import { describe, isKernel, type MapKernel, type ReduceKernel } from './kernels';
import { native } from './native';
import {
  type CallOptions,
  type FloatArray,
  checkFixedBuffer,
  checkOptions,
  isFloatArray,
  numericInput,
  positiveInteger,
} from './validate';

/** `'running'`, then `'closed'` after {@link Pool.close} or `'terminated'` after {@link Pool.terminate}. */
export type PoolState = 'running' | 'closed' | 'terminated';

/** Options of {@link Pool}'s constructor. */
export interface PoolOptions {
  /** The number of workers; defaults to {@link cpuCount}(). Kernel calls use at most this many threads. */
  processes?: number;
  /** Run once in every worker before its first JS task, with `initargs`. */
  initializer?: ((...args: any[]) => unknown) | object;
  /** Arguments of `initializer`. */
  initargs?: readonly unknown[];
  /** A worker is replaced after this many chunks of JS tasks. */
  maxTasksPerChild?: number;
}

/** Options of {@link Pool.map} with a kernel. */
export interface KernelMapOptions<Out extends FloatArray = FloatArray> extends CallOptions {
  /** Write the results here (same type and length as the input; may be the input itself). */
  out?: Out;
}

/** Options of {@link Pool.reduce} with a kernel. */
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
 * const pool = new Pool(cpuCount());
 */
export function cpuCount(): number {
  return native.cpuCount();
}

/** A call whose chunks are on the native pool. */
interface PooledCall {
  /** Rejects the call now with `error` and cancels its unstarted chunks. */
  cancel(error: Error): void;
  /** Settles once no pool thread touches the call's buffers any more. */
  readonly drained: Promise<unknown>;
}

/** How often a pooled kernel call with `onProgress` reports. */
const PROGRESS_INTERVAL_MS = 50;

let lastCallId = 0;

function nextCallId(): number {
  lastCallId = lastCallId >= 0xffff_fffe ? 1 : lastCallId + 1;
  return lastCallId;
}

/** Turns the addon's errors into the JS errors they stand for. */
function fromNative(err: unknown): Error {
  const e = err as Error & { code?: string };
  if (e && e.code === 'InvalidArg') return new TypeError(e.message);
  return e instanceof Error ? e : new Error(String(err));
}

/**
 * A pool of workers: Python's `multiprocessing.Pool`, with Promises. Built-in
 * {@link kernels} run on a process-wide native thread pool sized to the CPU count.
 *
 * @example
 * import { Pool, kernels } from 'ferropool';
 * const pool = new Pool();                        // or new Pool(4), new Pool({ processes: 4 })
 * const out = await pool.map(kernels.square, new Float64Array(10_000_000));
 * await pool.close(); await pool.join();
 */
export class Pool {
  readonly #processes: number;
  #state: PoolState = 'running';
  readonly #calls = new Set<PooledCall>();

  constructor(options?: PoolOptions | number) {
    const opts: PoolOptions = typeof options === 'number' ? { processes: options } : checkPoolOptions(options);
    this.#processes = opts.processes === undefined ? cpuCount() : positiveInteger(opts.processes, 'processes');
    if (opts.maxTasksPerChild !== undefined) positiveInteger(opts.maxTasksPerChild, 'maxTasksPerChild');
    if (opts.initializer !== undefined && typeof opts.initializer !== 'function' && (typeof opts.initializer !== 'object' || opts.initializer === null)) {
      throw new TypeError(`initializer must be a function or a task(), got ${describe(opts.initializer)}`);
    }
    if (opts.initargs !== undefined && !Array.isArray(opts.initargs)) {
      throw new TypeError(`initargs must be an array, got ${describe(opts.initargs)}`);
    }
  }

  /** The number of workers. */
  get processes(): number {
    return this.#processes;
  }

  /** `'running'`, `'closed'` or `'terminated'`. */
  get state(): PoolState {
    return this.#state;
  }

  /**
   * Applies `fn` to every element of `input`, in parallel; the results are in input order.
   * With a kernel, a `Float64Array` gives a `Float64Array` (likewise `Float32Array`), an
   * array or iterable of numbers gives `number[]`, and `opts.out` receives the results.
   *
   * The input's memory is read in place by native threads: do not transfer, detach or
   * resize its buffer (or `opts.out`'s) until the returned promise settles.
   *
   * @example
   * const roots = await pool.map(kernels.sqrt, new Float32Array([1, 4, 9])); // Float32Array [1, 2, 3]
   * await pool.map(kernels.neg, data, { out: data });                        // in place
   */
  map(fn: MapKernel, input: Float64Array, opts?: KernelMapOptions<Float64Array>): Promise<Float64Array>;
  map(fn: MapKernel, input: Float32Array, opts?: KernelMapOptions<Float32Array>): Promise<Float32Array>;
  map<Out extends FloatArray>(fn: MapKernel, input: Iterable<number> | AsyncIterable<number>, opts: KernelMapOptions<Out> & { out: Out }): Promise<Out>;
  map(fn: MapKernel, input: Iterable<number> | AsyncIterable<number>, opts?: KernelMapOptions<Float64Array>): Promise<number[]>;
  map(fn: MapKernel, input: unknown, opts?: KernelMapOptions): Promise<FloatArray | number[]> {
    return promised(() => {
      this.#assertRunning('map');
      const kernel = mapKernelArg(fn, 'map');
      const o = checkOptions<KernelMapOptions>(opts, 'map', ['out']);
      const data = numericInput(input, 'map');
      return data instanceof Promise ? data.then((d) => this.#mapKernel(kernel, d, o, input)) : this.#mapKernel(kernel, data, o, input);
    });
  }

  #mapKernel(kernel: MapKernel, data: FloatArray, o: KernelMapOptions, input: unknown): FloatArray | number[] | Promise<FloatArray | number[]> {
    const out = o.out === undefined ? newLike(data) : checkOut(o.out, data);
    const [p0, p1] = kernel.params;
    const result = () => (o.out !== undefined || isFloatArray(input) ? out : Array.from(out));
    const done = this.#run(o, data.length, (id) =>
      native.mapKernel(id, kernel.code, p0, p1, data, out, o.chunksize ?? 0, this.#processes),
    );
    return done instanceof Promise ? done.then(result) : result();
  }

  /**
   * Reduces `input` to one number with a reduction kernel, in parallel. Chunk results are
   * combined in chunk order, so the answer is the same on every run and machine for a
   * given input and `chunksize`. `opts.map` applies an element-wise kernel first.
   *
   * @example
   * const total = await pool.reduce(kernels.sum, data);
   * const sumOfSquares = await pool.reduce(kernels.sum, data, { map: kernels.square });
   * const lowest = await pool.reduce(kernels.min, data, { initial: 0 });
   */
  reduce(fn: ReduceKernel, input: FloatArray | Iterable<number> | AsyncIterable<number>, opts?: KernelReduceOptions): Promise<number> {
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
      const pre = o.map === undefined ? undefined : mapKernelArg(o.map, 'reduce', 'opts.map');
      if (o.initial !== undefined) {
        if (typeof o.initial !== 'number') throw new TypeError(`reduce: opts.initial must be a number, got ${describe(o.initial)}`);
        if (fn.name === 'mean') throw new TypeError('reduce: opts.initial cannot be used with kernels.mean');
      }
      const [preCode, p0, p1] = pre ? [pre.code, ...pre.params] : [-1, 0, 0];
      const reduceData = (data: FloatArray) =>
        this.#run(o, data.length, (id) =>
          native.reduceKernel(id, fn.code, preCode, p0, p1, data, o.initial ?? null, o.chunksize ?? 0, this.#processes),
        );
      const data = numericInput(input, 'reduce');
      return data instanceof Promise ? data.then(reduceData) : reduceData(data);
    });
  }

  /** No new work is accepted; work already submitted finishes. */
  close(): void {
    if (this.#state === 'running') this.#state = 'closed';
  }

  /**
   * Stops now: every unfinished call rejects with `PoolStateError`. Resolves once no native
   * thread touches the calls' buffers any more.
   */
  async terminate(): Promise<void> {
    this.#state = 'terminated';
    const calls = [...this.#calls];
    for (const call of calls) call.cancel(new PoolStateError('Pool was terminated before the call finished'));
    await Promise.all(calls.map((c) => c.drained));
  }

  /** Waits for all submitted work to finish; only after {@link close} or {@link terminate}. */
  async join(): Promise<void> {
    if (this.#state === 'running') throw new PoolStateError('Pool is still running: call close() or terminate() before join()');
    while (this.#calls.size > 0) await Promise.all([...this.#calls].map((c) => c.drained));
  }

  /** `await using pool = new Pool()`: closes the pool, then joins it (no result is lost). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.join();
  }

  #assertRunning(method: string): void {
    if (this.#state !== 'running') throw new PoolStateError(`Pool not running (it is ${this.#state}); ${method}() needs a running pool`);
  }

  /**
   * Starts a native call and settles with its result, honouring `signal`, `timeout`,
   * `onProgress` and `terminate()`. `start` returns the value when the call ran inline.
   */
  #run<T>(o: CallOptions, total: number, start: (id: number) => T | Promise<T>): Promise<T> | T {
    const signal = o.signal;
    if (signal?.aborted) throw new AbortError('The operation was aborted', { cause: signal.reason });
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
    const pending = started;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (action: () => void) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if (timer !== undefined) clearTimeout(timer);
        if (progress !== undefined) clearInterval(progress);
        action();
      };
      const call: PooledCall = {
        cancel: (error) => {
          native.cancelKernel(id);
          settle(() => reject(error));
        },
        drained: pending.then(
          () => undefined,
          () => undefined,
        ),
      };
      const onAbort = () => call.cancel(new AbortError('The operation was aborted', { cause: signal?.reason }));
      signal?.addEventListener('abort', onAbort, { once: true });
      const timer =
        o.timeout !== undefined && o.timeout !== Infinity
          ? setTimeout(() => call.cancel(new TimeoutError(`The call did not finish within its timeout of ${o.timeout} ms`)), o.timeout)
          : undefined;
      let reported = 0;
      const progress = o.onProgress
        ? setInterval(() => {
            const done = Math.floor(total * native.kernelProgress(id));
            if (done > reported && done < total) o.onProgress?.((reported = done), total);
          }, PROGRESS_INTERVAL_MS)
        : undefined;
      progress?.unref();
      this.#calls.add(call);
      void call.drained.then(() => this.#calls.delete(call));
      pending.then(
        (value) =>
          settle(() => {
            try {
              o.onProgress?.(total, total);
            } finally {
              resolve(value);
            }
          }),
        (err) => settle(() => reject(fromNative(err))),
      );
    });
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
  const known = ['processes', 'initializer', 'initargs', 'maxTasksPerChild'];
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new TypeError(`Pool: options.${key} is not an option (known: ${known.join(', ')})`);
  }
  return options as PoolOptions;
}

function mapKernelArg(fn: unknown, method: string, name = 'fn'): MapKernel {
  if (isKernel(fn)) {
    if (fn.kind === 'map') return fn;
    throw new TypeError(`${method}: ${name} is kernels.${fn.name}, a reduction; use pool.reduce(kernels.${fn.name}, input)`);
  }
  if (typeof fn === 'function') {
    throw new TypeError(
      `${method}: ${name} is a JS function; this version of ferropool runs only the built-in kernels (kernels.square, kernels.affine(a, b), …)`,
    );
  }
  throw new TypeError(`${method}: ${name} must be a kernel such as kernels.square, got ${describe(fn)}`);
}

function newLike(data: FloatArray): FloatArray {
  return data instanceof Float32Array ? new Float32Array(data.length) : new Float64Array(data.length);
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
