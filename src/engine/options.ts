/**
 * Options, in one place: the names each public constructor and method takes, and their
 * checks (each error names the option). The constructors of `Pool`, `Executor` and `Process`
 * and cluster mode's client take their options through here; so does every work method.
 * @internal
 */
import { describe } from '../util/describe';
import { encodeValue } from '../wire/payloads';
import { cloneMessage } from '../util/clone';

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

/** The options of every work method (`checkOptions` adds a method's own). */
const COMMON = ['chunksize', 'signal', 'timeout', 'onProgress', 'args'] as const;
/** The options of `new Pool()`. */
const POOL = ['processes', 'initializer', 'initargs', 'maxTasksPerChild', 'resourceLimits', 'inline', 'cluster'] as const;
/** The options of `new Executor()`. */
const EXECUTOR = ['maxWorkers', 'initializer', 'initargs', 'maxTasksPerChild'] as const;
/** The options of `new Process()`. */
const PROCESS = ['target', 'args', 'name', 'daemon', 'resourceLimits'] as const;
/** The options of a pool's `cluster` option (a worker host's are checked by {@link checkServeOptions}). */
const CLUSTER = ['connection', 'queue', 'secret', 'maxRetries', 'connectTimeout', 'maxInFlight', 'hostTimeout'] as const;

/** Throws `message(key, known)` for the first own key of `options` that is not in `known`. */
function refuseUnknown(options: object, known: readonly string[], message: (key: string, known: string) => string): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new TypeError(message(key, known.join(', ')));
  }
}

/** Checks `opts` of `method`, allowing `extra` keys besides the common ones. */
export function checkOptions<T extends CallOptions>(opts: unknown, method: string, extra: readonly string[] = []): T {
  if (opts === undefined || opts === null) return {} as T;
  if (typeof opts !== 'object' || Array.isArray(opts)) {
    throw new TypeError(`${method}: opts must be an object, got ${describe(opts)}`);
  }
  const o = opts as Record<string, unknown>;
  refuseUnknown(o, [...COMMON, ...extra], (key, known) => `${method}: opts.${key} is not an option (known: ${known})`);
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

/** Throws a TypeError unless `value` (the option `name`) is undefined or an array. */
export function optionalArray(value: unknown, name: string): void {
  if (value !== undefined && !Array.isArray(value)) throw new TypeError(`${name} must be an array, got ${describe(value)}`);
}

/** Throws a TypeError unless `value` (the option `name`) is undefined or a boolean. */
export function optionalBoolean(value: unknown, name: string): void {
  if (value !== undefined && typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(value)}`);
}

/** Throws a TypeError unless `value` (the option `name`) is undefined or a string. */
export function optionalString(value: unknown, name: string): void {
  if (value !== undefined && typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${describe(value)}`);
}

/** Throws a TypeError unless `value` (the option `name`) is undefined or an object. */
export function optionalObject(value: unknown, name: string): void {
  if (value !== undefined && (typeof value !== 'object' || value === null)) throw new TypeError(`${name} must be an object, got ${describe(value)}`);
}

/** `args` encoded as they go to another thread, or a TypeError that begins with `what` and
 * names the part that could not be cloned as a part of `name` (`initargs[0].socket`). */
export function sendableArgs(args: readonly unknown[], what: string, name: string, refs: Map<number, SharedArrayBuffer> = new Map()): Buffer {
  try {
    return encodeValue(args, refs);
  } catch (err) {
    throw new TypeError(`${what}: ${cloneMessage(name, err)} (send structured-clone values; Lock, Value, Queue and SharedArrayBuffers are shared)`, { cause: err });
  }
}

/** The options of `new Pool(options)`, checked, with the number of processes when `options` is one. */
export function checkPoolOptions(options: unknown): Record<(typeof POOL)[number], unknown> {
  if (typeof options === 'number') return { processes: options } as Record<(typeof POOL)[number], unknown>;
  if (options === undefined) return {} as Record<(typeof POOL)[number], unknown>;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`Pool options must be a number of processes or an object, got ${describe(options)}`);
  }
  refuseUnknown(options, POOL, (key, known) => `Pool: options.${key} is not an option (known: ${known})`);
  return options as Record<(typeof POOL)[number], unknown>;
}

