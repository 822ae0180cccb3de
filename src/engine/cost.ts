/**
 * The cost model of JS calls: what a function's items are measured to cost, so that a call
 * predicted to be small runs on the calling thread ({@link runInline}) and a large one is cut
 * into chunks of about {@link TARGET_CHUNK_NS}.
 * @internal
 */
import { isNumeric } from '../wire/payloads';
import { type FnSpec, type Items, specKey } from '../wire/protocol';
import { isThenable } from '../util/thenable';
import { Lru } from '../util/lru';
import { defaultChunksize } from './chunks';

/** A call predicted to take less than this (ns) runs on the calling thread: shipping it to
 * a worker and back costs two thread wake-ups (docs/performance.md has what they cost). */
export const INLINE_BUDGET_NS = 50_000;

/** What shipping one item costs the calling thread anyway (ns): converting it, encoding it,
 * and putting its result into the answer. An item whose own
 * work is cheaper than that gains nothing from another core: the caller would spend more
 * time marshalling it than computing it. */
export const MARSHAL_NS_PER_ITEM = 20;

/** ...but the calling thread is never blocked longer than this (ns) by such a call. */
export const INLINE_MAX_NS = 2_000_000;

/**
 * What an item of each shipped function costs, as the workers measured it (a moving
 * average by source). A function with no history always goes to the workers first, so a
 * heavy one never blocks the caller, and one that cannot be shipped fails there.
 */
/** The longest a chunk of a measured function should take (ns). */
const TARGET_CHUNK_NS = 2_000_000;
/** A JS call predicted to take less than this on a worker is a small job (ns). */
const SMALL_JOB_NS = 100_000;
/** How much longer than predicted the caller of a small job polls before it lets the event
 * loop deliver the result instead: enough to cover waking a parked worker and a worker's
 * young-generation GC pause, which would otherwise send some of a hot loop's calls through
 * the event loop at several times the cost. */
const SMALL_JOB_SLACK_NS = 1_000_000;

/** The largest chunk a stream grows to (with its read-ahead, what it holds in memory). */
export const MAX_STREAM_CHUNK = 4096;
/** A stream's chunk is sent once reading it took this long (ms), full or not: a slow input
 * must not hold back the items already read. */
export const STREAM_READ_MS = 1;

export class CostModel {
  readonly #ns = new Lru<string, number>(1024);

  /** Learns a measurement: at once when it is lower (the first calls run before the JIT
   * has optimised the function), slowly when it is higher (one slow call is not a trend). */
  record(f: FnSpec, nsPerItem: number): void {
    const key = specKey(f);
    const old = this.#ns.get(key);
    this.#ns.set(key, old === undefined || nsPerItem < old ? nsPerItem : old * 0.75 + nsPerItem * 0.25);
  }

  /**
   * For a call of `items` items of `f` predicted to take microseconds on a worker (a
   * "small job", under {@link SMALL_JOB_NS}): how long its caller should wait for it on its
   * own thread (ns); undefined for any other call, or before `f` was measured. Such a call
   * goes to one worker in one chunk (waking more would cost more than the work), and the
   * caller polls for its result instead of waiting an event-loop turn for the worker's
   * note: a hot loop of small calls pays no thread wake-up on either side.
   */
  smallJobWait(f: FnSpec, items: number): number | undefined {
    const ns = this.#ns.get(specKey(f));
    if (ns === undefined || ns * items >= SMALL_JOB_NS) return undefined;
    return ns * items + SMALL_JOB_SLACK_NS;
  }

  /**
   * The default chunk size of a map of `length` items of `f` on `processes` workers:
   * Python's four chunks per worker, but once `f` was measured, no chunk longer than
   * {@link TARGET_CHUNK_NS}: with long items four chunks per worker leave the call waiting
   * on whichever chunk started last on the slowest core, while short chunks balance
   * themselves (workers claim the next one when done), at a small overhead per chunk.
   */
  chunksize(f: FnSpec, length: number, processes: number): number {
    const base = defaultChunksize(length, processes);
    const ns = this.#ns.get(specKey(f));
    return ns === undefined || ns <= 0 ? base : Math.min(base, Math.max(1, Math.ceil(TARGET_CHUNK_NS / ns)));
  }

  /**
   * The next chunk's size for a stream (imap) without a `chunksize`, after one of `last`
   * items filled up: twice as many, up to what a worker runs in {@link TARGET_CHUNK_NS} once
   * `f` was measured, {@link MAX_STREAM_CHUNK}, and `max` (a known input's share of a worker).
   */
  streamChunk(f: FnSpec, last: number, max: number): number {
    const ns = this.#ns.get(specKey(f));
    const cap = ns === undefined || ns <= 0 ? MAX_STREAM_CHUNK : Math.min(MAX_STREAM_CHUNK, Math.ceil(TARGET_CHUNK_NS / ns));
    return Math.max(1, Math.min(last * 2, cap, max));
  }

  /**
   * Whether `items` calls of `f` are better run on the calling thread: predicted under
   * {@link INLINE_BUDGET_NS} in all, or each item cheaper than shipping it
   * ({@link MARSHAL_NS_PER_ITEM}) and the whole under {@link INLINE_MAX_NS}.
   */
  cheap(f: FnSpec, items: number): boolean {
    const ns = this.#ns.get(specKey(f));
    if (ns === undefined) return false;
    const total = ns * items;
    return total < INLINE_BUDGET_NS || (ns < MARSHAL_NS_PER_ITEM && total < INLINE_MAX_NS);
  }
}

/**
 * Runs a small call on the calling thread, with the worker's semantics: results in order,
 * async results awaited, the first error rejected with its `index`.
 */
export function runInline(f: (...args: unknown[]) => unknown, star: boolean, items: Items, args?: readonly unknown[]): Items | Promise<Items> {
  // The call's `opts.args` after each item's own arguments.
  const fn = args === undefined ? f : star ? (...a: unknown[]) => f(...a, ...args) : (x: unknown) => f(x, ...args);
  let out: unknown[] | Float64Array = isNumeric(items) ? new Float64Array(items.length) : new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    let r: unknown;
    try {
      r = star ? fn(...(items[i] as unknown[])) : fn(items[i]);
    } catch (err) {
      throw withIndex(err, i);
    }
    if (isThenable(r)) return finishAsync(fn, star, items, out, i, r);
    if (out instanceof Float64Array && typeof r !== 'number') out = Array.from(out);
    out[i] = r;
  }
  return out;
}

async function finishAsync(fn: (...args: unknown[]) => unknown, star: boolean, items: Items, out: unknown[] | Float64Array, from: number, pending: PromiseLike<unknown>): Promise<Items> {
  let results = out;
  for (let i = from; i < items.length; i++) {
    let r: unknown;
    try {
      r = i === from ? await pending : star ? fn(...(items[i] as unknown[])) : fn(items[i]);
      if (isThenable(r)) r = await r;
    } catch (err) {
      throw withIndex(err, i);
    }
    if (results instanceof Float64Array && typeof r !== 'number') results = Array.from(results);
    results[i] = r;
  }
  return results;
}

function withIndex(err: unknown, index: number): unknown {
  if (typeof err === 'object' && err !== null) (err as { index?: number }).index = index;
  return err;
}
