/**
 * Which thread a task runs on: Python's `multiprocessing.current_process()` (and the
 * `os.getpid()` of its examples, which would be one number here: workers are threads).
 * @module
 */
import { isMainThread, threadId } from 'node:worker_threads';

/**
 * What {@link currentProcess} says about the thread it is called on.
 * @example
 * ```ts
 * const { name, pid, threadId, workerId } = currentProcess(); // on the main thread:
 * // name 'MainProcess', pid process.pid, threadId 0, workerId 0
 * ```
 */
export interface ProcessInfo {
  /** `'MainProcess'`, `'PoolWorker-<n>'` in a pool's worker, or a {@link Process}'s name. */
  readonly name: string;
  /** The OS process id: the same for every thread of the program. */
  readonly pid: number;
  /** The Node thread id (`worker_threads.threadId`): unique to each worker ever started. */
  readonly threadId: number;
  /** A pool worker's number within its pool (1, 2, …; a replacement gets a new one); 0 elsewhere. */
  readonly workerId: number;
}

const IDENTITY = Symbol.for('ferropool.identity');

/** Records what this thread is (called once by a worker as it starts). @internal */
export function setIdentity(name: string, workerId: number): void {
  (globalThis as { [IDENTITY]?: ProcessInfo })[IDENTITY] = Object.freeze({ name, pid: process.pid, threadId, workerId });
}

/**
 * Says which thread runs the caller: in a task, which worker. Shipped functions can call it
 * by this name without importing it (the workers provide it), as can module tasks that
 * import it from ferropool.
 *
 * @example
 * ```ts
 * const who = await pool.map((x) => `${currentProcess().name} squared ${x}`, [1, 2, 3]);
 * // e.g. [ 'PoolWorker-1 squared 1', 'PoolWorker-2 squared 2', … ]
 * ```
 */
export function currentProcess(): ProcessInfo {
  const own = (globalThis as { [IDENTITY]?: ProcessInfo })[IDENTITY];
  if (own) return own;
  return Object.freeze({ name: isMainThread ? 'MainProcess' : `Thread-${threadId}`, pid: process.pid, threadId, workerId: 0 });
}
