/**
 * Argument checking shared by every public method: each error names the argument.
 * @internal
 */
import { describe } from '../util/describe';

/**
 * The options every work method takes.
 * @example
 * ```ts
 * const ac = new AbortController();
 * const results = await pool.map((x) => x * x, items, {
 *   chunksize: 100,
 *   signal: ac.signal,  // ac.abort() rejects the call with AbortError
 *   timeout: 60_000,    // TimeoutError after a minute of work
 *   onProgress: (done, total) => console.log(`${done}/${total}`),
 * });
 * ```
 */
export interface CallOptions {
  /** Elements per chunk (a positive integer); the pool chooses when omitted. */
  chunksize?: number;
  /** Aborting it rejects the call with `AbortError` and stops its unstarted chunks. */
  signal?: AbortSignal;
  /** Milliseconds, counted from when the work starts; then the call rejects with `TimeoutError`. `Infinity` means none. */
  timeout?: number;
  /** Called with (elements done, total elements) as the work advances (every 50 ms for kernels on the pool), and once with (total, total) at the end. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Extra arguments passed after the item, `fn(x, ...args)` (for `starmap`,
   * `fn(...tuple, ...args)`): sent once per call to each worker that runs it, not once per
   * item (Python's `functools.partial`). Typed arrays over a `SharedArrayBuffer` (see
   * `sharedArray`), `Lock`, `Value` and `Queue` are shared; anything else is copied as
   * structured clone copies it. JS functions only: a kernel takes no extra arguments.
   */
  args?: readonly unknown[];
}

const COMMON = ['chunksize', 'signal', 'timeout', 'onProgress', 'args'] as const;

/** Checks `opts` of `method`, allowing `extra` keys besides the common ones. */
export function checkOptions<T extends CallOptions>(opts: unknown, method: string, extra: readonly string[] = []): T {
  if (opts === undefined || opts === null) return {} as T;
  if (typeof opts !== 'object' || Array.isArray(opts)) {
    throw new TypeError(`${method}: opts must be an object, got ${describe(opts)}`);
  }
  const o = opts as Record<string, unknown>;
  for (const key in o) {
    if (!Object.hasOwn(o, key)) continue;
    if (!(COMMON as readonly string[]).includes(key) && !extra.includes(key)) {
      const known = [...COMMON, ...extra].join(', ');
      throw new TypeError(`${method}: opts.${key} is not an option (known: ${known})`);
    }
  }
  if (o.chunksize !== undefined) positiveInteger(o.chunksize, `${method}: opts.chunksize`);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new TypeError(`${method}: opts.signal must be an AbortSignal, got ${describe(o.signal)}`);
  }
  if (o.timeout !== undefined) {
    if (typeof o.timeout !== 'number') {
      throw new TypeError(`${method}: opts.timeout must be a number of milliseconds, got ${describe(o.timeout)}`);
    }
    if (!(o.timeout >= 0) || (o.timeout > 0x7fffffff && o.timeout !== Infinity)) {
      throw new RangeError(`${method}: opts.timeout must be between 0 and 2147483647 ms, or Infinity, got ${o.timeout}`);
    }
  }
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') {
    throw new TypeError(`${method}: opts.onProgress must be a function, got ${describe(o.onProgress)}`);
  }
  if (o.args !== undefined && !Array.isArray(o.args)) {
    throw new TypeError(`${method}: opts.args must be an array of extra arguments, got ${describe(o.args)}`);
  }
  return o as T;
}

/** Returns `value` if it is a positive safe integer, else throws a RangeError naming `name`. */
export function positiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${describe(value)}`);
  }
  return value;
}

/** A typed array the kernels run over. */
export type FloatArray = Float64Array | Float32Array;

/**
 * The typed arrays of integers: a map of a JS function over one gives an array of its type
 * when the results are all numbers (converted as the typed array's own `map` does).
 * @example
 * ```ts
 * const doubled: Int32Array = await pool.map((x) => x * 2, Int32Array.of(1, 2, 3)); // Int32Array [2, 4, 6]
 * ```
 */
export type IntegerArray = Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array;

/** Whether `value` is a Float64Array or Float32Array. */
export function isFloatArray(value: unknown): value is FloatArray {
  return value instanceof Float64Array || value instanceof Float32Array;
}

/**
 * Rejects buffers whose memory may move or vanish while pool threads use it: resizable
 * ones, and detached ones (also caught natively; an empty view needs this JS check, since
 * it never reaches the addon).
 */
export function checkFixedBuffer(view: FloatArray, name: string): void {
  if (view.byteLength === 0) {
    try {
      new Uint8Array(view.buffer, 0, 0); // throws on a detached buffer
    } catch {
      throw new TypeError(`${name}'s ArrayBuffer is detached`);
    }
  }
  const buffer = view.buffer as ArrayBufferLike & { resizable?: boolean; growable?: boolean };
  if (buffer.resizable === true || buffer.growable === true) {
    throw new TypeError(
      `${name} is backed by a resizable ArrayBuffer, whose memory may move while the pool reads it; pass a copy (${name}.slice())`,
    );
  }
}

/** Throws a TypeError when `o.args` is given to a call that takes no extra arguments. */
export function refuseArgs(o: CallOptions, method: string, why: string): void {
  if (o.args !== undefined) throw new TypeError(`${method}: opts.args cannot be used here: ${why}`);
}
