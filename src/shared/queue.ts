/**
 * State shared by the main thread and every worker: Python's `multiprocessing.Lock`,
 * `Value` and `Queue`, each living in one `SharedArrayBuffer`. Passed to a task as an
 * argument (or in `initargs`, or in a `Process`'s `args`), the task gets an object over the
 * same memory: the same lock, the same counter, the same queue.
 * @module
 */
import { decodeAny, encodeAny } from '../util/codec';
import { describe } from '../util/describe';

/** The own property that marks a shared object's state when it crosses to a worker. */
const BRAND = 'ferropool';

/** What a shared object is when it travels: its kind, its memory and its settings. */
interface SharedState {
  [BRAND]: 'Lock' | 'Value' | 'Queue';
  buffer: SharedArrayBuffer;
  type?: ValueType;
}

/**
 * Options of the blocking calls.
 * @example
 * ```ts
 * const got = lock.acquire({ timeout: 100 });            // in a task: false after 100 ms
 * const item = await queue.getAsync({ timeout: 1000 });  // throws QueueEmptyError after 1 s
 * ```
 */
export interface WaitOptions {
  /** Milliseconds to wait at most; by default, without limit. */
  timeout?: number;
}

function deadlineOf(options: WaitOptions | undefined, method: string): number {
  if (options === undefined || options === null) return Infinity;
  if (typeof options !== 'object') throw new TypeError(`${method}: options must be an object, got ${describe(options)}`);
  const t = options.timeout;
  if (t === undefined) return Infinity;
  if (typeof t !== 'number' || Number.isNaN(t) || t < 0) {
    throw new RangeError(`${method}: timeout must be a number of milliseconds >= 0, got ${describe(t)}`);
  }
  return performance.now() + t;
}

const remaining = (deadline: number): number => (deadline === Infinity ? Infinity : Math.max(0, deadline - performance.now()));

/** Spins before sleeping: a lock is usually held for microseconds. */
const SPINS = 100;

/*
 * The mutex: one Int32 word, 0 free, 1 held, 2 held and someone may be waiting (Drepper's
 * "Futexes are tricky", mutex #2). Sleepers wait in Atomics.wait (a worker), or in
 * Atomics.waitAsync (the async forms, which never block the event loop).
 */
function tryLock(word: Int32Array, at: number): number {
  let c = Atomics.compareExchange(word, at, 0, 1);
  for (let i = 0; c !== 0 && i < SPINS; i++) c = Atomics.compareExchange(word, at, 0, 1);
  return c;
}

function lockSync(word: Int32Array, at: number, deadline: number): boolean {
  let c = tryLock(word, at);
  if (c === 0) return true;
  do {
    if (c === 2 || Atomics.compareExchange(word, at, 1, 2) !== 0) {
      const left = remaining(deadline);
      if (left === 0) return false;
      Atomics.wait(word, at, 2, left);
    }
    c = Atomics.compareExchange(word, at, 0, 2);
  } while (c !== 0);
  return true;
}

async function lockAsync(word: Int32Array, at: number, deadline: number): Promise<boolean> {
  let c = tryLock(word, at);
  if (c === 0) return true;
  do {
    if (c === 2 || Atomics.compareExchange(word, at, 1, 2) !== 0) {
      const left = remaining(deadline);
      if (left === 0) return false;
      await waitAsync(word, at, 2, left);
    }
    c = Atomics.compareExchange(word, at, 0, 2);
  } while (c !== 0);
  return true;
}

function unlock(word: Int32Array, at: number): boolean {
  const was = Atomics.load(word, at);
  if (was === 0) return false;
  if (Atomics.sub(word, at, 1) !== 1) {
    Atomics.store(word, at, 0);
    Atomics.notify(word, at, 1);
  }
  return true;
}

type WaitAsync = (a: Int32Array, i: number, v: number, t?: number) => { async: boolean; value: Promise<string> | string };

/**
 * `Atomics.waitAsync`, awaited. A pending `waitAsync` does not keep Node's event loop alive
 * (not even with a timeout): a program whose only work left was `await lock.acquireAsync(...)`
 * ended with exit code 13, the await unsettled. A timer holds the loop open while it waits,
 * as a blocking acquire or get holds a Python process.
 */
