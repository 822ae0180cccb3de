/**
 * `Executor`: Python's `concurrent.futures.ProcessPoolExecutor`, on the same engine as
 * {@link Pool} (its calls are a Pool's batched `apply`s and `starmap`s).
 * @module
 */
import { AbortError, PoolStateError, TimeoutError } from '../engine/errors';
import { describe } from '../util/describe';
import { Pool, type PoolOptions, type TaskFn } from './pool';
import { checkExecutorOptions, positiveInteger } from '../engine/options';

/**
 * Options of {@link Executor}.
 * @example
 * ```ts
 * const ex = new Executor({
 *   maxWorkers: 2,
 *   initializer: (seed) => { globalThis.seed = seed; },
 *   initargs: [42],
 *   maxTasksPerChild: 100,
 * });
 * await ex.submit((x) => x + globalThis.seed, 1); // 43
 * ```
 */
export interface ExecutorOptions {
  /** The number of workers; defaults to `cpuCount()`. */
  maxWorkers?: number;
  /** Run once in every worker when it starts, with `initargs` (the workers then start with the executor). */
  initializer?: ((...args: any[]) => unknown) | object;
  /** Arguments of `initializer`. */
  initargs?: readonly unknown[];
  /** A worker is replaced after this many tasks. */
  maxTasksPerChild?: number;
}

/**
 * The pending result of {@link Executor.submit}: a real Promise, with Python's Future
 * methods. `cancel()` succeeds only while the call has not started.
 * @typeParam R - The result's type.
 * @example
 * ```ts
 * const f = ex.submit((x) => x * 2, 21);
 * f.running();             // true: handed to a worker at once (the executor's queue was empty)
 * console.log(await f);    // 42
 * f.done();                // true
 * f.cancel();              // false: too late
 * ```
 */
export interface Future<R> extends Promise<R> {
  /** Cancels the call if it has not started; the promise then rejects with `AbortError`. */
  cancel(): boolean;
  /** Whether `cancel()` succeeded. */
  cancelled(): boolean;
  /** Whether the call has started and not finished. */
  running(): boolean;
  /** Whether the call has finished (or was cancelled). */
  done(): boolean;
}

/**
 * Options of {@link Executor.map}.
 * @example
 * ```ts
 * for await (const r of ex.map((x) => x * 2, input, { timeout: 5000, chunksize: 16 })) console.log(r);
 * for await (const r of ex.map((x) => x * 2, endless(), { buffersize: 8 })) if (r > 100) break;
 * ```
 */
export interface ExecutorMapOptions {
  /** Ms from the `map()` call after which the iterator throws `TimeoutError`. */
  timeout?: number;
  /** Items sent to a worker as one future (default 1). */
  chunksize?: number;
  /** Read the iterables lazily, with at most this many chunks submitted ahead of the
   * results read (Python 3.14's `buffersize`); by default every call is submitted at once. */
  buffersize?: number;
}

type FutureState = 'pending' | 'running' | 'finished' | 'cancelled';

interface Queued {
  start(): void;
  cancel(): void;
}

const STATE = Symbol('ferropool.futureState');

interface FutureInternals {
  [STATE]: FutureState;
}

/**
 * Python's `ProcessPoolExecutor`. Calls wait in the executor's own queue until a worker is
 * about to be free (at most `2 × maxWorkers` are handed to the pool at once), so a
 * `Future` can be cancelled until then, as in Python.
 *
 * @example
 * ```ts
 * const ex = new Executor({ maxWorkers: 4 });
 * const futures = urls.map((u) => ex.submit(download, u));
 * for await (const f of Executor.asCompleted(futures)) console.log(await f);
 * await ex.shutdown();
 * ```
 */
export class Executor {
  readonly #pool: Pool;
  readonly #queue: Queued[] = [];
  readonly #window: number;
  #inFlight = 0;
  #shutdown = false;
  readonly #all = new Set<Promise<unknown>>();

  /**
   * An executor of `options.maxWorkers` workers (default {@link cpuCount}()).
   * @example
   * ```ts
   * const ex = new Executor({ maxWorkers: 4 });
   * ```
   */
  constructor(options: ExecutorOptions = {}) {
    const { processes, initializer, initargs, maxTasksPerChild } = checkExecutorOptions(options);
    this.#pool = new Pool({ processes, initializer, initargs, maxTasksPerChild } as PoolOptions);
    this.#window = 2 * this.#pool.processes;
  }

