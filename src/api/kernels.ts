/**
 * The built-in numeric kernels: they run in Rust threads over `Float64Array`,
 * `Float32Array` and arrays of numbers, with no JS called per element.
 * @module
 */

import { MapKernelOp, ReduceKernelOp } from '../../native/index';
import { describe } from '../util/describe';
import { expr } from './expr';

const KERNEL = Symbol.for('ferropool.kernel');

/**
 * An element-wise kernel, for {@link Pool.map} (and `opts.map` of {@link Pool.reduce}).
 * @example
 * ```ts
 * const unit: MapKernel = kernels.clamp(0, 1);
 * await pool.map(unit, new Float64Array([-1, 0.5, 2])); // Float64Array [0, 0.5, 1]
 * ```
 */
export interface MapKernel {
  /** Always `'map'`. */
  readonly kind: 'map';
  /** The kernel's name, e.g. `'square'` or `'affine'`. */
  readonly name: string;
  /** @internal */
  readonly code: MapKernelOp;
  /** @internal */
  readonly params: readonly [number, number];
}

/**
 * A reduction kernel, for {@link Pool.reduce}.
 * @example
 * ```ts
 * const r: ReduceKernel = kernels.mean;
 * await pool.reduce(r, [1, 2, 3]); // 2
 * ```
 */
export interface ReduceKernel {
  /** Always `'reduce'`. */
  readonly kind: 'reduce';
  /** `'sum'`, `'min'`, `'max'` or `'mean'`. */
  readonly name: 'sum' | 'min' | 'max' | 'mean';
  /** @internal */
  readonly code: ReduceKernelOp;
}

/**
 * Either kind of built-in kernel.
 * @example
 * ```ts
 * function apply(k: Kernel, data: Float64Array) {
 *   return k.kind === 'map' ? pool.map(k, data) : pool.reduce(k, data);
 * }
 * ```
 */
export type Kernel = MapKernel | ReduceKernel;

function mapKernel(name: string, code: MapKernelOp, p0 = 0, p1 = 0): MapKernel {
  return Object.freeze({ [KERNEL]: true, kind: 'map', name, code, params: Object.freeze([p0, p1] as const) }) as MapKernel;
}

function reduceKernel(name: ReduceKernel['name'], code: ReduceKernelOp): ReduceKernel {
  return Object.freeze({ [KERNEL]: true, kind: 'reduce', name, code }) as ReduceKernel;
}

function numberParam(kernel: string, name: string, value: unknown): number {
  if (typeof value !== 'number') throw new TypeError(`kernels.${kernel}: ${name} must be a number, got ${describe(value)}`);
  return value;
}

/** Whether `value` is one of the built-in kernels. */
export function isKernel(value: unknown): value is Kernel {
  return typeof value === 'object' && value !== null && (value as { [KERNEL]?: boolean })[KERNEL] === true;
}

/**
 * The built-in kernels. Element-wise ones compute in double precision; over a
 * `Float32Array` each result is rounded once to float32, like `Math.fround(f(x))`.
 *
 * @example
 * ```ts
 * import { Pool, kernels } from 'ferropool';
 * const pool = new Pool();
 * const squares = await pool.map(kernels.square, new Float64Array([1, 2, 3])); // Float64Array [1, 4, 9]
 * const scaled = await pool.map(kernels.affine(2, 1), [1, 2, 3]);             // [3, 5, 7]
 * const total = await pool.reduce(kernels.sum, squares);                        // 14
 * const norm = Math.sqrt(await pool.reduce(kernels.sum, squares, { map: kernels.square }));
 * ```
 */
export const kernels = Object.freeze({
  /** `x * x` */
  square: mapKernel('square', MapKernelOp.Square),
  /** `Math.sqrt(x)` */
  sqrt: mapKernel('sqrt', MapKernelOp.Sqrt),
  /** `Math.abs(x)` */
  abs: mapKernel('abs', MapKernelOp.Abs),
  /** `-x` */
  neg: mapKernel('neg', MapKernelOp.Neg),
  /** `Math.exp(x)` */
  exp: mapKernel('exp', MapKernelOp.Exp),
  /** `Math.log(x)` */
  log: mapKernel('log', MapKernelOp.Log),
  /** `Math.sin(x)` */
  sin: mapKernel('sin', MapKernelOp.Sin),
  /** `Math.cos(x)` */
  cos: mapKernel('cos', MapKernelOp.Cos),
  /** `a * x + b`, rounded twice like the JS expression (no fused multiply-add). */
  affine(a: number, b: number): MapKernel {
    return mapKernel('affine', MapKernelOp.Affine, numberParam('affine', 'a', a), numberParam('affine', 'b', b));
  },
  /** `x ** p`, exactly as JS defines it (`1 ** Infinity` and `x ** NaN` are NaN). */
  pow(p: number): MapKernel {
    return mapKernel('pow', MapKernelOp.Pow, numberParam('pow', 'p', p));
  },
  /** `Math.min(Math.max(x, lo), hi)`, signed zeros included; NaN stays NaN. Needs `lo <= hi`, neither NaN. */
  clamp(lo: number, hi: number): MapKernel {
    const l = numberParam('clamp', 'lo', lo);
    const h = numberParam('clamp', 'hi', hi);
    if (Number.isNaN(l) || Number.isNaN(h)) throw new RangeError(`kernels.clamp: lo and hi must not be NaN, got ${l}, ${h}`);
    if (l > h) throw new RangeError(`kernels.clamp: lo (${l}) must not be greater than hi (${h})`);
    return mapKernel('clamp', MapKernelOp.Clamp, l, h);
  },
  /** The sum; 0 for an empty input. */
  sum: reduceKernel('sum', ReduceKernelOp.Sum),
  /** The smallest element; NaN if any is NaN; `Infinity` for an empty input (like `Math.min()`). */
  min: reduceKernel('min', ReduceKernelOp.Min),
  /** The largest element; NaN if any is NaN; `-Infinity` for an empty input (like `Math.max()`). */
  max: reduceKernel('max', ReduceKernelOp.Max),
  /** The arithmetic mean; NaN for an empty input. */
  mean: reduceKernel('mean', ReduceKernelOp.Mean),
  /**
   * An expression kernel: an element-wise formula over one or several named arrays, run
   * in Rust threads over cache-sized blocks with no JS called per element and no
   * full-size temporary arrays. Numbers, `+ - * / % **`, unary `-`, comparisons (1 or 0),
   * `where(c, a, b)`, `PI`, `E` and `Math`'s functions; every other name is an input, or
   * one of `constants`. Compiled once per distinct expression. A syntax error or an
   * unknown function throws `SyntaxError` with the expression quoted and a caret under
   * the position. See docs/expressions.md.
   * @example
   * ```ts
   * await pool.map(kernels.expr('2*x*x + 3*x + 1'), f64);                    // one input: the array
   * await pool.map(kernels.expr('a*b + c'), { a, b, c });                     // several: by name
   * await pool.map(kernels.expr('s*x + t', { s: 2, t: 1 }), f32, { out: f32 }); // in place
   * await pool.reduce(kernels.sum, { a, b }, { map: kernels.expr('a*b') });    // dot product
   * ```
   */
  expr,
});
