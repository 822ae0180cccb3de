/**
 * `AsyncResult`: the handle `applyAsync`, `mapAsync` and `starmapAsync` return, as in
 * Python, and a thenable, so it can simply be awaited.
 * @module
 */
import { PoolStateError, TimeoutError } from '../engine/errors';
import { describe } from '../util/describe';
import { Deferred } from '../engine/batch';

/**
 * Callbacks of the `…Async` methods; each is called once, before `get()` resolves.
 * @typeParam R - The result's type.
 * @example
 * ```ts
 * pool.mapAsync((x) => 10 / x, [1, 2, 5], {
 *   callback: (values) => console.log(values),  // [10, 5, 2]
 *   errorCallback: (error) => console.error(error),
 * });
 * ```
 */
export interface AsyncCallbacks<R> {
  /** Called with the value when the work succeeds. */
  callback?: (value: R) => void;
  /** Called with the error when the work fails. */
  errorCallback?: (error: unknown) => void;
}

/**
 * The pending result of an `…Async` call.
 * @typeParam R - The result's type.
 * @example
 * ```ts
 * const r = pool.applyAsync((a, b) => a + b, [1, 2], { callback: (v) => console.log(v) });
 * await r.wait();
 * if (r.ready() && r.successful()) console.log(await r.get()); // 3
 * ```
 */
export class AsyncResult<R> implements PromiseLike<R> {
  readonly #outcome: Deferred<R>;

  /** @internal */
  constructor(work: Promise<R> | Deferred<R>, callbacks: AsyncCallbacks<R> = {}) {
    checkCallbacks(callbacks);
    if (work instanceof Deferred) {
      // Settled by the call itself (a batched apply), with no promise until one is asked for.
      this.#outcome = work;
      return;
    }
    const outcome = (this.#outcome = new Deferred<R>());
    // The callbacks run before anything waiting on the handle; a result nobody asks for
    // never becomes an unhandled rejection (these handlers handle it).
    work.then(
      (value) => {
        outcome.resolve(value);
        notify(callbacks.callback, value);
      },
      (error: unknown) => {
        outcome.reject(error);
        notify(callbacks.errorCallback, error);
      },
    );
  }

  get #state(): 'pending' | 'fulfilled' | 'rejected' {
    const s = this.#outcome.state;
    return s === 0 ? 'pending' : s === 1 ? 'fulfilled' : 'rejected';
  }


  /**
   * The value, once ready. With `timeoutMs`, rejects with `TimeoutError` if it is not ready
   * in time (the work goes on; ask again later).
   * @example
   * ```ts
   * const r = pool.applyAsync(fib, [35]);
   * try {
   *   console.log(await r.get(100));
   * } catch (err) {
   *   if (err instanceof TimeoutError) console.log('still running:', await r.get());
   * }
   * ```
   */
  get(timeoutMs?: number): Promise<R> {
    if (timeoutMs === undefined || this.#state !== 'pending') return this.#outcome.promise(true);
    checkTimeout(timeoutMs, 'get');
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => reject(new TimeoutError(`the result was not ready within ${timeoutMs} ms`)), timeoutMs);
      this.#outcome.promise().then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  /**
   * Resolves when the result is ready, or after `timeoutMs`; never rejects.
   * @example
   * ```ts
   * const r = pool.applyAsync(fib, [35]);
   * await r.wait(1000);
   * console.log(r.ready() ? 'done' : 'not within 1 s');
   * ```
   */
  wait(timeoutMs?: number): Promise<void> {
    if (timeoutMs !== undefined) checkTimeout(timeoutMs, 'wait');
    const settled = this.#outcome.promise().then(
      () => undefined,
      () => undefined,
    );
    if (timeoutMs === undefined || this.#state !== 'pending') return settled;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      void settled.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Whether the work has finished.
   * @example
   * ```ts
   * const r = pool.applyAsync((a, b) => a + b, [1, 2]);
   * r.ready(); // false: it has just been submitted
   * await r.wait();
   * r.ready(); // true
   * ```
   */
  ready(): boolean {
    return this.#state !== 'pending';
  }

  /**
   * Whether the work finished without error; throws `PoolStateError` when not ready.
   * @example
   * ```ts
   * const r = pool.applyAsync(() => { throw new Error('no'); });
   * await r.wait();
   * r.successful(); // false
   * ```
   */
  successful(): boolean {
    if (this.#state === 'pending') throw new PoolStateError('the result is not ready: successful() needs a finished call', 'ERR_RESULT_NOT_READY');
    return this.#state === 'fulfilled';
  }

  /**
   * Makes the handle awaitable: `await r` is `await r.get()`.
   * @example
   * ```ts
   * const sum = await pool.applyAsync((a, b) => a + b, [1, 2]); // 3
   * pool.applyAsync(() => 'hi').then((v) => console.log(v));
   * ```
   */
  then<A = R, B = never>(onFulfilled?: ((value: R) => A | PromiseLike<A>) | null, onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.#outcome.promise().then(onFulfilled, onRejected);
  }
}

/**
 * Calls a user's callback. If it throws, the result is still what it was: the callback's
 * error is raised on its own, like an event listener's (an uncaught exception).
 */
function notify<T>(callback: ((v: T) => void) | undefined, value: T): void {
  if (!callback) return;
  try {
    callback(value);
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}

function checkTimeout(ms: unknown, method: string): void {
  if (typeof ms !== 'number' || !(ms >= 0)) throw new RangeError(`AsyncResult.${method}: timeoutMs must be a non-negative number, got ${describe(ms)}`);
}

function checkCallbacks(cb: { callback?: unknown; errorCallback?: unknown }): void {
  if (typeof cb !== 'object' || cb === null) throw new TypeError(`callbacks must be an object, got ${describe(cb)}`);
  if (cb.callback !== undefined && typeof cb.callback !== 'function') throw new TypeError(`callback must be a function, got ${describe(cb.callback)}`);
  if (cb.errorCallback !== undefined && typeof cb.errorCallback !== 'function') {
    throw new TypeError(`errorCallback must be a function, got ${describe(cb.errorCallback)}`);
  }
}
