/**
 * Expression kernels (`kernels.expr`): making one. An expression is compiled by the addon
 * once per process (a bounded cache there), and the kernel object made for it is reused
 * from a bounded cache here, so a hot loop that calls `kernels.expr('…')` each time pays a
 * map lookup. Running one is in `expr-run.ts`.
 * @module
 */
import type { MapKernelOp } from '../../native/index';
import { Lru } from '../util/lru';
import { native } from '../util/native';

const KERNEL = Symbol.for('ferropool.kernel');

/** Kernel objects kept for reuse: the 256 used last. */
const cache = new Lru<string, ExprKernel>(256);

/** The functions of the language (never inputs). */
type FunctionName =
  | 'abs' | 'sqrt' | 'cbrt' | 'exp' | 'expm1' | 'log' | 'log1p' | 'log2' | 'log10' | 'sin' | 'cos' | 'tan'
  | 'asin' | 'acos' | 'atan' | 'atan2' | 'sinh' | 'cosh' | 'tanh' | 'floor' | 'ceil' | 'round' | 'trunc'
  | 'sign' | 'min' | 'max' | 'pow' | 'hypot' | 'where';
type Digit = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9';
type Lower = 'a' | 'b' | 'c' | 'd' | 'e' | 'f' | 'g' | 'h' | 'i' | 'j' | 'k' | 'l' | 'm' | 'n' | 'o' | 'p' | 'q' | 'r' | 's' | 't' | 'u' | 'v' | 'w' | 'x' | 'y' | 'z';
type NameStart = Lower | Uppercase<Lower> | '_' | '$';
type NameChar = NameStart | Digit;
/** The names in an expression not followed by `(`: scanned one character at a time. */
type ScanNames<S extends string, Cur extends string = '', Acc extends string = never> = S extends `${infer C}${infer Rest}`
  ? Cur extends ''
    ? C extends Digit | '.'
      ? ScanNumber<Rest, Acc>
      : C extends NameStart
        ? ScanNames<Rest, C, Acc>
        : ScanNames<Rest, '', Acc>
    : C extends NameChar
      ? ScanNames<Rest, `${Cur}${C}`, Acc>
      : TrimStart<S> extends `(${string}`
        ? ScanNames<Rest, '', Acc>
        : ScanNames<S, '', Acc | Cur>
  : Acc | Exclude<Cur, ''>;
type ScanNumber<S extends string, Acc extends string> = S extends `${infer C}${infer Rest}`
  ? C extends Digit | '.'
    ? ScanNumber<Rest, Acc>
    : C extends 'e' | 'E'
      ? Rest extends `${'+' | '-'}${infer After}`
        ? ScanNumber<After, Acc>
        : ScanNumber<Rest, Acc>
      : ScanNames<S, '', Acc>
  : Acc;
type TrimStart<S extends string> = S extends ` ${infer R}` | `\t${infer R}` | `\n${infer R}` ? TrimStart<R> : S;

/**
 * The input names of expression `S` (given as a literal type), without `PI`, `E`, the
 * functions and the names in `C` (the constants); `string` when `S` is not a literal.
 * @example
 * ```ts
 * type N = ExprInputNames<'a*b + sqrt(c) * PI'>; // 'a' | 'b' | 'c'
 * ```
 */
export type ExprInputNames<S extends string, C = Record<never, never>> = string extends S ? string : Exclude<ScanNames<S>, 'PI' | 'E' | FunctionName | keyof C>;

/**
 * An expression kernel, made by `kernels.expr` ({@link kernels}): an element-wise formula over one or
 * several named arrays, for {@link Pool.map}, {@link Pool.imap}, {@link Pool.imapUnordered}
 * and `opts.map` of {@link Pool.reduce}. `Names` are its inputs' names.
 * @example
 * ```ts
 * const k: ExprKernel<'a' | 'b'> = kernels.expr('a*b');
 * k.inputs; // ['a', 'b']
 * await pool.reduce(kernels.sum, { a, b }, { map: k }); // the dot product
 * ```
 */
export interface ExprKernel<Names extends string = string> {
  /** Always `'map'`. */
  readonly kind: 'map';
  /** Always `'expr'`. */
  readonly name: 'expr';
  /** The expression, as given. */
  readonly expression: string;
  /** The constants, as given (empty when none). */
  readonly constants: Readonly<Record<string, number>>;
  /** The inputs' names, in order of first appearance in the expression. */
  readonly inputs: readonly Names[];
  /** @internal */
  readonly code: MapKernelOp;
  /** @internal */
  readonly params: readonly [number, number];
  /** @internal The compiled program (an addon external). */
  readonly program: object;
}