async function waitAsync(word: Int32Array, at: number, value: number, timeout: number): Promise<void> {
  const r = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync(word, at, value, timeout);
  if (!r.async) return;
  const keepAlive = setInterval(() => {}, 1 << 30);
  try {
    await r.value;
  } finally {
    clearInterval(keepAlive);
  }
}

/**
 * Python's `multiprocessing.Lock`, in shared memory: pass it to tasks, and they exclude
 * each other (and the main thread). Not re-entrant, not owned: any thread may release it,
 * as in Python. A worker that dies holding it leaves it held (as a process does in Python).
 *
 * In a worker, `acquire()` blocks the thread; on the main thread use `acquireAsync()` /
 * `withLockAsync()`, which never block the event loop.
 *
 * @example
 * ```ts
 * const lock = new Lock();
 * const xs = [1, 2, 3];
 * await pool.starmap((lock, x) => lock.withLock(() => x * x), xs.map((x) => [lock, x])); // [1, 4, 9], one at a time
 * await lock.withLockAsync(() => console.log('the main thread, without blocking it'));
 * ```
 */
export class Lock {
  /** @internal */
  readonly [BRAND] = 'Lock' as const;
  /** The shared memory the lock lives in. */
  readonly buffer: SharedArrayBuffer;
  readonly #word: Int32Array;

  /**
   * A new lock, free. (`buffer`/`byteOffset` are for ferropool's own objects.)
   * @example
   * ```ts
   * const lock = new Lock();
   * lock.locked(); // false
   * ```
   */
  constructor(buffer?: SharedArrayBuffer, byteOffset = 0) {
    if (buffer !== undefined && !(buffer instanceof SharedArrayBuffer)) {
      throw new TypeError(`Lock: buffer must be a SharedArrayBuffer or omitted, got ${describe(buffer)}`);
    }
    this.buffer = buffer ?? new SharedArrayBuffer(4);
    this.#word = new Int32Array(this.buffer, byteOffset, 1);
  }