  /**
   * The number of workers.
   * @example
   * ```ts
   * new Executor({ maxWorkers: 4 }).maxWorkers; // 4
   * ```
   */
  get maxWorkers(): number {
    return this.#pool.processes;
  }

  /**
   * Schedules `fn(...args)` and returns its {@link Future}.
   * @example
   * ```ts
   * const f = ex.submit((a, b) => a + b, 1, 2);
   * console.log(await f); // 3
   * ```
   */
  submit<A extends unknown[], R>(fn: TaskFn<A, R | Promise<R>>, ...args: A): Future<R> {
    if (this.#shutdown) throw new PoolStateError('cannot schedule new futures after shutdown()', 'ERR_POOL_NOT_RUNNING');
    return this.#enqueue(() => this.#pool.apply(fn, args) as Promise<R>);
  }

  /** A future of `run()`, which starts when the executor's window has room (see #pump). */
  #enqueue<R>(run: () => Promise<R>): Future<R> {
    let resolve!: (v: R) => void;
    let reject!: (e: unknown) => void;
    const future = new Promise<R>((res, rej) => {
      resolve = res;
      reject = rej;
    }) as Future<R> & FutureInternals;
    future[STATE] = 'pending';
    const entry: Queued = {
      start: () => {
        future[STATE] = 'running';
        this.#inFlight++;
        run().then(
          (v) => {
            future[STATE] = 'finished';
            resolve(v as R);
          },
          (e: unknown) => {
            future[STATE] = 'finished';
            reject(e);
          },
        ).finally(() => {
          this.#inFlight--;
          this.#pump();
        });
      },
      cancel: () => {
        future[STATE] = 'cancelled';
        reject(new AbortError('the future was cancelled'));
      },
    };
    Object.defineProperties(future, {
      cancel: {
        value: () => {
          if (future[STATE] !== 'pending') return future[STATE] === 'cancelled';
          const at = this.#queue.indexOf(entry);
          if (at >= 0) this.#queue.splice(at, 1);
          entry.cancel();
          return true;
        },
      },
      cancelled: { value: () => future[STATE] === 'cancelled' },
      running: { value: () => future[STATE] === 'running' },
      done: { value: () => future[STATE] === 'finished' || future[STATE] === 'cancelled' },
    });
    future.catch(() => {}); // a future nobody awaits must not be an unhandled rejection
    this.#all.add(future);
    void future.then(
      () => this.#all.delete(future),
      () => this.#all.delete(future),
    );
    this.#queue.push(entry);
    this.#pump();
    return future;
  }

  #pump(): void {
    while (this.#inFlight < this.#window && this.#queue.length > 0) this.#queue.shift()!.start();
  }

