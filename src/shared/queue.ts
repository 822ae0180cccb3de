/**
 * Python's `multiprocessing.Queue`: a bounded ring of encoded items in one
 * SharedArrayBuffer, guarded by a mutex word, with blocking and async put and get.
 * @module
 */
import { decodeAny, encodeAny } from '../util/codec';
import { describe } from '../util/describe';
import { BRAND, deadlineOf, lockAsync, lockSync, remaining, unlock, type WaitOptions, waitAsync } from './wait';

/** Queue header words (Int32). */
const enum Q {
  Lock = 0,
  Count = 1,
  Head = 2,
  Tail = 3,
  Used = 4,
  MaxSize = 5,
  NotEmpty = 6,
  NotFull = 7,
  Capacity = 8,
}
const Q_HEADER = 64;

/**
 * Options of {@link Queue}.
 * @example
 * ```ts
 * const q = new Queue({ maxsize: 100, bytes: 4 << 20 }); // at most 100 items, in 4 MiB
 * ```
 */
export interface QueueOptions {
  /** The most items it holds (`put` waits when it is full); 0 (default): no limit but `bytes`. */
  maxsize?: number;
  /** The shared memory for the items, serialised (default 1 MiB); `put` waits for room. */
  bytes?: number;
}

/**
 * `get` found the queue empty (Python's `queue.Empty`).
 * @example
 * ```ts
 * try {
 *   new Queue().getNowait();
 * } catch (err) {
 *   if (err instanceof QueueEmptyError) console.log('nothing yet');
 * }
 * ```
 */
export class QueueEmptyError extends Error {
  /** Always `'QueueEmptyError'`. */
  override name = 'QueueEmptyError';
}

/**
 * `put` found the queue full (Python's `queue.Full`).
 * @example
 * ```ts
 * const q = new Queue(1);
 * q.putNowait('a');
 * q.putNowait('b'); // throws QueueFullError
 * ```
 */
export class QueueFullError extends Error {
  /** Always `'QueueFullError'`. */
  override name = 'QueueFullError';
}

/**
 * Python's `multiprocessing.Queue`: a first-in first-out queue of structured-clonable
 * values in shared memory, bounded (by `maxsize` items and by `bytes`), for tasks and the
 * main thread to pass work and results. `put`/`get` block the thread while they wait (use
 * them in tasks); `putAsync`/`getAsync` are for the main thread and never block the event
 * loop.
 *
 * @example
 * ```ts
 * const q = new Queue();
 * await pool.starmap((q, x) => q.put({ x, square: x * x }), [[q, 1], [q, 2], [q, 3]]);
 * while (!q.empty()) console.log(await q.getAsync());
 * ```
 * @typeParam T - The items' type.
 */
export class Queue<T = unknown> {
  /** @internal */
  readonly [BRAND] = 'Queue' as const;
  /** The shared memory the queue lives in. */
  readonly buffer: SharedArrayBuffer;
  readonly #h: Int32Array;
  readonly #data: Uint8Array;
  readonly #cap: number;

  /**
   * A new queue; `new Queue(maxsize)` as in Python, or with {@link QueueOptions}.
   * @example
   * ```ts
   * const unbounded = new Queue();     // limited only by its 1 MiB
   * const ten = new Queue<number>(10); // Python's Queue(10)
   * ```
   */
  constructor(options?: number | QueueOptions);
  /** @internal */
  constructor(options: undefined, buffer: SharedArrayBuffer);
  constructor(options?: number | QueueOptions, buffer?: SharedArrayBuffer) {
    if (buffer === undefined) {
      const o: QueueOptions = typeof options === 'number' ? { maxsize: options } : (options ?? {});
      if (typeof o !== 'object' || o === null) throw new TypeError(`Queue: options must be a maxsize or an object, got ${describe(options)}`);
      const maxsize = o.maxsize ?? 0;
      if (typeof maxsize !== 'number' || !Number.isInteger(maxsize) || maxsize < 0 || maxsize > 0x7fffffff) {
        throw new RangeError(`Queue: maxsize must be an integer >= 0 (0: no limit), got ${describe(maxsize)}`);
      }
      const bytes = o.bytes ?? 1 << 20;
      if (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 64 || bytes > 0x7fffffff) {
        throw new RangeError(`Queue: bytes must be an integer from 64 to 2^31-1, got ${describe(bytes)}`);
      }
      buffer = new SharedArrayBuffer(Q_HEADER + bytes);
      const h = new Int32Array(buffer, 0, Q_HEADER / 4);
      h[Q.MaxSize] = maxsize;
      h[Q.Capacity] = bytes;
    }
    this.buffer = buffer;
    this.#h = new Int32Array(buffer, 0, Q_HEADER / 4);
    this.#cap = this.#h[Q.Capacity]!;
    this.#data = new Uint8Array(buffer, Q_HEADER, this.#cap);
  }

