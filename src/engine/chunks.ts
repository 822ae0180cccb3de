/**
 * A JS call's input as items and chunks, and its chunks' results joined back into what the
 * call returns (an array, or a typed array like its input).
 * @internal
 */
import { describe } from '../util/describe';
import type { TypedArray } from '../util/typed-arrays';
import { packNumbers } from './numbers';
import { checkFixedBuffer } from './options';
import { IN_OUTPUT, isNumeric } from '../wire/payloads';
import { type Items } from '../wire/protocol';


/** Python's default: about four chunks per worker. */
export function defaultChunksize(length: number, processes: number): number {
  return Math.max(1, Math.ceil(length / (processes * 4)));
}

/**
 * The items of `input` as one chunkable sequence: typed arrays as they are, arrays of
 * numbers as a Float64Array (one bulk copy instead of one per item), anything else as an
 * array.
 */
export function toItems(input: unknown, method: string, star: boolean): Items | Promise<Items> {
  const name = star ? 'argTuples' : 'input';
  const check = (items: unknown[]): Items => {
    if (star) {
      for (let i = 0; i < items.length; i++) {
        const t = items[i];
        if (Array.isArray(t)) continue;
        if (t === null || typeof t !== 'object' || typeof (t as Iterable<unknown>)[Symbol.iterator] !== 'function') {
          throw new TypeError(`${method}: ${name}[${i}] must be an array (or iterable) of arguments, got ${describe(t)}`);
        }
        items[i] = Array.from(t as Iterable<unknown>);
      }
      return items;
    }
    // Numbers go into a typed array; the first non-number falls back to the array itself.
    const numbers = packNumbers(items, method, true);
    return typeof numbers === 'number' ? items : numbers;
  };
  if (!star && (input instanceof Float64Array || input instanceof Float32Array)) {
    checkFixedBuffer(input, `${method}: input`);
    return input;
  }
  // Other typed arrays of numbers (Int32Array, Uint8Array, …) become doubles in one native
  // conversion (exact for every one of them), not through an array of their elements; the
  // results come back in the input's type (see likeInput).
  if (!star && isIntegerArray(input)) {
    try {
      return new Float64Array(input);
    } catch (cause) {
      // The one way a typed array cannot be read: its ArrayBuffer was detached (transferred).
      throw new TypeError(`${method}: ${name}'s ArrayBuffer is detached`, { cause });
    }
  }
  if (Array.isArray(input)) return check(star ? input.slice() : input);
  if (typeof input === 'string') throw new TypeError(`${method}: ${name} must be an array or iterable of items, got ${describe(input)}`);
  if (typeof input === 'object' && input !== null) {
    if (typeof (input as Iterable<unknown>)[Symbol.iterator] === 'function') return check(Array.from(input as Iterable<unknown>));
    if (typeof (input as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
      return (async () => {
        const all: unknown[] = [];
        for await (const x of input as AsyncIterable<unknown>) all.push(x);
        return check(all);
      })();
    }
  }
  throw new TypeError(`${method}: ${name} must be an array, a typed array or an (async) iterable, got ${describe(input)}`);
}

/** Typed-array arguments of this many bytes in all make a call worth spreading. */
const SPREAD_BYTES = 256 * 1024;

/** Whether `tuples` (a starmap's argument lists) hold at least {@link SPREAD_BYTES} of
 * typed arrays that are copied (not shared) to the workers. */
export function copiesMuch(tuples: Items): boolean {
  if (isNumeric(tuples)) return false;
  let bytes = 0;
  for (const t of tuples as unknown[]) {
    if (!Array.isArray(t)) continue;
    for (const x of t) {
      if (ArrayBuffer.isView(x) && !(x.buffer instanceof SharedArrayBuffer) && (bytes += x.byteLength) >= SPREAD_BYTES) return true;
    }
  }
  return false;
}

/** Chunk `[start, items]` pairs of `chunksize` items (views of typed arrays: they are
 * encoded as raw bytes, one copy). */
export function cut(items: Items, chunksize: number): Array<[number, Items]> {
  const chunks: Array<[number, Items]> = [];
  const typed = isNumeric(items);
  for (let s = 0; s < items.length; s += chunksize) {
    chunks.push([s, typed ? items.subarray(s, s + chunksize) : (items as unknown[]).slice(s, s + chunksize)]);
  }
  return chunks;
}

/** Joins a shared job's results: `output` itself when every result was a number (written
 * in place; copied into `into` when given, for an array's input), else an array that takes
 * the spilled chunks' results from `parts`. */
export function assembleShared(parts: Items[], chunks: Array<[number, Items]>, output: Float64Array | Float32Array, into?: number[]): Float64Array | Float32Array | unknown[] {
  if (parts.every((p) => p === IN_OUTPUT)) return into ? copyNumbers(output, into) : output;
  const out = new Array<unknown>(output.length);
  chunks.forEach(([start, items], k) => {
    const part = parts[k]!;
    for (let i = 0; i < items.length; i++) out[start + i] = part === IN_OUTPUT ? output[start + i] : part[i];
  });
  return out;
}

/** Joins chunk results in order: a typed array like `input` when every result is a number
 * and the input was typed, else an array. */
/**
 * A plain array of `n` numbers to copy results into. (Filled with a double first, the
 * array is made with V8's packed-double layout at once: faster than growing it from holes.)
 */
export function numberArray(n: number): number[] {
  return new Array<number>(n).fill(0.5);
}

/** Copies `numbers` into `out` (of the same length); `out`. */
export function copyNumbers(numbers: ArrayLike<number>, out: number[]): number[] {
  for (let i = 0; i < out.length; i++) out[i] = numbers[i]!;
  return out;
}

/** A typed array of numbers that is not a float array (`Int32Array`, `Uint8Array`, …): its
 * elements are exact as doubles, and a map's numeric results go back in its type. */
export function isIntegerArray(x: unknown): x is Exclude<TypedArray, Float64Array | Float32Array | BigInt64Array | BigUint64Array> {
  return ArrayBuffer.isView(x) && !(x instanceof DataView) && !(x instanceof Float64Array) && !(x instanceof Float32Array) && !(x instanceof BigInt64Array) && !(x instanceof BigUint64Array);
}

/**
 * A map's results over a typed array that is not a float array (`Int32Array`,
 * `Uint8Array`, …): in an array of the input's type when they are all numbers, converted as
 * the typed array's own `map` converts them (API.md: a typed array in, the same type out).
 * Float arrays get theirs on the way (see {@link assemble}); anything else is left as it is.
 */
export function likeInput(input: unknown, results: unknown): unknown {
  if (!isIntegerArray(input)) return results;
  if (!(results instanceof Float64Array) && !(Array.isArray(results) && results.every((r) => typeof r === 'number'))) return results;
  return new (input.constructor as new (numbers: ArrayLike<number>) => ArrayLike<number>)(results as ArrayLike<number>);
}

export function assemble(parts: Items[], input: unknown, total: number): unknown[] | Float64Array | Float32Array {
  if ((input instanceof Float64Array || input instanceof Float32Array) && parts.every((p) => p instanceof Float64Array)) {
    const out = input instanceof Float32Array ? new Float32Array(total) : new Float64Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p as Float64Array, at);
      at += p.length;
    }
    return out;
  }
  const out = new Array<unknown>(total);
  let at = 0;
  for (const p of parts) for (let i = 0; i < p.length; i++) out[at++] = p[i];
  return out;
}
