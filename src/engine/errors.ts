/**
 * Every error class ferropool rejects with. All of them set `name`, so they can be told
 * apart after crossing a worker boundary too.
 * @module
 */

/**
 * A call was made on a pool in the wrong state (closed, terminated, still running).
 * @example
 * ```ts
 * const pool = new Pool();
 * pool.close();
 * await pool.apply(() => 1);  // rejects: PoolStateError: Pool not running (it is closed); apply() needs a running pool
 * await new Pool().join();    // rejects: PoolStateError: Pool is still running: call close() or terminate() before join()
 * ```
 */
export class PoolStateError extends Error {
  /** Always `'PoolStateError'`. */
  override name = 'PoolStateError';
  /**
   * What went wrong, stable across versions (messages may change):
   * `'ERR_POOL_TERMINATED'` (the pool was terminated while the call was pending),
   * `'ERR_POOL_NOT_RUNNING'` (a call on a closed or terminated pool, or an executor after
   * `shutdown()`), `'ERR_POOL_RUNNING'` (`join()` before `close()`/`terminate()`),
   * `'ERR_RESULT_NOT_READY'` (`AsyncResult.successful()` too early), `'ERR_PROCESS_STATE'`
   * (a `Process` started twice or joined before it started).
   */
  readonly code: PoolStateErrorCode;
  /**
   * @param message - The error's message.
   * @param code - Its {@link PoolStateError.code}.
   * @example
   * ```ts
   * process.once('SIGINT', () => void pool.terminate());
   * try {
   *   await pool.map(work, items);
   * } catch (err) {
   *   if (err instanceof PoolStateError && err.code === 'ERR_POOL_TERMINATED') console.log('stopped by Ctrl-C');
   *   else throw err;
   * }
   * ```
   */
  constructor(message: string, code: PoolStateErrorCode = 'ERR_POOL_NOT_RUNNING') {
    super(message);
    this.code = code;
  }
}

/**
 * The values of {@link PoolStateError.code}.
 * @example
 * ```ts
 * const code: PoolStateErrorCode = 'ERR_POOL_TERMINATED';
 * ```
 */
export type PoolStateErrorCode = 'ERR_POOL_TERMINATED' | 'ERR_POOL_NOT_RUNNING' | 'ERR_POOL_RUNNING' | 'ERR_RESULT_NOT_READY' | 'ERR_PROCESS_STATE';

/**
 * The call's `signal` was aborted. `cause` is the signal's reason.
 * @example
 * ```ts
 * const ac = new AbortController();
 * const p = pool.map(kernels.sqrt, big, { signal: ac.signal });
 * ac.abort();
 * await p; // rejects with AbortError
 * ```
 */
export class AbortError extends Error {
  /** Always `'AbortError'`. */
  override name = 'AbortError';
  /**
   * @param message - The error's message.
   * @param options - `cause`: why it was aborted (the signal's `reason`).
   * @example
   * ```ts
   * const err = new AbortError('stopped by the user', { cause: 'user' });
   * err.cause; // 'user'
   * ```
   */
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The call's `timeout` (or `AsyncResult.get(timeout)`) ran out.
 * @example
 * ```ts
 * try {
 *   await pool.apply(() => { for (;;); }, [], { timeout: 1000 }); // stuck: its worker is replaced
 * } catch (err) {
 *   if (err instanceof TimeoutError) console.log('gave up after 1 s');
 * }
 * ```
 */
export class TimeoutError extends Error {
  /** Always `'TimeoutError'`. */
  override name = 'TimeoutError';
}

/**
 * A worker died while running a task; `index` is the input position it was running.
 * @example
 * ```ts
 * try {
 *   await pool.map((x) => (x === 3 ? process.exit(7) : x), [1, 2, 3]);
 * } catch (err) {
 *   if (err instanceof WorkerCrashedError) console.log(err.exitCode, err.index); // 7 2
 * }
 * // the worker was replaced: the pool still works
 * ```
 */
export class WorkerCrashedError extends Error {
  /** Always `'WorkerCrashedError'`. */
  override name = 'WorkerCrashedError';
  /**
   * @param message - The error's message.
   * @example
   * ```ts
   * const err = new WorkerCrashedError('the worker exited', 1, 0);
   * err.exitCode; // 1
   * ```
   */
  constructor(
    message: string,
    /** The worker's exit code. */
    readonly exitCode: number | undefined,
    /** The input position of the task that was running. */
    readonly index: number | undefined,
  ) {
    super(message);
  }
}

/**
 * A function cannot be shipped to the workers (a closure, a bound or a native function).
 * @example
 * ```ts
 * await pool.map(Math.sqrt, [1, 4]);           // rejects: a native function cannot be shipped
 * await pool.map((x) => Math.sqrt(x), [1, 4]); // [1, 2]: wrap it in a self-contained function
 * const k = 2;
 * await pool.map((x) => x * k, [1, 4]);        // rejects: the function uses k, which does not exist in the worker
 * ```
 */
export class TaskSerializationError extends TypeError {
  /** Always `'TaskSerializationError'`. */
  override name = 'TaskSerializationError';
}

/**
 * What the pending calls of a pool reject with when its `initializer` throws in a worker
 * (the pool stops instead of respawning workers that fail the same way); its `cause` is the
 * initializer's error. Errors that tasks throw arrive as themselves instead: the same class
 * when it is a standard one (`TypeError`, `RangeError`…), otherwise an `Error` with the
 * original `name`, `message`, own properties and the worker's stack.
 * @example
 * ```ts
 * const pool = new Pool({ initializer: () => { throw new Error('no config'); } });
 * try {
 *   await pool.apply(() => 1);
 * } catch (err) {
 *   if (err instanceof RemoteError) console.log(err.message); // the pool's initializer threw in a worker: no config
 * }
 * await pool.terminate();
 * ```
 */
export class RemoteError extends Error {
  /** Always `'RemoteError'`. */
  override name = 'RemoteError';
}