  /**
   * Takes the lock, waiting for it (this blocks the thread: use it in tasks, and
   * {@link Lock.acquireAsync} on the main thread). Returns false when `timeout` ran out.
   * @example
   * ```ts
   * // in a task:
   * if (lock.acquire({ timeout: 100 })) {
   *   try { work(); } finally { lock.release(); }
   * }
   * ```
   */
  acquire(options?: WaitOptions): boolean {
    return lockSync(this.#word, 0, deadlineOf(options, 'Lock.acquire'));
  }

  /**
   * Takes the lock without blocking the event loop; false when `timeout` ran out.
   * @example
   * ```ts
   * if (await lock.acquireAsync({ timeout: 1000 })) {
   *   try { work(); } finally { lock.release(); }
   * }
   * ```
   */
  acquireAsync(options?: WaitOptions): Promise<boolean> {
    try {
      return lockAsync(this.#word, 0, deadlineOf(options, 'Lock.acquireAsync'));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Takes the lock only if it is free now.
   * @example
   * ```ts
   * if (lock.tryAcquire()) {
   *   try { work(); } finally { lock.release(); }
   * } else {
   *   console.log('busy');
   * }
   * ```
   */
  tryAcquire(): boolean {
    return Atomics.compareExchange(this.#word, 0, 0, 1) === 0;
  }

  /**
   * Frees the lock. Releasing a lock that is not held throws (as in Python).
   * @example
   * ```ts
   * lock.tryAcquire();
   * lock.release();
   * lock.release(); // throws: the lock is not held
   * ```
   */
  release(): void {
    if (!unlock(this.#word, 0)) throw new Error('Lock.release: the lock is not held');
  }

  /**
   * Whether some thread holds the lock now.
   * @example
   * ```ts
   * lock.tryAcquire();
   * lock.locked(); // true
   * ```
   */
  locked(): boolean {
    return Atomics.load(this.#word, 0) !== 0;
  }

  /**
   * Runs `fn` holding the lock (blocking while it waits): Python's `with lock:`. When `fn`
   * returns a promise, the lock is released when it settles.
   * @example
   * ```ts
   * await pool.starmap((lock, c) => lock.withLock(() => { c.value += 1; }), [[lock, counter], [lock, counter]]);
   * ```
   */
  withLock<T>(fn: () => T): T {
    if (typeof fn !== 'function') throw new TypeError(`Lock.withLock: fn must be a function, got ${describe(fn)}`);
    this.acquire();
    return holding(this, fn);
  }

  /**
   * {@link Lock.withLock} for the main thread: waits without blocking the event loop.
   * @example
   * ```ts
   * const snapshot = await lock.withLockAsync(() => counter.value);
   * ```
   */
  async withLockAsync<T>(fn: () => T | Promise<T>): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError(`Lock.withLockAsync: fn must be a function, got ${describe(fn)}`);
    await this.acquireAsync();
    return await holding(this, fn);
  }
}

function holding<T>(lock: Lock, fn: () => T): T {
  let r: T;
  try {
    r = fn();
  } catch (err) {
    lock.release();
    throw err;
  }
  if (r !== null && (typeof r === 'object' || typeof r === 'function') && typeof (r as { then?: unknown }).then === 'function') {
    return (r as unknown as Promise<unknown>).finally(() => lock.release()) as T;
  }
  lock.release();
  return r;
}

/**
 * The element types of {@link Value}: ferropool's names, or Python's type codes.
 * @example
 * ```ts
 * const hits = new Value('u32', 0);
 * const total = new Value('f64', 0.5);
 * const bytes = new Value('u64', 0n); // 64-bit integers are bigints
 * ```
 */
export type ValueType = 'i8' | 'u8' | 'i16' | 'u16' | 'i32' | 'u32' | 'i64' | 'u64' | 'f32' | 'f64';
/**
 * Python's `array`/`ctypes` type codes, accepted by {@link Value} (`'i'` is `i32`, `'d'` is `f64`).
 * @example
 * ```ts
 * const counter = new Value('i', 0); // Python's Value('i', 0)
 * counter.type;                      // 'i32'
 * new Value('d', 1.5).type;          // 'f64'
 * ```
 */
export type PythonTypeCode = 'b' | 'B' | 'h' | 'H' | 'i' | 'I' | 'l' | 'L' | 'q' | 'Q' | 'f' | 'd';

const PYTHON_CODES: Record<PythonTypeCode, ValueType> = {
  b: 'i8',
  B: 'u8',
  h: 'i16',
  H: 'u16',
  i: 'i32',
  I: 'u32',
  l: 'i64',
  L: 'u64',
  q: 'i64',
  Q: 'u64',
  f: 'f32',
  d: 'f64',
};

type IntArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;
type Cell = IntArray | BigInt64Array | BigUint64Array | Float32Array | Float64Array;

const CELLS: Record<ValueType, new (b: SharedArrayBuffer, o: number, n: number) => Cell> = {
  i8: Int8Array,
  u8: Uint8Array,
  i16: Int16Array,
  u16: Uint16Array,
  i32: Int32Array,
  u32: Uint32Array,
  i64: BigInt64Array,
  u64: BigUint64Array,
  f32: Float32Array,
  f64: Float64Array,
};

/**
 * The JS type of a {@link Value}'s `.value`: bigint for 64-bit integers, number otherwise.
 * @typeParam T - The Value's type.
 * @example
 * ```ts
 * const big: ValueOf<'i64'> = 1n; // also for 'u64', 'l', 'L', 'q', 'Q'
 * const small: ValueOf<'i'> = 1;
 * ```
 */
export type ValueOf<T extends ValueType | PythonTypeCode> = T extends 'i64' | 'u64' | 'l' | 'L' | 'q' | 'Q' ? bigint : number;

/** Where a Value keeps its number (its lock is at 0). */
const VALUE_AT = 8;

function checkNumber(type: ValueType, v: unknown, what: string): number | bigint {
  if (type === 'i64' || type === 'u64') {
    if (typeof v === 'bigint') return v;
    if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
    throw new TypeError(`${what} must be a bigint (or a safe integer) for a ${type} Value, got ${describe(v)}`);
  }
  if (typeof v !== 'number') throw new TypeError(`${what} must be a number for a ${type} Value, got ${describe(v)}`);
  if (type === 'f32' || type === 'f64') return v;
  if (!Number.isInteger(v)) throw new RangeError(`${what} must be an integer for a ${type} Value, got ${describe(v)}`);
  return v;
}

const INT_RANGE: Partial<Record<ValueType, [number, number]>> = {
  i8: [-128, 127],
  u8: [0, 255],
  i16: [-32768, 32767],
  u16: [0, 65535],
  i32: [-2147483648, 2147483647],
  u32: [0, 4294967295],
};

/**
 * Python's `multiprocessing.Value`: one number in shared memory. `.value` reads and writes
 * it; `add(delta)` is one atomic read-modify-write (also for `f32`/`f64`, by
 * compare-and-swap), so N tasks adding 1 M times give exactly N×M without a lock. 64-bit
 * integer types use `bigint`. Its own lock (`getLock()`) guards compound updates, like
 * Python's `value.get_lock()`.
 *
 * @example
 * ```ts
 * const counter = new Value('i32', 0);
 * await pool.starmap((c, n) => { for (let i = 0; i < n; i++) c.add(1); }, [[counter, 1000], [counter, 1000]]);
 * counter.value; // 2000
 * ```
 * @typeParam T - Its type: a {@link ValueType} or a {@link PythonTypeCode}.
 */
export class Value<T extends ValueType | PythonTypeCode = 'f64'> {
  /** @internal */
  readonly [BRAND] = 'Value' as const;
  /** The element type (ferropool's name, e.g. `'i32'` for Python's `'i'`). */
  readonly type: ValueType;
  /** The shared memory the value (and its lock) lives in. */
  readonly buffer: SharedArrayBuffer;
  readonly #cell: Cell;
  readonly #bits: Int32Array | BigInt64Array | undefined;
  readonly #lock: Lock;

  /**
   * A new shared number of `type` (default `'f64'`), set to `initial` (default 0).
   * @example
   * ```ts
   * const x = new Value();              // f64, 0
   * const n = new Value('i32', 10);
   * const big = new Value('u64', 2n ** 40n);
   * ```
   */
  constructor(type?: T, initial?: ValueOf<T>);
  /** @internal */
  constructor(type: T, initial: ValueOf<T> | undefined, buffer: SharedArrayBuffer);
  constructor(type: T = 'f64' as T, initial?: ValueOf<T>, buffer?: SharedArrayBuffer) {
    const t: ValueType | undefined = typeof type === 'string' ? (PYTHON_CODES[type as PythonTypeCode] ?? (type in CELLS ? (type as ValueType) : undefined)) : undefined;
    if (t === undefined) {
      throw new TypeError(`Value: type must be one of ${Object.keys(CELLS).join(', ')} (or a Python type code such as 'i' or 'd'), got ${describe(type)}`);
    }
    this.type = t;
    const fresh = buffer === undefined;
    this.buffer = buffer ?? new SharedArrayBuffer(16);
    this.#cell = new CELLS[t](this.buffer, VALUE_AT, 1);
    this.#bits = t === 'f64' ? new BigInt64Array(this.buffer, VALUE_AT, 1) : t === 'f32' ? new Int32Array(this.buffer, VALUE_AT, 1) : undefined;
    this.#lock = new Lock(this.buffer, 0);
    if (fresh && initial !== undefined) this.value = checkValue(t, initial, 'Value: initial') as ValueOf<T>;
  }

  /**
   * The number now.
   * @example
   * ```ts
   * const v = new Value('i32', 1);
   * v.value = v.value + 1; // not atomic: use add(), or getLock() for compound updates
   * v.value;               // 2
   * ```
   */
  get value(): ValueOf<T> {
    const cell = this.#cell;
    if (this.#bits) return cell[0] as ValueOf<T>;
    return Atomics.load(cell as IntArray, 0) as ValueOf<T>;
  }

  /** Stores `v`: an integer type takes an integer within its range (else a `RangeError`). */
  set value(v: ValueOf<T>) {
    const x = checkValue(this.type, v, 'Value.value');
    if (this.#bits) (this.#cell as Float64Array)[0] = x as number;
    else Atomics.store(this.#cell as IntArray, 0, x as number);
  }

  /**
   * Adds `delta` atomically and returns the new value. Integers wrap around at their
   * type's bounds (as C's do); floats are rounded to the type.
   * @example
   * ```ts
   * new Value('i32', 1).add(2);  // 3
   * new Value('i8', 127).add(1); // -128: wrapped
   * new Value('u64', 0n).add(5n); // 5n
   * ```
   */
  add(delta: ValueOf<T>): ValueOf<T> {
    const d = checkNumber(this.type, delta, 'Value.add: delta');
    const t = this.type;
    if (t === 'f64' || t === 'f32') return addFloat(t, this.#bits!, d as number) as ValueOf<T>;
    const old = Atomics.add(this.#cell as IntArray, 0, d as number) as number | bigint;
    // The new value, wrapped to the type as the cell stores it.
    const wrap = WRAP[t]!;
    wrap[0] = ((old as number) + (d as number)) as never;
    return wrap[0] as ValueOf<T>;
  }

  /**
   * Subtracts `delta` atomically and returns the new value.
   * @example
   * ```ts
   * const left = new Value('i32', 10);
   * await pool.starmap((left) => left.sub(1), [[left], [left]]);
   * left.value; // 8
   * ```
   */
  sub(delta: ValueOf<T>): ValueOf<T> {
    const d = checkNumber(this.type, delta, 'Value.sub: delta');
    return this.add(-(d as number) as ValueOf<T>);
  }

  /**
   * The value's own lock, for compound updates: Python's `value.get_lock()`.
   * @example
   * ```ts
   * const v = new Value('i32', 0);
   * await pool.starmap((v) => v.getLock().withLock(() => { v.value = v.value * 2 + 1; }), [[v], [v]]);
   * v.value; // 3
   * ```
   */
  getLock(): Lock {
    return this.#lock;
  }

  /** @internal */
  toJSON(): unknown {
    return { type: this.type, value: typeof this.value === 'bigint' ? String(this.value) : this.value };
  }
}

function checkValue(type: ValueType, v: unknown, what: string): number | bigint {
  const x = checkNumber(type, v, what);
  const range = INT_RANGE[type];
  if (range && ((x as number) < range[0] || (x as number) > range[1])) {
    throw new RangeError(`${what} is out of range for a ${type} Value (${range[0]}..${range[1]}), got ${describe(v)}`);
  }
  if (type === 'i64' && (x < -(2n ** 63n) || x >= 2n ** 63n)) throw new RangeError(`${what} is out of range for an i64 Value, got ${describe(v)}`);
  if (type === 'u64' && (x < 0n || x >= 2n ** 64n)) throw new RangeError(`${what} is out of range for a u64 Value, got ${describe(v)}`);
  return x;
}

/** One-element arrays that wrap an integer to its type. */
const WRAP: Partial<Record<ValueType, Cell>> = {};
for (const t of ['i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64'] as const) {
  WRAP[t] = new CELLS[t](new SharedArrayBuffer(8), 0, 1);
}

/** The same 8 bytes seen as floats and as the integers compare-and-swap works on. */
const FLOAT_BYTES = new ArrayBuffer(8);
const AS_F64 = new Float64Array(FLOAT_BYTES);
const AS_I64 = new BigInt64Array(FLOAT_BYTES);
const AS_F32 = new Float32Array(FLOAT_BYTES, 0, 1);
const AS_I32 = new Int32Array(FLOAT_BYTES, 0, 1);

/** Adds `d` to the float whose bits are `bits[0]`, by compare-and-swap; returns the sum. */
function addFloat(t: 'f32' | 'f64', bits: Int32Array | BigInt64Array, d: number): number {
  if (t === 'f64') {
    const cell = bits as BigInt64Array;
    for (;;) {
      const seen = Atomics.load(cell, 0);
      AS_I64[0] = seen;
      const sum = AS_F64[0]! + d;
      AS_F64[0] = sum;
      if (Atomics.compareExchange(cell, 0, seen, AS_I64[0]!) === seen) return sum;
    }
  }
  const cell = bits as Int32Array;
  for (;;) {
    const seen = Atomics.load(cell, 0);
    AS_I32[0] = seen;
    AS_F32[0] = AS_F32[0]! + d;
    const sum = AS_F32[0]!;
    if (Atomics.compareExchange(cell, 0, seen, AS_I32[0]!) === seen) return sum;
  }
}

/** Queue header words (Int32). */
const enum Q {
  Lock = 0,
  Count = 1,
  Head = 2,
  Tail = 3,
  Used = 4,
  MaxSize = 5,
  NotEmpty = 6,
  NotFull = 7,
  Capacity = 8,
}
const Q_HEADER = 64;

/**
 * Options of {@link Queue}.
 * @example
 * ```ts
 * const q = new Queue({ maxsize: 100, bytes: 4 << 20 }); // at most 100 items, in 4 MiB
 * ```
 */
export interface QueueOptions {
  /** The most items it holds (`put` waits when it is full); 0 (default): no limit but `bytes`. */
  maxsize?: number;
  /** The shared memory for the items, serialised (default 1 MiB); `put` waits for room. */
  bytes?: number;
}

/**
 * `get` found the queue empty (Python's `queue.Empty`).
 * @example
 * ```ts
 * try {
 *   new Queue().getNowait();
 * } catch (err) {
 *   if (err instanceof QueueEmptyError) console.log('nothing yet');
 * }
 * ```
 */
export class QueueEmptyError extends Error {
  /** Always `'QueueEmptyError'`. */
  override name = 'QueueEmptyError';
}

/**
 * `put` found the queue full (Python's `queue.Full`).
 * @example
 * ```ts
 * const q = new Queue(1);
 * q.putNowait('a');
 * q.putNowait('b'); // throws QueueFullError
 * ```
 */
export class QueueFullError extends Error {
  /** Always `'QueueFullError'`. */
  override name = 'QueueFullError';
}

/**
 * Python's `multiprocessing.Queue`: a first-in first-out queue of structured-clonable
 * values in shared memory, bounded (by `maxsize` items and by `bytes`), for tasks and the
 * main thread to pass work and results. `put`/`get` block the thread while they wait (use
 * them in tasks); `putAsync`/`getAsync` are for the main thread and never block the event
 * loop.
 *
 * @example
 * ```ts
 * const q = new Queue();
 * await pool.starmap((q, x) => q.put({ x, square: x * x }), [[q, 1], [q, 2], [q, 3]]);
 * while (!q.empty()) console.log(await q.getAsync());
 * ```
 * @typeParam T - The items' type.
 */
export class Queue<T = unknown> {
  /** @internal */
  readonly [BRAND] = 'Queue' as const;
  /** The shared memory the queue lives in. */
  readonly buffer: SharedArrayBuffer;
  readonly #h: Int32Array;
  readonly #data: Uint8Array;
  readonly #cap: number;

  /**
   * A new queue; `new Queue(maxsize)` as in Python, or with {@link QueueOptions}.
   * @example
   * ```ts
   * const unbounded = new Queue();     // limited only by its 1 MiB
   * const ten = new Queue<number>(10); // Python's Queue(10)
   * ```
   */
  constructor(options?: number | QueueOptions);
  /** @internal */
  constructor(options: undefined, buffer: SharedArrayBuffer);
  constructor(options?: number | QueueOptions, buffer?: SharedArrayBuffer) {
    if (buffer === undefined) {
      const o: QueueOptions = typeof options === 'number' ? { maxsize: options } : (options ?? {});
      if (typeof o !== 'object' || o === null) throw new TypeError(`Queue: options must be a maxsize or an object, got ${describe(options)}`);
      const maxsize = o.maxsize ?? 0;
      if (typeof maxsize !== 'number' || !Number.isInteger(maxsize) || maxsize < 0 || maxsize > 0x7fffffff) {
        throw new RangeError(`Queue: maxsize must be an integer >= 0 (0: no limit), got ${describe(maxsize)}`);
      }
      const bytes = o.bytes ?? 1 << 20;
      if (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 64 || bytes > 0x7fffffff) {
        throw new RangeError(`Queue: bytes must be an integer from 64 to 2^31-1, got ${describe(bytes)}`);
      }
      buffer = new SharedArrayBuffer(Q_HEADER + bytes);
      const h = new Int32Array(buffer, 0, Q_HEADER / 4);
      h[Q.MaxSize] = maxsize;
      h[Q.Capacity] = bytes;
    }
    this.buffer = buffer;
    this.#h = new Int32Array(buffer, 0, Q_HEADER / 4);
    this.#cap = this.#h[Q.Capacity]!;
    this.#data = new Uint8Array(buffer, Q_HEADER, this.#cap);
  }

  /**
   * The number of items in the queue now (Python's `qsize()`).
   * @example
   * ```ts
   * q.putNowait(1);
   * q.size(); // 1
   * ```
   */
  size(): number {
    return Atomics.load(this.#h, Q.Count);
  }

  /**
   * Whether the queue is empty now.
   * @example
   * ```ts
   * while (!q.empty()) console.log(q.getNowait());
   * ```
   */
  empty(): boolean {
    return this.size() === 0;
  }

  /**
   * Whether the queue holds `maxsize` items now.
   * @example
   * ```ts
   * const q = new Queue(1);
   * q.putNowait('a');
   * q.full(); // true
   * ```
   */
  full(): boolean {
    const max = this.#h[Q.MaxSize]!;
    return max > 0 && this.size() >= max;
  }

  /**
   * The most items it holds (0: bounded only by its bytes).
   * @example
   * ```ts
   * new Queue(10).maxsize; // 10
   * new Queue().maxsize;   // 0
   * ```
   */
  get maxsize(): number {
    return this.#h[Q.MaxSize]!;
  }

  /**
   * Adds `item` at the end, waiting (blocking the thread) while the queue is full;
   * throws {@link QueueFullError} when `timeout` runs out.
   * @example
   * ```ts
   * // in a task, or in a Process's target:
   * const p = new Process({ target: (q) => q.put({ done: true }, { timeout: 1000 }), args: [q] });
   * ```
   */
  put(item: T, options?: WaitOptions): void {
    const bytes = this.#encode(item, 'Queue.put');
    const deadline = deadlineOf(options, 'Queue.put');
    for (;;) {
      if (!lockSync(this.#h, Q.Lock, deadline)) break;
      const seen = this.#tryPut(bytes);
      if (seen === true) return;
      const left = remaining(deadline);
      if (left === 0) break;
      Atomics.wait(this.#h, Q.NotFull, seen, left);
    }
    throw new QueueFullError('Queue.put: the queue stayed full until the timeout');
  }

  /**
   * Adds `item` now, or throws {@link QueueFullError}.
   * @example
   * ```ts
   * try {
   *   q.putNowait(job);
   * } catch (err) {
   *   if (err instanceof QueueFullError) console.log('dropped: the consumers are behind');
   * }
   * ```
   */
  putNowait(item: T): void {
    this.put(item, { timeout: 0 });
  }

  /**
   * {@link Queue.put} for the main thread: waits for room without blocking the event loop.
   * @example
   * ```ts
   * for (const job of jobs) await q.putAsync(job); // waits while the queue is full
   * ```
   */
  async putAsync(item: T, options?: WaitOptions): Promise<void> {
    const bytes = this.#encode(item, 'Queue.putAsync');
    const deadline = deadlineOf(options, 'Queue.putAsync');
    for (;;) {
      if (!(await lockAsync(this.#h, Q.Lock, deadline))) break;
      const seen = this.#tryPut(bytes);
      if (seen === true) return;
      const left = remaining(deadline);
      if (left === 0) break;
      await waitAsync(this.#h, Q.NotFull, seen, left);
    }
    throw new QueueFullError('Queue.putAsync: the queue stayed full until the timeout');
  }

  /**
   * Removes and returns the first item, waiting (blocking the thread) while the queue is
   * empty; throws {@link QueueEmptyError} when `timeout` runs out. On the main thread use
   * {@link Queue.getAsync}.
   * @example
   * ```ts
   * // in a task: take jobs until a null arrives
   * q.putNowait('a'); q.putNowait('b'); q.putNowait(null);
   * await pool.apply((q) => { const jobs = []; for (let job; (job = q.get()) !== null; ) jobs.push(job); return jobs; }, [q]); // ['a', 'b']
   * ```
   */
  get(options?: WaitOptions): T {
    const deadline = deadlineOf(options, 'Queue.get');
    for (;;) {
      if (!lockSync(this.#h, Q.Lock, deadline)) break;
      const got = this.#tryGet();
      if (typeof got !== 'number') return decodeAny(got) as T;
      const left = remaining(deadline);
      if (left === 0) break;
      Atomics.wait(this.#h, Q.NotEmpty, got, left);
    }
    throw new QueueEmptyError('Queue.get: the queue stayed empty until the timeout');
  }

  /**
   * Removes and returns the first item now, or throws {@link QueueEmptyError}.
   * @example
   * ```ts
   * const q = new Queue();
   * q.putNowait('a');
   * q.getNowait(); // 'a'
   * ```
   */
  getNowait(): T {
    return this.get({ timeout: 0 });
  }

  /**
   * Removes and returns the first item, waiting without blocking the event loop.
   * @example
   * ```ts
   * const p = new Process({ target: (q) => q.put('hello'), args: [q] });
   * p.start();
   * console.log(await q.getAsync({ timeout: 5000 })); // 'hello'
   * ```
   */
  async getAsync(options?: WaitOptions): Promise<T> {
    const deadline = deadlineOf(options, 'Queue.getAsync');
    for (;;) {
      if (!(await lockAsync(this.#h, Q.Lock, deadline))) break;
      const got = this.#tryGet();
      if (typeof got !== 'number') return decodeAny(got) as T;
      const left = remaining(deadline);
      if (left === 0) break;
      await waitAsync(this.#h, Q.NotEmpty, got, left);
    }
    throw new QueueEmptyError('Queue.getAsync: the queue stayed empty until the timeout');
  }

  #encode(item: T, method: string): Buffer {
    let bytes: Buffer;
    try {
      bytes = encodeAny(item);
    } catch (err) {
      throw new TypeError(`${method}: the item cannot be put in a queue: ${(err as Error).message} (queues hold structured-clone values)`);
    }
    if (bytes.length + 4 > this.#cap) {
      throw new RangeError(`${method}: the item takes ${bytes.length + 4} bytes, more than the queue's ${this.#cap}; create it with new Queue({ bytes })`);
    }
    return bytes;
  }

  /** With the queue's mutex held: stores `bytes` and returns true, or returns the
   * not-full sequence number to wait on. Releases the mutex. */
  #tryPut(bytes: Uint8Array): true | number {
    const h = this.#h;
    const need = bytes.length + 4;
    const max = h[Q.MaxSize]!;
    if ((max > 0 && h[Q.Count]! >= max) || this.#cap - h[Q.Used]! < need) {
      const seen = Atomics.load(h, Q.NotFull);
      unlock(h, Q.Lock);
      return seen;
    }
    let tail = h[Q.Tail]!;
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, bytes.length, true);
    tail = this.#write(tail, len);
    tail = this.#write(tail, bytes);
    h[Q.Tail] = tail;
    h[Q.Used] = h[Q.Used]! + need;
    Atomics.add(h, Q.Count, 1);
    Atomics.add(h, Q.NotEmpty, 1);
    unlock(h, Q.Lock);
    Atomics.notify(h, Q.NotEmpty);
    return true;
  }

  /** With the mutex held: the first item's bytes, or the not-empty sequence number to
   * wait on. Releases the mutex. */
  #tryGet(): Uint8Array | number {
    const h = this.#h;
    if (h[Q.Count] === 0) {
      const seen = Atomics.load(h, Q.NotEmpty);
      unlock(h, Q.Lock);
      return seen;
    }
    let head = h[Q.Head]!;
    const len = new Uint8Array(4);
    head = this.#read(head, len);
    const bytes = new Uint8Array(new DataView(len.buffer).getUint32(0, true));
    head = this.#read(head, bytes);
    h[Q.Head] = head;
    h[Q.Used] = h[Q.Used]! - bytes.length - 4;
    Atomics.sub(h, Q.Count, 1);
    Atomics.add(h, Q.NotFull, 1);
    unlock(h, Q.Lock);
    Atomics.notify(h, Q.NotFull);
    return bytes;
  }

  /** Copies `src` into the ring at `at`; returns the position after it. */
  #write(at: number, src: Uint8Array): number {
    const first = Math.min(src.length, this.#cap - at);
    this.#data.set(src.subarray(0, first), at);
    if (first < src.length) this.#data.set(src.subarray(first), 0);
    return (at + src.length) % this.#cap;
  }

  /** Copies from the ring at `at` into `dst`; returns the position after it. */
  #read(at: number, dst: Uint8Array): number {
    const first = Math.min(dst.length, this.#cap - at);
    dst.set(this.#data.subarray(at, at + first), 0);
    if (first < dst.length) dst.set(this.#data.subarray(0, dst.length - first), first);
    return (at + dst.length) % this.#cap;
  }
}

/**
 * Whether `value` is a Lock, Value or Queue, or the state one travels as.
 * @internal
 */
export function isShared(value: object): boolean {
  const v = value as Partial<SharedState>;
  return (v[BRAND] === 'Lock' || v[BRAND] === 'Value' || v[BRAND] === 'Queue') && v.buffer instanceof SharedArrayBuffer;
}

/**
 * The Lock, Value or Queue whose travelling state (as a worker decoded it) is `value`, or
 * `value` itself when it is no such state.
 * @internal
 */
export function fromState(value: object): unknown {
  if (Object.getPrototypeOf(value) !== Object.prototype || !isShared(value)) return value;
  const state = value as SharedState;
  if (state[BRAND] === 'Lock') return new Lock(state.buffer);
  if (state[BRAND] === 'Value') return new Value(state.type ?? 'f64', undefined, state.buffer);
  return new Queue(undefined, state.buffer);
}