  /**
   * Python's `Executor.map`: `fn` over the zipped `iterables`, results in order. Like
   * Python's, it reads the iterables and submits every call when it is called (work
   * accepted before {@link shutdown} is never lost, and runs whether or not the results
   * are read); `chunksize` items go to a worker as one future. `timeout` (ms) counts from
   * this call; when it runs out, the iterator throws `TimeoutError`. Once the iterator
   * ends early (a timeout, an error, a `break`), the calls still queued are cancelled.
   *
   * With `buffersize` (Python 3.14's), the iterables are read lazily instead: at most
   * `buffersize` chunks are submitted ahead of the results read, so an endless iterable
   * works and memory stays bounded; chunks not yet submitted at {@link shutdown} are not run.
   * @example
   * ```ts
   * for await (const r of ex.map((a, b) => a * b, [1, 2, 3], [4, 5, 6])) console.log(r); // 4 10 18
   * const it = ex.map((x) => x * 2, [1, 2, 3]); // all three submitted now
   * await ex.shutdown({ wait: false });         // ...so they still run
   * for await (const r of ex.map((x) => x + 1, naturals(), { buffersize: 8 })) if (r > 100) break;
   * ```
   */
  map<R>(fn: TaskFn<any[], R | Promise<R>>, ...rest: Array<Iterable<unknown> | ExecutorMapOptions>): AsyncIterableIterator<R> {
    if (this.#shutdown) throw new PoolStateError('cannot schedule new futures after shutdown()', 'ERR_POOL_NOT_RUNNING');
    const last = rest[rest.length - 1];
    const opts = typeof last === 'object' && last !== null && !isIterable(last) ? (rest.pop() as ExecutorMapOptions) : {};
    const iterables = rest as Iterable<unknown>[];
    if (iterables.length === 0) throw new TypeError('Executor.map needs at least one iterable');
    iterables.forEach((it, i) => {
      if (!isIterable(it)) throw new TypeError(`Executor.map: argument ${i + 1} must be an iterable, got ${describe(it)}`);
    });
    if (opts.timeout !== undefined && !(typeof opts.timeout === 'number' && opts.timeout >= 0)) {
      throw new RangeError(`Executor.map: timeout must be a non-negative number of ms, got ${describe(opts.timeout)}`);
    }
    const chunksize = opts.chunksize === undefined ? 1 : positiveInteger(opts.chunksize, 'chunksize');
    const buffersize = opts.buffersize === undefined ? undefined : positiveInteger(opts.buffersize, 'buffersize');
    const deadline = opts.timeout === undefined ? undefined : Date.now() + opts.timeout;
    const chunks = chunked(zip(iterables), chunksize);
    const submitChunk = (tuples: unknown[][]): Future<R[]> =>
      chunksize === 1
        ? this.#enqueue(() => this.#pool.apply(fn, tuples[0]).then((r) => [r as R]))
        : this.#enqueue(() => this.#pool.starmap(fn, tuples, { chunksize: tuples.length }) as Promise<R[]>);
    const futures: Future<R[]>[] = [];
    /** Submits the next chunk; false when the input is exhausted. */
    const submitNext = (): boolean => {
      const step = chunks.next();
      if (step.done) return false;
      futures.push(submitChunk(step.value));
      return true;
    };
    if (buffersize === undefined) while (submitNext());
    else for (let i = 0; i < buffersize && submitNext(); i++);
    const timeout = opts.timeout;
    const shut = () => this.#shutdown;
    async function* results(): AsyncGenerator<R> {
      try {
        while (futures.length > 0) {
          const future = futures.shift()!;
          // Python 3.14: the next chunk goes in as a result comes out (not after shutdown()).
          if (buffersize !== undefined && !shut()) submitNext();
          let values: R[];
          if (deadline === undefined) values = await future;
          else {
            let timer: NodeJS.Timeout | undefined;
            const late = new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new TimeoutError(`Executor.map did not finish within ${timeout} ms`)), Math.max(0, deadline - Date.now()));
            });
            try {
              values = await Promise.race([future, late]);
            } finally {
              clearTimeout(timer);
            }
          }
          for (const v of values) yield v;
        }
      } finally {
        // As Python's: what the caller will not read and has not started is cancelled.
        for (const f of futures) f.cancel();
        futures.length = 0;
      }
    }
    return results();
  }

  /**
   * Stops accepting work. With `wait` (default), resolves when every scheduled future has
   * settled and the workers have exited; with `cancelFutures`, futures not yet started
   * are cancelled first.
   * @example
   * ```ts
   * await ex.shutdown(); // waits for every future, then for the workers to exit
   * // or: await ex.shutdown({ cancelFutures: true }); // the queued futures reject with AbortError
   * ```
   */
  async shutdown({ wait = true, cancelFutures = false }: { wait?: boolean; cancelFutures?: boolean } = {}): Promise<void> {
    this.#shutdown = true;
    if (cancelFutures) for (const entry of this.#queue.splice(0)) entry.cancel();
    if (!wait) {
      void Promise.allSettled([...this.#all]).then(() => this.#pool.close());
      return;
    }
    await Promise.allSettled([...this.#all]);
    this.#pool.close();
    await this.#pool.join();
  }

  /**
   * `await using ex = new Executor()`: `shutdown({ wait: true })`.
   * @example
   * ```ts
   * {
   *   await using ex = new Executor();
   *   console.log(await ex.submit((a, b) => a + b, 1, 2));
   * } // await ex.shutdown() here
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  /**
   * Python's `as_completed`: yields each future as it settles, those already settled
   * first, each once. With `timeout` (ms), throws `TimeoutError` saying how many are left.
   * (A hand-written iterator: an async generator would await the futures it yields.)
   * @example
   * ```ts
   * for await (const f of Executor.asCompleted(futures, { timeout: 5000 })) console.log(await f);
   * ```
   */
  static asCompleted<R>(futures: Iterable<Promise<R>>, { timeout }: { timeout?: number } = {}): AsyncIterableIterator<Promise<R>> {
    const all = [...new Set(futures)];
    const ready = all.filter((f) => isDone(f));
    const waiting = new Map(all.filter((f) => !isDone(f)).map((f) => [f, f.then(() => ({ f }), () => ({ f }))]));
    const deadline = timeout === undefined ? undefined : Date.now() + timeout;
    const iterator: AsyncIterableIterator<Promise<R>> = {
      [Symbol.asyncIterator]: () => iterator,
      async next() {
        if (ready.length > 0) return { value: ready.shift()!, done: false };
        if (waiting.size === 0) return { value: undefined, done: true };
        const race: Promise<{ f: Promise<R> } | undefined>[] = [...waiting.values()];
        let timer: NodeJS.Timeout | undefined;
        if (deadline !== undefined) race.push(new Promise((res) => (timer = setTimeout(res, Math.max(0, deadline - Date.now()), undefined))));
        const next = await Promise.race(race);
        if (timer) clearTimeout(timer);
        if (next === undefined) throw new TimeoutError(`${waiting.size} (of ${all.length}) futures unfinished`);
        waiting.delete(next.f);
        return { value: next.f, done: false };
      },
      async return() {
        waiting.clear();
        ready.length = 0;
        return { value: undefined, done: true };
      },
    };
    return iterator;
  }

  /**
   * Python's `wait`: resolves with `{ done, notDone }` when `returnWhen` is met or after
   * `timeout` ms (never rejects). With no futures it resolves at once, with two empty sets;
   * a cancelled future is done, but not an exception for `'FIRST_EXCEPTION'`.
   * @example
   * ```ts
   * const { done, notDone } = await Executor.wait(futures, { timeout: 5000, returnWhen: 'FIRST_EXCEPTION' });
   * for (const f of notDone) f.cancel();
   * ```
   */
  static async wait<R>(
    futures: Iterable<Promise<R>>,
    { timeout, returnWhen = 'ALL_COMPLETED' }: { timeout?: number; returnWhen?: 'FIRST_COMPLETED' | 'FIRST_EXCEPTION' | 'ALL_COMPLETED' } = {},
  ): Promise<{
    /** The futures that have settled (fulfilled, rejected or cancelled). */
    done: Set<Promise<R>>;
    /** The others. */
    notDone: Set<Promise<R>>;
  }> {
    if (!['FIRST_COMPLETED', 'FIRST_EXCEPTION', 'ALL_COMPLETED'].includes(returnWhen)) {
      throw new TypeError(`Executor.wait: returnWhen must be 'FIRST_COMPLETED', 'FIRST_EXCEPTION' or 'ALL_COMPLETED', got ${describe(returnWhen)}`);
    }
    const all = new Set(futures);
    const done = new Set<Promise<R>>();
    const failed = new Set<Promise<R>>();
    // As Python's: nothing to wait for returns at once, whatever `returnWhen` says; a
    // cancelled future is done but is no exception (FIRST_EXCEPTION goes on waiting).
    const enough = () => done.size === all.size || (returnWhen === 'FIRST_COMPLETED' ? done.size > 0 : returnWhen === 'FIRST_EXCEPTION' && failed.size > 0);
    if (all.size === 0) return { done, notDone: new Set() };
    await new Promise<void>((resolve) => {
      const timer = timeout === undefined ? undefined : setTimeout(resolve, timeout);
      const check = () => {
        if (enough()) {
          if (timer) clearTimeout(timer);
          resolve();
        }
      };
      for (const f of all) {
        f.then(
          () => done.add(f),
          () => {
            done.add(f);
            if ((f as Partial<FutureInternals>)[STATE] !== 'cancelled') failed.add(f);
          },
        ).then(check);
      }
      check();
    });
    return { done: new Set(done), notDone: new Set([...all].filter((f) => !done.has(f))) };
  }
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function';
}

function* zip(iterables: Iterable<unknown>[]): Generator<unknown[]> {
  const its = iterables.map((it) => it[Symbol.iterator]());
  for (;;) {
    const steps = its.map((it) => it.next());
    if (steps.some((s) => s.done)) return;
    yield steps.map((s) => s.value);
  }
}

/** `items` in arrays of `size` (the last may be shorter), read as they are asked for. */
function* chunked<T>(items: Iterator<T>, size: number): Generator<T[]> {
  for (;;) {
    const chunk: T[] = [];
    while (chunk.length < size) {
      const step = items.next();
      if (step.done) break;
      chunk.push(step.value);
    }
    if (chunk.length === 0) return;
    yield chunk;
    if (chunk.length < size) return;
  }
}

function isDone(f: Promise<unknown>): boolean {
  const state = (f as Partial<FutureInternals>)[STATE];
  return state === 'finished' || state === 'cancelled';
}
