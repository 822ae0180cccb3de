/**
 * Every error class ferropool rejects with. All of them set `name`, so they can be told
 * apart after crossing a worker boundary too.
 * @module
 */

/** A call was made on a pool in the wrong state (closed, terminated, still running). */
export class PoolStateError extends Error {
  override name = 'PoolStateError';
}

/**
 * The call's `signal` was aborted. `cause` is the signal's reason.
 * @example
 * const ac = new AbortController();
 * const p = pool.map(kernels.sqrt, big, { signal: ac.signal });
 * ac.abort();
 * await p; // rejects with AbortError
 */
export class AbortError extends Error {
  override name = 'AbortError';
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The call's `timeout` (or `AsyncResult.get(timeout)`) ran out. */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** A worker died while running a task; `index` is the input position it was running. */
export class WorkerCrashedError extends Error {
  override name = 'WorkerCrashedError';
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

/** A function cannot be shipped to the workers (a closure, a bound or a native function). */
export class TaskSerializationError extends TypeError {
  override name = 'TaskSerializationError';
}

/** An error thrown inside a worker whose class could not be recreated on this side. */
export class RemoteError extends Error {
  override name = 'RemoteError';
}