  /**
   * The number of items in the queue now (Python's `qsize()`).
   * @example
   * ```ts
   * q.putNowait(1);
   * q.size(); // 1
   * ```
   */
  size(): number {
    return Atomics.load(this.#h, Q.Count);
  }

  /**
   * Whether the queue is empty now.
   * @example
   * ```ts
   * while (!q.empty()) console.log(q.getNowait());
   * ```
   */
  empty(): boolean {
    return this.size() === 0;
  }

  /**
   * Whether the queue holds `maxsize` items now.
   * @example
   * ```ts
   * const q = new Queue(1);
   * q.putNowait('a');
   * q.full(); // true
   * ```
   */
  full(): boolean {
    const max = this.#h[Q.MaxSize]!;
    return max > 0 && this.size() >= max;
  }

  /**
   * The most items it holds (0: bounded only by its bytes).
   * @example
   * ```ts
   * new Queue(10).maxsize; // 10
   * new Queue().maxsize;   // 0
   * ```
   */
  get maxsize(): number {
    return this.#h[Q.MaxSize]!;
  }

  /**
   * Adds `item` at the end, waiting (blocking the thread) while the queue is full;
   * throws {@link QueueFullError} when `timeout` runs out.
   * @example
   * ```ts
   * // in a task, or in a Process's target:
   * const p = new Process({ target: (q) => q.put({ done: true }, { timeout: 1000 }), args: [q] });
   * ```
   */
  put(item: T, options?: WaitOptions): void {
    const bytes = this.#encode(item, 'Queue.put');
    const deadline = deadlineOf(options, 'Queue.put');
    for (;;) {
      if (!lockSync(this.#h, Q.Lock, deadline)) break;
      const seen = this.#tryPut(bytes);
      if (seen === true) return;
      const left = remaining(deadline);
      if (left === 0) break;
      Atomics.wait(this.#h, Q.NotFull, seen, left);
    }
    throw new QueueFullError('Queue.put: the queue stayed full until the timeout');
  }

  /**
   * Adds `item` now, or throws {@link QueueFullError}.
   * @example
   * ```ts
   * try {
   *   q.putNowait(job);
   * } catch (err) {
   *   if (err instanceof QueueFullError) console.log('dropped: the consumers are behind');
   * }
   * ```
   */
  putNowait(item: T): void {
    this.put(item, { timeout: 0 });
  }

  /**
   * {@link Queue.put} for the main thread: waits for room without blocking the event loop.
   * @example
   * ```ts
   * for (const job of jobs) await q.putAsync(job); // waits while the queue is full
   * ```
   */
  async putAsync(item: T, options?: WaitOptions): Promise<void> {
    const bytes = this.#encode(item, 'Queue.putAsync');
    const deadline = deadlineOf(options, 'Queue.putAsync');
    for (;;) {
      if (!(await lockAsync(this.#h, Q.Lock, deadline))) break;
      const seen = this.#tryPut(bytes);
      if (seen === true) return;
      const left = remaining(deadline);
      if (left === 0) break;
      await waitAsync(this.#h, Q.NotFull, seen, left);
    }
    throw new QueueFullError('Queue.putAsync: the queue stayed full until the timeout');
  }

  /**
   * Removes and returns the first item, waiting (blocking the thread) while the queue is
   * empty; throws {@link QueueEmptyError} when `timeout` runs out. On the main thread use
   * {@link Queue.getAsync}.
   * @example
   * ```ts
   * // in a task: take jobs until a null arrives
   * q.putNowait('a'); q.putNowait('b'); q.putNowait(null);
   * await pool.apply((q) => { const jobs = []; for (let job; (job = q.get()) !== null; ) jobs.push(job); return jobs; }, [q]); // ['a', 'b']
   * ```
   */
  get(options?: WaitOptions): T {
    const deadline = deadlineOf(options, 'Queue.get');
    for (;;) {
      if (!lockSync(this.#h, Q.Lock, deadline)) break;
      const got = this.#tryGet();
      if (typeof got !== 'number') return decodeAny(got) as T;
      const left = remaining(deadline);
      if (left === 0) break;
      Atomics.wait(this.#h, Q.NotEmpty, got, left);
    }
    throw new QueueEmptyError('Queue.get: the queue stayed empty until the timeout');
  }

  /**
   * Removes and returns the first item now, or throws {@link QueueEmptyError}.
   * @example
   * ```ts
   * const q = new Queue();
   * q.putNowait('a');
   * q.getNowait(); // 'a'
   * ```
   */
  getNowait(): T {
    return this.get({ timeout: 0 });
  }

  /**
   * Removes and returns the first item, waiting without blocking the event loop.
   * @example
   * ```ts
   * const p = new Process({ target: (q) => q.put('hello'), args: [q] });
   * p.start();
   * console.log(await q.getAsync({ timeout: 5000 })); // 'hello'
   * ```
   */
  async getAsync(options?: WaitOptions): Promise<T> {
    const deadline = deadlineOf(options, 'Queue.getAsync');
    for (;;) {
      if (!(await lockAsync(this.#h, Q.Lock, deadline))) break;
      const got = this.#tryGet();
      if (typeof got !== 'number') return decodeAny(got) as T;
      const left = remaining(deadline);
      if (left === 0) break;
      await waitAsync(this.#h, Q.NotEmpty, got, left);
    }
    throw new QueueEmptyError('Queue.getAsync: the queue stayed empty until the timeout');
  }

  #encode(item: T, method: string): Buffer {
    let bytes: Buffer;
    try {
      bytes = encodeAny(item);
    } catch (err) {
      throw new TypeError(`${method}: the item cannot be put in a queue: ${(err as Error).message} (queues hold structured-clone values)`);
    }
    if (bytes.length + 4 > this.#cap) {
      throw new RangeError(`${method}: the item takes ${bytes.length + 4} bytes, more than the queue's ${this.#cap}; create it with new Queue({ bytes })`);
    }
    return bytes;
  }

  /** With the queue's mutex held: stores `bytes` and returns true, or returns the
   * not-full sequence number to wait on. Releases the mutex. */
  #tryPut(bytes: Uint8Array): true | number {
    const h = this.#h;
    const need = bytes.length + 4;
    const max = h[Q.MaxSize]!;
    if ((max > 0 && h[Q.Count]! >= max) || this.#cap - h[Q.Used]! < need) {
      const seen = Atomics.load(h, Q.NotFull);
      unlock(h, Q.Lock);
      return seen;
    }
    let tail = h[Q.Tail]!;
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, bytes.length, true);
    tail = this.#write(tail, len);
    tail = this.#write(tail, bytes);
    h[Q.Tail] = tail;
    h[Q.Used] = h[Q.Used]! + need;
    Atomics.add(h, Q.Count, 1);
    Atomics.add(h, Q.NotEmpty, 1);
    unlock(h, Q.Lock);
    Atomics.notify(h, Q.NotEmpty);
    return true;
  }

  /** With the mutex held: the first item's bytes, or the not-empty sequence number to
   * wait on. Releases the mutex. */
  #tryGet(): Uint8Array | number {
    const h = this.#h;
    if (h[Q.Count] === 0) {
      const seen = Atomics.load(h, Q.NotEmpty);
      unlock(h, Q.Lock);
      return seen;
    }
    let head = h[Q.Head]!;
    const len = new Uint8Array(4);
    head = this.#read(head, len);
    const bytes = new Uint8Array(new DataView(len.buffer).getUint32(0, true));
    head = this.#read(head, bytes);
    h[Q.Head] = head;
    h[Q.Used] = h[Q.Used]! - bytes.length - 4;
    Atomics.sub(h, Q.Count, 1);
    Atomics.add(h, Q.NotFull, 1);
    unlock(h, Q.Lock);
    Atomics.notify(h, Q.NotFull);
    return bytes;
  }

  /** Copies `src` into the ring at `at`; returns the position after it. */
  #write(at: number, src: Uint8Array): number {
    const first = Math.min(src.length, this.#cap - at);
    this.#data.set(src.subarray(0, first), at);
    if (first < src.length) this.#data.set(src.subarray(first), 0);
    return (at + src.length) % this.#cap;
  }

  /** Copies from the ring at `at` into `dst`; returns the position after it. */
  #read(at: number, dst: Uint8Array): number {
    const first = Math.min(dst.length, this.#cap - at);
    dst.set(this.#data.subarray(at, at + first), 0);
    if (first < dst.length) dst.set(this.#data.subarray(0, dst.length - first), first);
    return (at + dst.length) % this.#cap;
  }
}