/** Whether `value` is an expression kernel. @internal */
export function isExprKernel(value: unknown): value is ExprKernel {
  return typeof value === 'object' && value !== null && (value as { name?: unknown }).name === 'expr' && (value as { [KERNEL]?: boolean })[KERNEL] === true;
}

function typeName(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

/**
 * Compiles `expression` into a kernel (see `kernels.expr` ({@link kernels})). Throws `SyntaxError`
 * with the expression quoted and a caret under the error, or `TypeError` for bad arguments.
 * @example
 * ```ts
 * const k = expr('s*x + t', { s: 2, t: 1 });
 * ```
 */
export function expr<const S extends string, const C extends Readonly<Record<string, number>> = Record<never, never>>(
  expression: S,
  constants?: C,
): ExprKernel<ExprInputNames<S, C>> {
  if (typeof expression !== 'string') throw new TypeError(`kernels.expr: expression must be a string, got ${typeName(expression)}`);
  let key: string = expression;
  const names: string[] = [];
  const values: number[] = [];
  if (constants !== undefined) {
    if (typeof constants !== 'object' || constants === null || Array.isArray(constants)) {
      throw new TypeError(`kernels.expr: constants must be an object of numbers, got ${typeName(constants)}`);
    }
    for (const name of Object.keys(constants)) {
      const value = (constants as Record<string, unknown>)[name];
      if (typeof value !== 'number') throw new TypeError(`kernels.expr: constants.${name} must be a number, got ${typeName(value)}`);
      names.push(name);
      values.push(value);
      // Object.is tells -0 from 0 and keeps NaN equal to itself, as the addon's key does.
      key += `\0${name}=${Object.is(value, -0) ? '-0' : String(value)}`;
    }
  }
  const hit = cache.get(key);
  if (hit !== undefined) return hit as ExprKernel<ExprInputNames<S, C>>;
  const compiled = native.compileExpr(expression, names, values);
  if (compiled.error != null) throw new SyntaxError(`kernels.expr: ${compiled.error}`);
  const kernel = Object.freeze({
    [KERNEL]: true,
    kind: 'map',
    name: 'expr',
    expression,
    constants: Object.freeze(Object.fromEntries(names.map((n, i) => [n, values[i]!]))),
    inputs: Object.freeze(compiled.inputs),
    // Not a built-in operation: a path that forgot expression kernels fails in the addon
    // instead of running another kernel.
    code: -1 as MapKernelOp,
    params: Object.freeze([0, 0] as const),
    program: compiled.program as object,
  }) as unknown as ExprKernel;
  cache.set(key, kernel);
  return kernel as ExprKernel<ExprInputNames<S, C>>;
}

/**
 * One input array of an expression kernel.
 * @example
 * ```ts
 * const x: ExprColumn = new Float32Array([1, 2]);
 * ```
 */
export type ExprColumn = Float64Array | Float32Array | readonly number[];

type IsUnion<T, U = T> = T extends unknown ? ([U] extends [T] ? false : true) : never;

/**
 * What {@link Pool.map} takes for an expression kernel with inputs `Names`: one array
 * (or iterable of numbers) when there is one input (or none), an object of arrays by name
 * when there are several.
 * @example
 * ```ts
 * const one: ExprInputs<'x'> = new Float64Array(4);
 * const two: ExprInputs<'a' | 'b'> = { a: [1, 2], b: new Float64Array(2) };
 * ```
 */
export type ExprInputs<Names extends string> = string extends Names
  ? ExprColumn | Iterable<number> | AsyncIterable<number> | Readonly<Record<string, ExprColumn>>
  : [Names] extends [never]
    ? ExprColumn | Iterable<number> | AsyncIterable<number>
    : true extends IsUnion<Names>
      ? Readonly<Record<Names, ExprColumn>>
      : ExprColumn | Iterable<number> | AsyncIterable<number> | Readonly<Record<Names, ExprColumn>>;

/**
 * The result of {@link Pool.map} of an expression kernel over input `I`: a `Float32Array`
 * when every input is one, an array of numbers when none is a typed array, a
 * `Float64Array` otherwise.
 * @example
 * ```ts
 * type R = ExprResult<{ a: Float32Array; b: Float32Array }>; // Float32Array
 * ```
 */
export type ExprResult<I> = I extends Float32Array
  ? Float32Array
  : I extends Float64Array
    ? Float64Array
    : I extends Iterable<unknown> | AsyncIterable<unknown>
      ? number[]
      : [I[keyof I]] extends [Float32Array]
        ? Float32Array
        : [Extract<I[keyof I], Float64Array | Float32Array>] extends [never]
          ? number[]
          : Float64Array;
