/**
 * Running expression kernels: the inputs (one array, or an object of arrays by name)
 * checked and read into columns, the output chosen, and the addon's `mapExpr` /
 * `reduceExpr` started through the pool's kernel call path (inline, assisted or pooled).
 * @internal
 */
import { FloatArrayKind } from '../../native/index';
import type { ExprKernel } from './expr';
import { describe } from '../util/describe';
import { native } from '../util/native';
import { numericInput, packNumbers } from '../engine/numbers';
import { checkFixedBuffer, type CallOptions, type FloatArray, isFloatArray } from '../engine/options';

/** Starts a native call with a fresh call id (the pool's `#run`: signal, timeout, progress). */
export type StartCall = <T>(total: number, start: (id: number) => T | Promise<T>) => T | Promise<T>;

/** The inputs of one call, read. */
export interface Columns {
  /** In the program's input order. */
  arrays: FloatArray[];
  length: number;
  /** Every input was a `Float32Array`. */
  allF32: boolean;
  /** Some input was a typed array (else the result is an array of numbers). */
  anyTyped: boolean;
}

function isNamedInputs(input: unknown): input is Record<string, unknown> {
  return (
    typeof input === 'object' &&
    input !== null &&
    !Array.isArray(input) &&
    !ArrayBuffer.isView(input) &&
    typeof (input as Iterable<unknown>)[Symbol.iterator] !== 'function' &&
    typeof (input as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function'
  );
}

function column(value: unknown, name: string, method: string): FloatArray {
  if (isFloatArray(value)) {
    checkFixedBuffer(value, `input.${name}`);
    return value;
  }
  if (Array.isArray(value)) {
    const packed = packNumbers(value, method, false);
    if (typeof packed === 'number') throw new TypeError(`${method}: input.${name}[${packed}] must be a number, got ${describe(value[packed])}`);
    return packed as Float64Array;
  }
  throw new TypeError(`${method}: input.${name} must be a Float64Array, a Float32Array or an array of numbers, got ${describe(value)}`);
}

/** Reads `input` for `kernel`: the arrays in input order, or a promise of them (an async iterable). */
export function columns(kernel: ExprKernel, input: unknown, method: string): Columns | Promise<Columns> {
  const names = kernel.inputs;
  if (isNamedInputs(input)) {
    if (names.length === 0) throw new TypeError(`${method}: the expression '${kernel.expression}' has no inputs: pass an array, whose length is the result's`);
    const arrays: FloatArray[] = [];
    let first: string | undefined;
    for (const name of names) {
      if (!(name in input) || input[name] === undefined) {
        throw new TypeError(`${method}: input.${name} is missing: the expression '${kernel.expression}' reads ${names.join(', ')}`);
      }
      const array = column(input[name], name, method);
      if (first !== undefined && array.length !== arrays[0]!.length) {
        throw new RangeError(`${method}: input.${first} has length ${arrays[0]!.length} but input.${name} has length ${array.length}; the inputs must have one length`);
      }
      first ??= name;
      arrays.push(array);
    }
    const given = names.map((n) => input[n]);
    return {
      arrays,
      length: arrays[0]!.length,
      allF32: given.every((a) => a instanceof Float32Array),
      anyTyped: given.some((a) => ArrayBuffer.isView(a)),
    };
  }
  if (names.length > 1) {
    throw new TypeError(`${method}: the expression '${kernel.expression}' has inputs ${names.join(', ')}: pass an object of arrays ({ ${names.join(', ')} }), got ${describe(input)}`);
  }
  const one = (data: FloatArray): Columns => ({
    arrays: names.length === 0 ? [] : [data],
    length: data.length,
    allF32: data instanceof Float32Array,
    anyTyped: isFloatArray(input),
  });
  const data = numericInput(input, method);
  return data instanceof Promise ? data.then(one) : one(data);
}

export function output(cols: Columns, out: unknown, method: string): FloatArray {
  if (out !== undefined) {
    if (!isFloatArray(out)) throw new TypeError(`${method}: opts.out must be a Float64Array or Float32Array, got ${describe(out)}`);
    checkFixedBuffer(out, 'opts.out');
    if (out.length !== cols.length) throw new RangeError(`${method}: opts.out has length ${out.length} but the inputs have length ${cols.length}`);
    return out;
  }
  const kind = cols.allF32 ? FloatArrayKind.Float32 : FloatArrayKind.Float64;
  return native.allocOutput(kind, cols.length) ?? (cols.allF32 ? new Float32Array(cols.length) : new Float64Array(cols.length));
}

/** The arrays as the addon takes them: the one array itself (no array allocated per call), or a list. */
function passed(cols: Columns): unknown {
  return cols.arrays.length === 1 ? cols.arrays[0] : cols.arrays;
}

/** `pool.map(kernels.expr(…), input, opts)`. */
export function mapExpr(kernel: ExprKernel, input: unknown, o: CallOptions & { out?: FloatArray }, processes: number, start: StartCall): unknown {
  const run = (cols: Columns) => {
    const out = output(cols, o.out, 'map');
    const result = () => (o.out !== undefined || cols.anyTyped ? out : Array.from(out));
    const done = start(cols.length, (id) => native.mapExpr(id, kernel.program, passed(cols), out, o.chunksize ?? 0, processes));
    return done instanceof Promise ? done.then(result) : result();
  };
  const cols = columns(kernel, input, 'map');
  return cols instanceof Promise ? cols.then(run) : run(cols);
}

/** `pool.reduce(fn, input, { map: kernels.expr(…) })`: the reduction of the expression's values, fused. */
export function reduceExpr(code: number, pre: ExprKernel, input: unknown, initial: number | undefined, o: CallOptions, processes: number, start: StartCall): unknown {
  const run = (cols: Columns) =>
    start(cols.length, (id) => native.reduceExpr(id, code, pre.program, passed(cols), cols.length, initial ?? null, o.chunksize ?? 0, processes));
  const cols = columns(pre, input, 'reduce');
  return cols instanceof Promise ? cols.then(run) : run(cols);
}

/** The first batch of a stream, and the largest (batches double in between). */
const FIRST_BATCH = 256;
const MAX_BATCH = 64 * 1024;

/**
 * `pool.imap(kernels.expr(…), input)` (and imapUnordered, whose completion order this is
 * too): the input is read in batches that double from 256 to 65,536 numbers, each batch
 * one map call, so the first results come at once and an endless input works. An object
 * of arrays is one map.
 */
export function imapExpr(
  map: (kernel: ExprKernel, batch: unknown, o: CallOptions) => Promise<ArrayLike<number>>,
  kernel: ExprKernel,
  input: unknown,
  opts: unknown,
  method: string,
): AsyncIterableIterator<number> {
  if (opts !== undefined && (typeof opts !== 'object' || opts === null)) throw new TypeError(`${method}: opts must be an object, got ${describe(opts)}`);
  const o = (opts ?? {}) as CallOptions;
  if (isNamedInputs(input) || isFloatArray(input)) {
    const all = map(kernel, input, o);
    return (async function* () {
      yield* Array.from(await all);
    })();
  }
  if (typeof input !== 'object' || input === null || (typeof (input as Iterable<unknown>)[Symbol.iterator] !== 'function' && typeof (input as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function')) {
    throw new TypeError(`${method}: input must be an iterable or async iterable of numbers, or an object of arrays, got ${describe(input)}`);
  }
  return (async function* () {
    let size = o.chunksize ?? FIRST_BATCH;
    let batch: number[] = [];
    let at = 0;
    const flush = async function* () {
      const results = await map(kernel, batch, o);
      batch = [];
      yield* Array.from(results);
    };
    const iterable = input as AsyncIterable<unknown> | Iterable<unknown>;
    for await (const x of iterable) {
      if (typeof x !== 'number') throw new TypeError(`${method}: input[${at}] must be a number, got ${describe(x)}`);
      batch.push(x);
      at++;
      if (batch.length >= size) {
        yield* flush();
        if (o.chunksize === undefined) size = Math.min(size * 2, MAX_BATCH);
      }
    }
    if (batch.length > 0) yield* flush();
  })();
}
