/**
 * The Pool's kernel calls on this machine: `map` and `reduce` with a built-in or expression
 * kernel, run by the addon on the process-wide native thread pool (or inline on the caller),
 * and the lifecycle of one such call ({@link KernelCall}). Pool (pool.ts) checks the pool's
 * state and hands cluster mode its calls; the rest come here.
 * @internal
 */
import { FloatArrayKind } from '../../native/index';
import { Call, type PendingCall } from '../engine/lifecycle';
import { numericInput } from '../engine/numbers';
import { type CallOptions, type FloatArray, checkFixedBuffer, checkOptions, isFloatArray, refuseArgs } from '../engine/options';
import { fromNative } from '../engine/remote';
import { describe } from '../util/describe';
import { native } from '../util/native';
import { isExprKernel } from './expr';
import { mapExpr, reduceExpr } from './expr-run';
import { isKernel, type MapKernel, type ReduceKernel } from './kernels';
import type { KernelMapOptions, KernelReduceOptions } from './pool-types';

/** What a kernel call needs from its pool. */
export interface KernelPool {
  /** Threads a call may use at most. */
  readonly processes: number;
  /** The pool's pending calls (which `terminate()` cancels and `join()` waits for). */
  readonly calls: Set<PendingCall>;
}

/** How often a pooled kernel call with `onProgress` reports. */
const PROGRESS_INTERVAL_MS = 50;

let lastCallId = 0;

function nextCallId(): number {
  lastCallId = lastCallId >= 0xffff_fffe ? 1 : lastCallId + 1;
  return lastCallId;
}

/** `fn` as the element-wise kernel of `method`'s argument `name`, or a TypeError. */
export function mapKernelArg(fn: unknown, method: string, name = 'fn'): MapKernel {
  if (isKernel(fn)) {
    if (fn.kind === 'map') return fn;
    throw new TypeError(`${method}: ${name} is kernels.${fn.name}, a reduction; use pool.reduce(kernels.${fn.name}, input)`);
  }
  throw new TypeError(`${method}: ${name} must be a kernel such as kernels.square, got ${describe(fn)}`);
}

/** `map(kernel, input, opts)` on this machine. */
export function mapKernel(pool: KernelPool, kernel: MapKernel, input: unknown, opts: unknown): unknown {
  const o = checkOptions<KernelMapOptions>(opts, 'map', ['out']);
  refuseArgs(o, 'map', 'a kernel takes no extra arguments (use kernels.expr constants, or a JS function)');
  if (isExprKernel(kernel)) return mapExpr(kernel, input, o, pool.processes, (total, start) => runKernel(pool, o, total, start));
  const data = numericInput(input, 'map');
  return data instanceof Promise ? data.then((d) => mapData(pool, kernel, d, o, input)) : mapData(pool, kernel, data, o, input);
}

function mapData(pool: KernelPool, kernel: MapKernel, data: FloatArray, o: KernelMapOptions, input: unknown): FloatArray | number[] | Promise<FloatArray | number[]> {
  const given = o.out === undefined ? undefined : checkOut(o.out, data);
  const [p0, p1] = kernel.params;
  // The output is made once the call may start (not for a call whose signal aborted).
  let out!: FloatArray;
  const result = () => (given !== undefined || isFloatArray(input) ? out : Array.from(out));
  const done = runKernel(pool, o, data.length, (id) => {
    out = given ?? newLike(data);
    return native.mapKernel(id, kernel.code, p0, p1, data, out, o.chunksize ?? 0, pool.processes);
  });
  return done instanceof Promise ? done.then(result) : result();
}

/** The checked options of `reduce(fn, input, opts)` with a kernel, and its `opts.map` kernel. */
export function checkReduceKernel(fn: unknown, opts: unknown): { kernel: ReduceKernel; o: KernelReduceOptions; pre: MapKernel | undefined } {
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
  return { kernel: fn, o, pre };
}

/** The parameters of a reduction without an element-wise kernel first (unused). */
const NO_PARAMS = [0, 0] as const;

/** `reduce(fn, input, o)` with a kernel on this machine, `pre` applied to each element first. */
export function reduceKernel(pool: KernelPool, fn: ReduceKernel, pre: MapKernel | undefined, input: unknown, o: KernelReduceOptions): unknown {
  if (pre !== undefined && isExprKernel(pre)) return reduceExpr(fn.code, pre, input, o.initial, o, pool.processes, (total, start) => runKernel(pool, o, total, start));
  const [p0, p1] = pre ? pre.params : NO_PARAMS;
  const reduceData = (data: FloatArray) =>
    runKernel(pool, o, data.length, (id) => native.reduceKernel(id, fn.code, pre?.code, p0, p1, data, o.initial ?? null, o.chunksize ?? 0, pool.processes));
  const data = numericInput(input, 'reduce');
  return data instanceof Promise ? data.then(reduceData) : reduceData(data);
}

/**
 * Starts a native call and settles with its result, honouring `signal`, `timeout`,
 * `onProgress` and `terminate()`. `start` returns the value when the call ran inline.
 */
function runKernel<T>(pool: KernelPool, o: CallOptions, total: number, start: (id: number) => T | Promise<T>): Promise<T> | T {
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
  return new KernelCall<T>(pool.calls, o, total, id, started).promise;
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

/**
 * A new output for a map of `data` that writes every element: of its type for floats, a
 * Float64Array for integers. Large ones come from the addon without zero-filling (see
 * crates/node/src/outputs.rs); all are ordinary, transferable ArrayBuffers.
 */
export function newLike(data: FloatArray | Int32Array): FloatArray {
  const f32 = data instanceof Float32Array;
  const unfilled = native.allocOutput(f32 ? FloatArrayKind.Float32 : FloatArrayKind.Float64, data.length);
  return unfilled ?? (f32 ? new Float32Array(data.length) : new Float64Array(data.length));
}

/** `opts.out` of a map of `data`, checked: a typed array like it, of its length. */
export function checkOut(out: unknown, data: FloatArray): FloatArray {
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
