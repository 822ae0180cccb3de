/**
 * Python's `multiprocessing.Value`: one number in shared memory, with atomic updates and
 * its own lock for compound ones.
 * @module
 */
import { describe } from '../util/describe';
import { Lock } from './lock';
import { BRAND } from './wait';

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
