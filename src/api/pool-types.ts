/**
 * What `Pool` is made with and what its methods take, exported by index.ts through pool.ts:
 * its options, its state, the functions it runs, the options of its kernel calls, and
 * {@link cpuCount}.
 * @module
 */
import type { ResourceLimits } from 'node:worker_threads';
import type { ClusterOptions } from '../cluster/options';
import type { CallOptions, FloatArray } from '../engine/options';
import { native } from '../util/native';
import type { MapKernel } from './kernels';
import type { ModuleTask } from './task';

/**
 * Options of {@link Pool}'s constructor.
 * @example
 * ```ts
 * const pool = new Pool({
 *   processes: 4,
 *   initializer: (base) => { globalThis.base = base; }, // runs once in every worker
 *   initargs: [100],
 *   maxTasksPerChild: 1000,
 *   resourceLimits: { maxOldGenerationSizeMb: 512 },
 * });
 * await pool.map((x) => globalThis.base + x, [1, 2]); // [101, 102]
 * ```
 */
export interface PoolOptions {
  /** The number of workers; defaults to {@link cpuCount}(). Kernel calls use at most this many threads. */
  processes?: number;
  /** Run once in every worker when it starts, with `initargs`; with one, the workers start
   * when the pool is made (as Python's), and `close()` + `join()` waits for it to finish. */
  initializer?: ((...args: any[]) => unknown) | object;
  /** Arguments of `initializer`. */
  initargs?: readonly unknown[];
  /** A worker is replaced after this many tasks: a chunk of a map is one task, and so is
   * each `apply`/`applyAsync` call, batched or not (as Python counts them). */
  maxTasksPerChild?: number;
  /**
   * Let small calls of a cheap function run on the calling thread (default `false`): once
   * the workers have measured a function, a call predicted to be cheap skips the round
   * trip to a worker (two thread wake-ups; much faster hot loops of tiny calls, see
   * docs/performance.md). Opt in only for trusted functions: a task run this way shares the caller's
   * globals, a `process.exit()` in it ends the process (no `WorkerCrashedError`), and an
   * endless loop in it cannot be stopped.
   */
  inline?: boolean;
  /** V8 heap limits of each worker (see `worker_threads` `resourceLimits`): a task that
   * exceeds them fails with `WorkerCrashedError` and its worker is replaced. */
  resourceLimits?: ResourceLimits;
  /**
   * Run the chunks on other machines: worker hosts started with `npx ferropool worker`
   * on a BullMQ queue in Redis (needs the optional packages `bullmq` and `ioredis`; see
   * docs/cluster.md). Every method keeps its meaning; `processes` is then only a hint.
   */
  cluster?: ClusterOptions;
}

/**
 * The number of CPUs this process may use: `os.availableParallelism()`, or the
 * `FERROPOOL_THREADS` environment variable when it is set.
 * @example
 * ```ts
 * import { Pool, cpuCount } from 'ferropool';
 * const pool = new Pool(cpuCount()); // what new Pool() does
 * ```
 */
export function cpuCount(): number {
  return native.cpuCount();
}

/**
 * `'running'`, then `'closed'` after {@link Pool.close} or `'terminated'` after {@link Pool.terminate}.
 * @example
 * ```ts
 * const pool = new Pool();
 * pool.state; // 'running'
 * pool.close();
 * pool.state; // 'closed'
 * ```
 */
export type PoolState = 'running' | 'closed' | 'terminated';

/**
 * A function a pool can run: a self-contained JS function or a {@link task}.
 * @typeParam A - Its arguments.
 * @typeParam R - What it returns.
 * @example
 * ```ts
 * const double: TaskFn<[number], number> = (x) => x * 2;
 * const sha: TaskFn<[string], string> = task('./tasks.mjs', 'sha');
 * await pool.map(double, [1, 2, 3]); // [2, 4, 6]
 * await pool.map(sha, ['a', 'b']);
 * ```
 */
export type TaskFn<A extends unknown[] = any[], R = unknown> = ((...args: A) => R) | ModuleTask<(...args: A) => R>;

/**
 * Options of {@link Pool.map} with a kernel.
 * @typeParam Out - The type of `out`: `Float64Array` or `Float32Array`.
 * @example
 * ```ts
 * const data = new Float64Array([1, -2, 3]);
 * await pool.map(kernels.affine(2, 1), data, { out: data, chunksize: 65_536 });
 * data; // Float64Array [3, -3, 7]
 * ```
 */
export interface KernelMapOptions<Out extends FloatArray = FloatArray> extends CallOptions {
  /** Write the results here (same type and length as the input; may be the input itself). */
  out?: Out;
}

/**
 * Options of {@link Pool.reduce} with a kernel.
 * @example
 * ```ts
 * await pool.reduce(kernels.sum, [-1, 2], { map: kernels.abs }); // 3: the L1 norm, no temporary array
 * await pool.reduce(kernels.max, data, { initial: 0, timeout: 5000 });
 * ```
 */
export interface KernelReduceOptions extends CallOptions {
  /** The value the reduction starts from (not with `kernels.mean`). */
  initial?: number;
  /** An element-wise kernel applied to each element first, fused: no temporary array. */
  map?: MapKernel;
}
