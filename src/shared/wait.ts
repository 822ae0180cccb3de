/**
 * What Lock, Value and Queue are built on: the brand their state travels with, the
 * deadline of a blocking call, and the mutex word (lock, unlock, wait) they all use.
 * @internal
 */
import { describe } from '../util/describe';

/** The own property that marks a shared object's state when it crosses to a worker. */
export const BRAND = 'ferropool';

/**
 * Options of the blocking calls.
 * @example
 * ```ts
 * const got = lock.acquire({ timeout: 100 });            // in a task: false after 100 ms
 * const item = await queue.getAsync({ timeout: 1000 });  // throws QueueEmptyError after 1 s
 * ```
 */
export interface WaitOptions {
  /** Milliseconds to wait at most; by default, without limit. */
  timeout?: number;
}

export function deadlineOf(options: WaitOptions | undefined, method: string): number {
  if (options === undefined || options === null) return Infinity;
  if (typeof options !== 'object') throw new TypeError(`${method}: options must be an object, got ${describe(options)}`);
  const t = options.timeout;
  if (t === undefined) return Infinity;
  if (typeof t !== 'number' || Number.isNaN(t) || t < 0) {
    throw new RangeError(`${method}: timeout must be a number of milliseconds >= 0, got ${describe(t)}`);
  }
  return performance.now() + t;
}

export const remaining = (deadline: number): number => (deadline === Infinity ? Infinity : Math.max(0, deadline - performance.now()));

/** Spins before sleeping: a lock is usually held for microseconds. */
const SPINS = 100;

/*
 * The mutex: one Int32 word, 0 free, 1 held, 2 held and someone may be waiting (Drepper's
 * "Futexes are tricky", mutex #2). Sleepers wait in Atomics.wait (a worker), or in
 * Atomics.waitAsync (the async forms, which never block the event loop).
 */
export function tryLock(word: Int32Array, at: number): number {
  let c = Atomics.compareExchange(word, at, 0, 1);
  for (let i = 0; c !== 0 && i < SPINS; i++) c = Atomics.compareExchange(word, at, 0, 1);
  return c;
}

export function lockSync(word: Int32Array, at: number, deadline: number): boolean {
  let c = tryLock(word, at);
  if (c === 0) return true;
  do {
    if (c === 2 || Atomics.compareExchange(word, at, 1, 2) !== 0) {
      const left = remaining(deadline);
      if (left === 0) return false;
      Atomics.wait(word, at, 2, left);
    }
    c = Atomics.compareExchange(word, at, 0, 2);
  } while (c !== 0);
  return true;
}

export async function lockAsync(word: Int32Array, at: number, deadline: number): Promise<boolean> {
  let c = tryLock(word, at);
  if (c === 0) return true;
  do {
    if (c === 2 || Atomics.compareExchange(word, at, 1, 2) !== 0) {
      const left = remaining(deadline);
      if (left === 0) return false;
      await waitAsync(word, at, 2, left);
    }
    c = Atomics.compareExchange(word, at, 0, 2);
  } while (c !== 0);
  return true;
}

export function unlock(word: Int32Array, at: number): boolean {
  const was = Atomics.load(word, at);
  if (was === 0) return false;
  if (Atomics.sub(word, at, 1) !== 1) {
    Atomics.store(word, at, 0);
    Atomics.notify(word, at, 1);
  }
  return true;
}

type WaitAsync = (a: Int32Array, i: number, v: number, t?: number) => { async: boolean; value: Promise<string> | string };

/**
 * `Atomics.waitAsync`, awaited. A pending `waitAsync` does not keep Node's event loop alive
 * (not even with a timeout): a program whose only work left was `await lock.acquireAsync(...)`
 * ended with exit code 13, the await unsettled. A timer holds the loop open while it waits,
 * as a blocking acquire or get holds a Python process.
 */
export async function waitAsync(word: Int32Array, at: number, value: number, timeout: number): Promise<void> {
  const r = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync(word, at, value, timeout);
  if (!r.async) return;
  const keepAlive = setInterval(() => {}, 1 << 30);
  try {
    await r.value;
  } finally {
    clearInterval(keepAlive);
  }
}
