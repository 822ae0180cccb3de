/**
 * Python's `multiprocessing.Lock`, in shared memory (see wait.ts for the mutex itself).
 * @module
 */
import { describe } from '../util/describe';
import { BRAND, deadlineOf, lockAsync, lockSync, unlock, type WaitOptions } from './wait';

/**
 * Python's `multiprocessing.Lock`, in shared memory: pass it to tasks, and they exclude
 * each other (and the main thread). Not re-entrant, not owned: any thread may release it,
 * as in Python. A worker that dies holding it leaves it held (as a process does in Python).
 *
 * In a worker, `acquire()` blocks the thread; on the main thread use `acquireAsync()` /
 * `withLockAsync()`, which never block the event loop.
 *
 * @example
 * ```ts
 * const lock = new Lock();
 * const xs = [1, 2, 3];
 * await pool.starmap((lock, x) => lock.withLock(() => x * x), xs.map((x) => [lock, x])); // [1, 4, 9], one at a time
 * await lock.withLockAsync(() => console.log('the main thread, without blocking it'));
 * ```
 */
export class Lock {
  /** @internal */
  readonly [BRAND] = 'Lock' as const;
  /** The shared memory the lock lives in. */
  readonly buffer: SharedArrayBuffer;
  readonly #word: Int32Array;

  /**
   * A new lock, free. (`buffer`/`byteOffset` are for ferropool's own objects.)
   * @example
   * ```ts
   * const lock = new Lock();
   * lock.locked(); // false
   * ```
   */
  constructor(buffer?: SharedArrayBuffer, byteOffset = 0) {
    if (buffer !== undefined && !(buffer instanceof SharedArrayBuffer)) {
      throw new TypeError(`Lock: buffer must be a SharedArrayBuffer or omitted, got ${describe(buffer)}`);
    }
    this.buffer = buffer ?? new SharedArrayBuffer(4);
    this.#word = new Int32Array(this.buffer, byteOffset, 1);
  }

  /**
   * Takes the lock, waiting for it (this blocks the thread: use it in tasks, and
   * {@link Lock.acquireAsync} on the main thread). Returns false when `timeout` ran out.
   * @example
   * ```ts
   * // in a task:
   * if (lock.acquire({ timeout: 100 })) {
   *   try { work(); } finally { lock.release(); }
   * }
   * ```
   */
  acquire(options?: WaitOptions): boolean {
    return lockSync(this.#word, 0, deadlineOf(options, 'Lock.acquire'));
  }

  /**
   * Takes the lock without blocking the event loop; false when `timeout` ran out.
   * @example
   * ```ts
   * if (await lock.acquireAsync({ timeout: 1000 })) {
   *   try { work(); } finally { lock.release(); }
   * }
   * ```
   */
  acquireAsync(options?: WaitOptions): Promise<boolean> {
    try {
      return lockAsync(this.#word, 0, deadlineOf(options, 'Lock.acquireAsync'));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Takes the lock only if it is free now.
   * @example
   * ```ts
   * if (lock.tryAcquire()) {
   *   try { work(); } finally { lock.release(); }
   * } else {
   *   console.log('busy');
   * }
   * ```
   */
  tryAcquire(): boolean {
    return Atomics.compareExchange(this.#word, 0, 0, 1) === 0;
  }

  /**
   * Frees the lock. Releasing a lock that is not held throws (as in Python).
   * @example
   * ```ts
   * lock.tryAcquire();
   * lock.release();
   * lock.release(); // throws: the lock is not held
   * ```
   */
  release(): void {
    if (!unlock(this.#word, 0)) throw new Error('Lock.release: the lock is not held');
  }

  /**
   * Whether some thread holds the lock now.
   * @example
   * ```ts
   * lock.tryAcquire();
   * lock.locked(); // true
   * ```
   */
  locked(): boolean {
    return Atomics.load(this.#word, 0) !== 0;
  }

  /**
   * Runs `fn` holding the lock (blocking while it waits): Python's `with lock:`. When `fn`
   * returns a promise, the lock is released when it settles.
   * @example
   * ```ts
   * await pool.starmap((lock, c) => lock.withLock(() => { c.value += 1; }), [[lock, counter], [lock, counter]]);
   * ```
   */
  withLock<T>(fn: () => T): T {
    if (typeof fn !== 'function') throw new TypeError(`Lock.withLock: fn must be a function, got ${describe(fn)}`);
    this.acquire();
    return holding(this, fn);
  }

  /**
   * {@link Lock.withLock} for the main thread: waits without blocking the event loop.
   * @example
   * ```ts
   * const snapshot = await lock.withLockAsync(() => counter.value);
   * ```
   */
  async withLockAsync<T>(fn: () => T | Promise<T>): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError(`Lock.withLockAsync: fn must be a function, got ${describe(fn)}`);
    await this.acquireAsync();
    return await holding(this, fn);
  }
}

function holding<T>(lock: Lock, fn: () => T): T {
  let r: T;
  try {
    r = fn();
  } catch (err) {
    lock.release();
    throw err;
  }
  if (r !== null && (typeof r === 'object' || typeof r === 'function') && typeof (r as { then?: unknown }).then === 'function') {
    return (r as unknown as Promise<unknown>).finally(() => lock.release()) as T;
  }
  lock.release();
  return r;
}
