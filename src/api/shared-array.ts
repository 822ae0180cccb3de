/**
 * `sharedArray`: a typed array on fresh shared memory, the one-line way to pass numeric data
 * to tasks without copying it.
 * @module
 */
import { describe } from '../util/describe';

/**
 * A typed array constructor {@link sharedArray} accepts.
 * @example
 * ```ts
 * const Ctor: TypedArrayConstructor = Float32Array;
 * const image = sharedArray(Ctor, 2000 * 2000);
 * ```
 */
export type TypedArrayConstructor =
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Uint8ClampedArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor;

const CONSTRUCTORS: readonly TypedArrayConstructor[] = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
];

/**
 * A typed array of type `Ctor` on a fresh `SharedArrayBuffer`: of `length` zeroed elements,
 * or holding a copy of the elements of an array, typed array or other iterable. Passed to a
 * task (in `opts.args`, an item or `apply`'s arguments) it is shared, never copied: the task
 * reads and writes the caller's memory, and what one side writes the other sees.
 *
 * Writes from several tasks to the same element race, as with any shared memory: give each
 * task its own part (rows, index ranges), or use `Atomics`.
 *
 * @param Ctor - A typed array constructor: `Float64Array`, `Float32Array`, `Int32Array`, …
 * @param lengthOrValues - The number of elements (a non-negative integer), or the values to copy.
 * @throws TypeError when `Ctor` is not a typed array constructor, or `lengthOrValues` is
 *   neither a length nor an iterable; RangeError for a negative or fractional length.
 * @example
 * ```ts
 * import { Pool, sharedArray } from 'ferropool';
 * const pool = new Pool();
 * const points = sharedArray(Float64Array, [0, 0, 1, 1, 5, 5]); // x/y interleaved, shared
 * const sums = sharedArray(Float64Array, 3);                     // zeroed, shared
 * await pool.map((i, pts, out) => { out[i] = pts[2 * i] + pts[2 * i + 1]; }, [0, 1, 2], { args: [points, sums] });
 * sums; // Float64Array [0, 2, 10]: written by the workers, seen here
 * ```
 */
export function sharedArray<C extends TypedArrayConstructor>(Ctor: C, lengthOrValues: number | Iterable<number | bigint> | ArrayLike<number | bigint>): InstanceType<C> {
  if (typeof Ctor !== 'function' || !CONSTRUCTORS.includes(Ctor)) {
    throw new TypeError(`sharedArray: Ctor must be a typed array constructor (Float64Array, Int32Array, …), got ${describe(Ctor)}`);
  }
  const make = (n: number) => new (Ctor as unknown as new (b: SharedArrayBuffer, o: number, n: number) => InstanceType<C>)(new SharedArrayBuffer(n * Ctor.BYTES_PER_ELEMENT), 0, n);
  if (typeof lengthOrValues === 'number') {
    if (!Number.isSafeInteger(lengthOrValues) || lengthOrValues < 0) {
      throw new RangeError(`sharedArray: length must be a non-negative integer, got ${lengthOrValues}`);
    }
    return make(lengthOrValues);
  }
  if (typeof lengthOrValues !== 'object' || lengthOrValues === null) {
    throw new TypeError(`sharedArray: lengthOrValues must be a length or an array (or iterable) of values, got ${describe(lengthOrValues)}`);
  }
  const values: ArrayLike<number | bigint> =
    ArrayBuffer.isView(lengthOrValues) || Array.isArray(lengthOrValues)
      ? (lengthOrValues as ArrayLike<number | bigint>)
      : typeof (lengthOrValues as Iterable<unknown>)[Symbol.iterator] === 'function'
        ? Array.from(lengthOrValues as Iterable<number | bigint>)
        : typeof (lengthOrValues as ArrayLike<unknown>).length === 'number'
          ? (lengthOrValues as ArrayLike<number | bigint>)
          : (() => {
              throw new TypeError(`sharedArray: lengthOrValues must be a length or an array (or iterable) of values, got ${describe(lengthOrValues)}`);
            })();
  const out = make(values.length);
  try {
    (out as unknown as { set(a: ArrayLike<number | bigint>): void }).set(values);
  } catch (err) {
    // e.g. numbers into a BigInt64Array, or bigints into a Float64Array
    throw new TypeError(`sharedArray: the values cannot be stored in a ${Ctor.name}: ${(err as Error).message}`, { cause: err });
  }
  return out;
}
