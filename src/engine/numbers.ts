/**
 * Numbers into typed arrays: the one converter every method's input goes through (kernels
 * and JS functions alike), and a kernel's input checks.
 * @internal
 */
import { describe } from '../util/describe';
import type { NumericItems } from '../wire/protocol';
import { checkFixedBuffer, type FloatArray, isFloatArray } from './options';

/** A typed array of `length` for `method`'s input, or a RangeError that says why not. */
function alloc<T>(Ctor: new (length: number) => T, length: number, method: string): T {
  try {
    return new Ctor(length);
  } catch (err) {
    throw new RangeError(`${method}: input has ${length} items, too many to convert to numbers in memory (${(err as Error).message}); pass a Float64Array, or use imap`);
  }
}

/**
 * The one converter of values to numbers: `values` in a typed array, in one pass (one bulk
 * copy to the workers or the kernels, no serialiser). With `ints`, an Int32Array while they
 * are all small integers (so a worker computes on integers, as the caller's engine would),
 * else a Float64Array. The index of the first value that is not a number when there is one.
 */
export function packNumbers(values: ArrayLike<unknown>, method: string, ints: boolean): NumericItems | number {
  const n = values.length;
  // With `ints` (a JS function's input, which may be anything) nothing is allocated for
  // values that are not numbers at all; a kernel's input too large to convert is a
  // RangeError before its first item is checked.
  if (ints && n > 0 && typeof values[0] !== 'number') return 0;
  let small = ints ? alloc(Int32Array, n, method) : undefined;
  let doubles = small === undefined ? alloc(Float64Array, n, method) : undefined;
  for (let i = 0; i < n; i++) {
    const x = values[i];
    if (typeof x !== 'number') return i;
    if (small !== undefined) {
      if ((x | 0) === x && !Object.is(x, -0)) {
        small[i] = x;
        continue;
      }
      doubles = alloc(Float64Array, n, method);
      doubles.set(small.subarray(0, i));
      small = undefined;
    }
    doubles![i] = x;
  }
  return small ?? doubles!;
}

/**
 * The numbers of `input` for a kernel: a Float64Array or Float32Array as it is, arrays and
 * iterables of numbers read (and checked) into a new Float64Array.
 */
export function numericInput(input: unknown, method: string): FloatArray | Promise<FloatArray> {
  if (isFloatArray(input)) {
    checkFixedBuffer(input, 'input');
    return input;
  }
  const hint = `${method}: input must be a Float64Array, a Float32Array, or an array or iterable of numbers`;
  if (ArrayBuffer.isView(input)) {
    throw new TypeError(`${hint}, got ${describe(input)}; convert it with Float64Array.from(input)`);
  }
  if (Array.isArray(input)) {
    const data = packNumbers(input, method, false);
    if (typeof data === 'number') throw new TypeError(`${method}: input[${data}] must be a number, got ${describe(input[data])}`);
    return data as Float64Array;
  }
  if (typeof input === 'object' && input !== null) {
    const values: number[] = [];
    const push = (x: unknown) => {
      if (typeof x !== 'number') throw new TypeError(`${method}: input[${values.length}] must be a number, got ${describe(x)}`);
      values.push(x);
    };
    if (typeof (input as Iterable<unknown>)[Symbol.iterator] === 'function') {
      for (const x of input as Iterable<unknown>) push(x);
      return Float64Array.from(values);
    }
    if (typeof (input as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
      return (async () => {
        for await (const x of input as AsyncIterable<unknown>) push(x);
        return Float64Array.from(values);
      })();
    }
  }
  throw new TypeError(`${hint}, got ${describe(input)}`);
}