/** The options of `new Executor(options)`, checked, as the Pool options they become. */
export function checkExecutorOptions(options: unknown): { processes: number | undefined; initializer: unknown; initargs: unknown; maxTasksPerChild: unknown } {
  if (typeof options !== 'object' || options === null) throw new TypeError(`Executor options must be an object, got ${describe(options)}`);
  refuseUnknown(options, EXECUTOR, (key, known) => `Executor: options.${key} is not an option (known: ${known})`);
  const o = options as Record<(typeof EXECUTOR)[number], unknown>;
  const processes = o.maxWorkers === undefined ? undefined : positiveInteger(o.maxWorkers, 'maxWorkers');
  return { processes, initializer: o.initializer, initargs: o.initargs, maxTasksPerChild: o.maxTasksPerChild };
}

/** The options of `new Process(options)`: an object of known names (each is checked where it is used). */
export function checkProcessOptions(options: unknown): Record<(typeof PROCESS)[number], unknown> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Process: options must be an object { target, args? }, got ${describe(options)}`);
  }
  refuseUnknown(options, PROCESS, (key, known) => `Process: unknown option ${JSON.stringify(key)} (known: ${known})`);
  return options as Record<(typeof PROCESS)[number], unknown>;
}

/** A pool's `cluster` option, checked, with its defaults filled in. */
export interface ClusterSettings {
  connection: string;
  queue: string;
  secret: string | undefined;
  maxRetries: number;
  maxInFlight: number;
  connectTimeout: number;
  hostTimeout: number;
}

/** Checks a pool's `cluster` option (its connection is checked when the transport opens it). */
export function checkClusterOptions(options: unknown): ClusterSettings {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`Pool: options.cluster must be an object with connection and queue, got ${describe(options)}`);
  }
  refuseUnknown(options, CLUSTER, (key, known) => `Pool: options.cluster.${key} is not an option (known: ${known})`);
  const o = options as Record<(typeof CLUSTER)[number], unknown>;
  if (typeof o.queue !== 'string' || o.queue.length === 0 || o.queue.includes(':')) {
    throw new TypeError(`Pool: options.cluster.queue must be a non-empty string without ':', got ${describe(o.queue)}`);
  }
  const secret = o.secret ?? (process.env.FERROPOOL_SECRET || undefined);
  if (secret !== undefined && (typeof secret !== 'string' || secret.length === 0)) {
    throw new TypeError(`Pool: options.cluster.secret must be a non-empty string, got ${describe(secret)}`);
  }
  const maxRetries = o.maxRetries === undefined ? 2 : nonNegative(o.maxRetries, 'options.cluster.maxRetries');
  const maxInFlight = o.maxInFlight === undefined ? 256 : positiveInteger(o.maxInFlight, 'options.cluster.maxInFlight');
  const connectTimeout = o.connectTimeout === undefined ? 5000 : positiveInteger(o.connectTimeout, 'options.cluster.connectTimeout');
  const hostTimeout = o.hostTimeout === undefined || o.hostTimeout === Infinity ? ((o.hostTimeout as number | undefined) ?? 30_000) : positiveInteger(o.hostTimeout, 'options.cluster.hostTimeout');
  return { connection: o.connection as string, queue: o.queue, secret: secret as string | undefined, maxRetries, maxInFlight, connectTimeout, hostTimeout };
}

function nonNegative(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new RangeError(`Pool: ${name} must be a non-negative integer, got ${describe(value)}`);
  return value;
}

/** A cluster worker host's options (`serve()` of ferropool/cluster), checked, with their
 * defaults (`processes` undefined: the CPU count). Its connection is checked when the
 * transport opens it. */
export function checkServeOptions(options: unknown): { queue: string; processes: number | undefined; secret: string | undefined; lockDuration: number; stalledInterval: number } {
  if (typeof options !== 'object' || options === null) throw new TypeError('serve: options must be an object with connection and queue');
  const o = options as Record<string, unknown>;
  if (typeof o.queue !== 'string' || o.queue.length === 0) throw new TypeError(`serve: queue must be a non-empty string, got ${typeof o.queue}`);
  const processes = o.processes === undefined ? undefined : servePositive(o.processes, 'processes', 0);
  const secret = o.secret ?? (process.env.FERROPOOL_SECRET || undefined);
  if (secret !== undefined && (typeof secret !== 'string' || secret.length === 0)) throw new TypeError('serve: secret must be a non-empty string');
  const lockDuration = servePositive(o.lockDuration, 'lockDuration', 5000);
  const stalledInterval = servePositive(o.stalledInterval, 'stalledInterval', 3000);
  return { queue: o.queue, processes, secret: secret as string | undefined, lockDuration, stalledInterval };
}

function servePositive(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw new RangeError(`serve: ${name} must be a positive integer, got ${String(value)}`);
  return value;
}
