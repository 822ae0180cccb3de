/**
 * JS-function calls on a pool's workers: cutting the input into chunks, running them as
 * jobs of the task board, and turning what comes back into results or errors.
 * @internal
 */
import { attachCallSite, type CallSite } from './callsite';
import { fromNative, PARTIAL, rebuildError } from './remote';
import { WorkerCrashedError } from './errors';
import { Call, ITERATOR_CLOSED, type PendingCall } from './lifecycle';
import { describe } from '../util/describe';
import { packNumbers } from './numbers';
import { type CallOptions, checkFixedBuffer } from './options';
import type { JobHandlers } from './board';
import type { WorkerGroup } from './worker-group';
import { type CallArgs, encodeValue, IN_OUTPUT, isNumeric } from '../wire/payloads';
import { type FnSpec, type ItemOutcome, type Items, specKey, type WireError } from '../wire/protocol';
import { isThenable } from '../util/thenable';
import { Lru } from '../util/lru';

/** Python's default: about four chunks per worker. */
export function defaultChunksize(length: number, processes: number): number {
  return Math.max(1, Math.ceil(length / (processes * 4)));
}

/**
 * The items of `input` as one chunkable sequence: typed arrays as they are, arrays of
 * numbers as a Float64Array (one bulk copy instead of one per item), anything else as an
 * array.
 */
export function toItems(input: unknown, method: string, star: boolean): Items | Promise<Items> {
  const name = star ? 'argTuples' : 'input';
  const check = (items: unknown[]): Items => {
    if (star) {
      for (let i = 0; i < items.length; i++) {
        const t = items[i];
        if (Array.isArray(t)) continue;
        if (t === null || typeof t !== 'object' || typeof (t as Iterable<unknown>)[Symbol.iterator] !== 'function') {
          throw new TypeError(`${method}: ${name}[${i}] must be an array (or iterable) of arguments, got ${describe(t)}`);
        }
        items[i] = Array.from(t as Iterable<unknown>);
      }
      return items;
    }
    // Numbers go into a typed array; the first non-number falls back to the array itself.
    const numbers = packNumbers(items, method, true);
    return typeof numbers === 'number' ? items : numbers;
  };
  if (!star && (input instanceof Float64Array || input instanceof Float32Array)) {
    checkFixedBuffer(input, `${method}: input`);
    return input;
  }
  if (Array.isArray(input)) return check(star ? input.slice() : input);
  if (typeof input === 'string') throw new TypeError(`${method}: ${name} must be an array or iterable of items, got ${describe(input)}`);
  if (typeof input === 'object' && input !== null) {
    if (typeof (input as Iterable<unknown>)[Symbol.iterator] === 'function') return check(Array.from(input as Iterable<unknown>));
    if (typeof (input as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
      return (async () => {
        const all: unknown[] = [];
        for await (const x of input as AsyncIterable<unknown>) all.push(x);
        return check(all);
      })();
    }
  }
  throw new TypeError(`${method}: ${name} must be an array, a typed array or an (async) iterable, got ${describe(input)}`);
}

/** Chunk `[start, items]` pairs of `chunksize` items (views of typed arrays: they are
 * encoded as raw bytes, one copy). */
export function cut(items: Items, chunksize: number): Array<[number, Items]> {
  const chunks: Array<[number, Items]> = [];
  const typed = isNumeric(items);
  for (let s = 0; s < items.length; s += chunksize) {
    chunks.push([s, typed ? items.subarray(s, s + chunksize) : (items as unknown[]).slice(s, s + chunksize)]);
  }
  return chunks;
}

/** Joins a shared job's results: `output` itself when every result was a number (written
 * in place), else an array that takes the spilled chunks' results from `parts`. */
export function assembleShared(parts: Items[], chunks: Array<[number, Items]>, output: Float64Array | Float32Array, asArray = false): Float64Array | Float32Array | unknown[] {
  if (parts.every((p) => p === IN_OUTPUT)) return asArray ? numberArray(output) : output;
  const out = new Array<unknown>(output.length);
  chunks.forEach(([start, items], k) => {
    const part = parts[k]!;
    for (let i = 0; i < items.length; i++) out[start + i] = part === IN_OUTPUT ? output[start + i] : part[i];
  });
  return out;
}

/** Joins chunk results in order: a typed array like `input` when every result is a number
 * and the input was typed, else an array. */
/**
 * A plain array of `numbers`' values. (Filled with a double first, the array is made with
 * V8's packed-double layout at once: twice as fast as growing it from holes.)
 */
export function numberArray(numbers: ArrayLike<number>): number[] {
  const n = numbers.length;
  const out = new Array<number>(n).fill(0.5);
  for (let i = 0; i < n; i++) out[i] = numbers[i]!;
  return out;
}

/**
 * A map's results over a typed array that is not a float array (`Int32Array`,
 * `Uint8Array`, …): in an array of the input's type when they are all numbers, converted as
 * the typed array's own `map` converts them (API.md: a typed array in, the same type out).
 * Float arrays get theirs on the way (see {@link assemble}); anything else is left as it is.
 */
export function likeInput(input: unknown, results: unknown): unknown {
  if (!ArrayBuffer.isView(input) || input instanceof DataView || input instanceof Float64Array || input instanceof Float32Array) return results;
  if (input instanceof BigInt64Array || input instanceof BigUint64Array) return results;
  if (!(results instanceof Float64Array) && !(Array.isArray(results) && results.every((r) => typeof r === 'number'))) return results;
  return new (input.constructor as new (numbers: ArrayLike<number>) => ArrayLike<number>)(results as ArrayLike<number>);
}

export function assemble(parts: Items[], input: unknown, total: number): unknown[] | Float64Array | Float32Array {
  if ((input instanceof Float64Array || input instanceof Float32Array) && parts.every((p) => p instanceof Float64Array)) {
    const out = input instanceof Float32Array ? new Float32Array(total) : new Float64Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p as Float64Array, at);
      at += p.length;
    }
    return out;
  }
  const out = new Array<unknown>(total);
  let at = 0;
  for (const p of parts) for (let i = 0; i < p.length; i++) out[at++] = p[i];
  return out;
}

/** What {@link runJob} needs from the pool. */
export interface JobContext {
  group: WorkerGroup;
  calls: Set<PendingCall>;
  costs: CostModel;
  /** The stream whose chunks the calls are: they fail with it. */
  parent?: Call;
}

/** A call predicted to take less than this (ns) runs on the calling thread: shipping it to
 * a worker and back costs two thread wake-ups, 100-300 µs on the VMs we measured. */
export const INLINE_BUDGET_NS = 50_000;

/** What shipping one item costs the calling thread anyway (ns): converting it, encoding it,
 * and putting its result into the answer, ~10-20 ns for a number here. An item whose own
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
 * loop deliver the result instead: enough to cover waking a parked worker (40-90 µs here)
 * and a worker's young-generation GC pause (a few hundred µs), which would otherwise send
 * about 2% of a hot loop's calls through the event loop at several times the cost. */
const SMALL_JOB_SLACK_NS = 1_000_000;

/** The largest chunk a stream grows to (with its read-ahead, what it holds in memory). */
export const MAX_STREAM_CHUNK = 4096;
/** A stream's chunk is sent once reading it took this long (ms), full or not: a slow input
 * must not hold back the items already read. */
const STREAM_READ_MS = 1;

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
   * Whether `items` calls of `f` are better run on the calling thread: predicted under
   * {@link INLINE_BUDGET_NS} in all, or each item cheaper than shipping it
   * ({@link MARSHAL_NS_PER_ITEM}) and the whole under {@link INLINE_MAX_NS}.
   */
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
   * {@link TARGET_CHUNK_NS}: with long items (W2's fib: 0.5 ms each) four chunks per worker
   * leave the call waiting on whichever chunk started last on the slowest core, while
   * chunks of a few ms balance themselves (workers claim the next one when done), at about
   * 10 µs of overhead per chunk.
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

/**
 * Runs `chunks` as one job of `ctx.group` and resolves with each chunk's results, in
 * order; rejects on the first failure (cancelling the chunks not started), when a worker
 * dies, on abort or timeout (stopping the workers running its chunks).
 */
export function runJob(
  ctx: JobContext,
  f: FnSpec,
  /** Spread items as arguments; `null` folds each chunk instead (reduce). */
  star: boolean | null,
  chunks: Array<[number, Items]>,
  o: CallOptions,
  total: number,
  shared?: readonly [Float64Array | Float32Array | Int32Array, Float64Array | Float32Array],
  /** For a job predicted to take microseconds: how long to wait for it on this thread. */
  waitNs?: number,
  /** The call's `opts.args`, encoded once. */
  args?: CallArgs,
): Promise<Items[]> {
  const refused = Call.refusal(o, ctx.parent);
  if (refused !== undefined) return Promise.reject(refused);
  return new JobCall(ctx, f, star, chunks, o, total, shared, waitNs, args).promise;
}

/** A call run as one job of the task board (see {@link runJob}); the board reports to it. */
class JobCall extends Call implements JobHandlers {
  readonly promise: Promise<Items[]>;
  #resolve!: (parts: Items[]) => void;
  #reject!: (error: Error) => void;
  readonly #ctx: JobContext;
  readonly #f: FnSpec;
  readonly #chunks: Array<[number, Items]>;
  readonly #results: Items[];
  #doneItems = 0;
  #job = 0;

  constructor(
    ctx: JobContext,
    f: FnSpec,
    star: boolean | null,
    chunks: Array<[number, Items]>,
    o: CallOptions,
    total: number,
    shared: readonly [Float64Array | Float32Array | Int32Array, Float64Array | Float32Array] | undefined,
    waitNs: number | undefined,
    args: CallArgs | undefined,
  ) {
    super(ctx.calls, o, total, ctx.parent);
    this.#ctx = ctx;
    this.#f = f;
    this.#chunks = chunks;
    this.#results = new Array(chunks.length);
    this.promise = new Promise<Items[]>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    const timed = o.timeout !== undefined && o.timeout !== Infinity;
    try {
      this.#job = ctx.group.submit({ f, star: star === true, fold: star === null, each: o.onProgress !== undefined, start: timed }, chunks, this, shared, args);
    } catch (err) {
      this.#reject(unsendable(chunks) ?? fromNative(err)); // an item that cannot be encoded, or the addon refused the input
      return;
    }
    // The timeout counts from when the first chunk starts (see started()).
    this.begin(false);
    if (waitNs !== undefined) ctx.group.settleNow(this.#job, waitNs);
  }

  protected stop(running: boolean): void {
    this.#ctx.group.cancel(this.#job, running);
  }

  protected resolved(): void {
    this.#resolve(this.#results);
  }

  protected rejected(error: Error): void {
    this.#reject(error);
  }

  cost(ns: number): void {
    this.#ctx.costs.record(this.#f, ns);
  }

  started(): void {
    this.startTimer();
  }

  chunk(index: number, ok: true, results: Items): void;
  chunk(index: number, ok: false, error: WireError): void;
  chunk(index: number, ok: boolean, value: Items | WireError): void {
    if (this.settled) return;
    if (!ok) {
      this.fail(rebuildError(value as WireError), false);
      return;
    }
    this.#results[index] = value as Items;
    this.#doneItems += this.#chunks[index]![1].length;
    if (this.#doneItems < this.total) this.progress(this.#doneItems, this.total);
  }

  done(): void {
    this.succeed(this.#results);
  }

  crashed(index: number, exitCode: number, position: number, cause: Error | undefined): void {
    const why = cause ? `: ${cause.message}` : '';
    const at = position >= 0 ? position : this.#chunks[index]?.[0];
    this.fail(new WorkerCrashedError(`a pool worker exited with code ${exitCode} while running input[${at}]${why}`, exitCode, at!), false);
  }
}

/**
 * When an input item could not be encoded (V8 refused to clone it, or a getter of it
 * threw), a TypeError that names the item's input position, with what went wrong as its
 * `cause`; otherwise (the addon refused the input) undefined.
 */
function unsendable(chunks: Array<[number, Items]>): TypeError | undefined {
  for (const [start, items] of chunks) {
    if (isNumeric(items)) continue;
    for (let i = 0; i < items.length; i++) {
      const cause = encodingError(items[i]);
      if (cause !== undefined) return new TypeError(`input[${start + i}] cannot be sent to a worker: ${messageOf(cause)} (send plain data: structured-clone values)`, { cause });
    }
  }
  return undefined;
}

/** What encoding `value` for a worker throws, or undefined when it encodes. */
function encodingError(value: unknown): unknown {
  try {
    encodeValue(value, new Map());
    return undefined;
  } catch (err) {
    return err;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * imap / imapUnordered: reads `input` lazily, keeps at most `readAhead` chunks in flight,
 * and yields results in input order (`ordered`) or as chunks finish.
 *
 * Without a `chunksize` the chunks start at one item and double while the input keeps
 * coming (up to {@link CostModel.streamChunk}'s bound): the first results come after one
 * item's work, and a long stream of cheap items is not paid for one job an item. A chunk
 * whose reading takes over {@link STREAM_READ_MS} goes as it is, and the next one does not
 * grow. Memory stays bounded: at most `readAhead` chunks of {@link MAX_STREAM_CHUNK} items.
 */
export function streamJobs(...args: Parameters<typeof streamChunks>): AsyncIterableIterator<unknown> {
  return new ItemsOf(streamChunks(...args));
}

/** {@link streamJobs}' chunks of results, each yielded once the consumer has taken the
 * items of the one before. */
async function* streamChunks(
  ctx: JobContext,
  f: FnSpec,
  star: boolean,
  input: Iterable<unknown> | AsyncIterable<unknown>,
  /** Fixed; undefined: growing (see above), up to `maxChunk`. */
  chunksize: number | undefined,
  maxChunk: number,
  readAhead: number,
  ordered: boolean,
  o: CallOptions,
  total: number | undefined,
  method: string,
  /** Where the user called imap: an error thrown to the consumer ends with its frames
   * (here rather than by wrapping the iterator, which would cost a promise an item). */
  site?: CallSite,
  /** The call's `opts.args`, encoded once for all its chunks' jobs. */
  args?: CallArgs,
): AsyncGenerator<Items, void, undefined> {
  // The stream's own lifecycle (its signal, its timeout from now, its progress); each chunk
  // is a call of its own, registered with the pool, that fails with it.
  const stream = new StreamCall(o, total ?? 0);
  const jobCtx: JobContext = { group: ctx.group, calls: ctx.calls, costs: ctx.costs, parent: stream };
  const jobOpts: CallOptions = {};
  const sync = typeof (input as Iterable<unknown>)[Symbol.iterator] === 'function';
  const it = sync ? (input as Iterable<unknown>)[Symbol.iterator]() : (input as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  let position = 0;
  let inputDone = false;
  let inputError: unknown;
  let yielded = 0;
  type Slot = { promise: Promise<Items[]>; settled: boolean; value?: Items; error?: unknown };
  const inFlight: Slot[] = [];
  let size = chunksize ?? 1;
  const read = async (): Promise<Items | undefined> => {
    const items: unknown[] = [];
    const began = chunksize === undefined ? performance.now() : 0;
    let full = true;
    try {
      while (items.length < size) {
        const step = sync ? (it as Iterator<unknown>).next() : await (it as AsyncIterator<unknown>).next();
        if (step.done) {
          inputDone = true;
          break;
        }
        let item = step.value;
        if (star) {
          if (item === null || typeof item !== 'object' || typeof (item as Iterable<unknown>)[Symbol.iterator] !== 'function') {
            throw new TypeError(`${method}: argTuples[${position + items.length}] must be an array (or iterable) of arguments, got ${describe(item)}`);
          }
          if (!Array.isArray(item)) item = Array.from(item as Iterable<unknown>);
        }
        items.push(item);
        // A slow input: send what was read (checked after each await, and every 16 items of
        // a sync one, whose next() may compute).
        if (chunksize === undefined && items.length < size && (!sync || (items.length & 15) === 0) && performance.now() - began > STREAM_READ_MS) {
          full = false;
          break;
        }
      }
    } catch (err) {
      inputDone = true;
      inputError = err;
    }
    if (chunksize === undefined && full && !inputDone) size = ctx.costs.streamChunk(f, size, maxChunk);
    return items.length > 0 ? asNumbers(items, method) : undefined;
  };
  try {
    for (;;) {
      while (!inputDone && inFlight.length < readAhead) {
        const items = await read();
        if (!items) break;
        const start = position;
        position += items.length;
        const slot: Slot = { promise: runJob(jobCtx, f, star, [[start, items]], jobOpts, items.length, undefined, undefined, args), settled: false };
        slot.promise.then(
          (v) => Object.assign(slot, { settled: true, value: v[0] }),
          (e: unknown) => Object.assign(slot, { settled: true, error: e }),
        );
        inFlight.push(slot);
      }
      if (inFlight.length === 0) {
        if (inputError !== undefined) throw inputError;
        return;
      }
      let slot: Slot;
      if (ordered) {
        slot = inFlight[0]!;
        await slot.promise.catch(() => {});
      } else {
        await Promise.race(inFlight.map((s) => s.promise.catch(() => {})));
        slot = inFlight.find((s) => s.settled)!;
      }
      inFlight.splice(inFlight.indexOf(slot), 1);
      if (slot.error !== undefined) {
        const partial = (slot.error as Record<symbol, Items | undefined>)[PARTIAL];
        if (ordered && partial && partial.length > 0) yield partial;
        throw slot.error;
      }
      yield slot.value!;
      yielded += slot.value!.length;
      stream.progress(yielded, total ?? position);
    }
  } catch (err) {
    if (site !== undefined) attachCallSite(err, site);
    throw err;
  } finally {
    // Results nobody will read: stop their jobs (running chunks finish on their own).
    if (inFlight.length > 0) stream.fail(ITERATOR_CLOSED, false);
    else stream.end();
    for (const s of inFlight) s.promise.catch(() => {});
    if (!inputDone && typeof it.return === 'function') await it.return();
  }
}

/** A stream's own lifecycle: its chunks' calls fail with it (see {@link Call}). */
class StreamCall extends Call {
  constructor(o: CallOptions, total: number) {
    super(undefined, o, total);
    this.begin(true);
  }

  protected stop(): void {}
  protected resolved(): void {}
  protected rejected(): void {}
}

/** A chunk of numbers as a Float64Array (encoded as raw bytes, not item by item);
 * anything else as it is. */
function asNumbers(items: unknown[], method: string): Items {
  const numbers = packNumbers(items, method, false);
  return typeof numbers === 'number' ? items : numbers;
}

/**
 * The items of an async generator of chunks, one by one: an item already here is served by
 * an already-resolved promise, without resuming a generator (for cheap items, resuming one
 * for each cost as much as a serial loop's whole work). Calls are served in order.
 */
class ItemsOf implements AsyncIterableIterator<unknown> {
  readonly #chunks: AsyncGenerator<Items, void, undefined>;
  #chunk: Items | undefined;
  #at = 0;
  /** The last call still waiting for a chunk: later calls wait behind it. */
  #queue: Promise<unknown> | undefined;

  constructor(chunks: AsyncGenerator<Items, void, undefined>) {
    this.#chunks = chunks;
  }

  next(): Promise<IteratorResult<unknown>> {
    const chunk = this.#chunk;
    if (this.#queue === undefined && chunk !== undefined && this.#at < chunk.length) return Promise.resolve({ value: chunk[this.#at++], done: false });
    return this.#serve(() => this.#take());
  }

  return(value?: unknown): Promise<IteratorResult<unknown>> {
    return this.#serve(() => {
      this.#chunk = undefined;
      return this.#chunks.return(undefined).then(() => ({ value, done: true }) as IteratorResult<unknown>);
    });
  }

  throw(err?: unknown): Promise<IteratorResult<unknown>> {
    return this.#serve(() => {
      this.#chunk = undefined;
      return this.#chunks.throw(err).then(() => ({ value: undefined, done: true }) as IteratorResult<unknown>);
    });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<unknown> {
    return this;
  }

  async #take(): Promise<IteratorResult<unknown>> {
    for (;;) {
      const chunk = this.#chunk;
      if (chunk !== undefined && this.#at < chunk.length) return { value: chunk[this.#at++], done: false };
      const r = await this.#chunks.next();
      if (r.done) {
        this.#chunk = undefined;
        return { value: undefined, done: true };
      }
      this.#chunk = r.value;
      this.#at = 0;
    }
  }

  #serve(work: () => Promise<IteratorResult<unknown>>): Promise<IteratorResult<unknown>> {
    const before = this.#queue;
    const p = before === undefined ? work() : before.then(work, work);
    this.#queue = p;
    const clear = () => {
      if (this.#queue === p) this.#queue = undefined;
    };
    p.then(clear, clear);
    return p;
  }
}

interface ApplyEntry {
  args: unknown[];
  resolve(value: unknown): void;
  reject(error: Error): void;
  settled: boolean;
}

/**
 * Coalesces the `apply` calls made in one turn of the event loop into one job per
 * function: a loop of 100,000 `applyAsync` calls costs a few jobs, not 100,000. Each call
 * still settles alone: the job runs in `isolate` mode, where a call that throws fails
 * only itself.
 */
export class ApplyBatcher {
  readonly #context: () => JobContext;
  readonly #processes: number;
  /** With `maxTasksPerChild`, each call is a chunk of its own: a worker counts chunks, and
   * Python counts each apply as one task. */
  readonly #oneCallPerChunk: boolean;
  readonly #pending = new Map<string, { f: FnSpec; entries: ApplyEntry[] }>();
  #scheduled = false;

  constructor(context: () => JobContext, processes: number, maxTasksPerChild?: number) {
    this.#context = context;
    this.#processes = processes;
    this.#oneCallPerChunk = maxTasksPerChild !== undefined;
  }

  add(f: FnSpec, args: unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const key = specKey(f);
      let group = this.#pending.get(key);
      if (!group) this.#pending.set(key, (group = { f, entries: [] }));
      group.entries.push({ args, resolve, reject, settled: false });
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(() => this.flush());
      }
    });
  }

  /** Submits what is queued now (also run by close() and terminate(), so no apply made
   * just before them is missed). */
  flush(): void {
    this.#scheduled = false;
    const groups = [...this.#pending.values()];
    this.#pending.clear();
    for (const { f, entries } of groups) runBatch(this.#context(), f, entries, this.#processes, this.#oneCallPerChunk);
  }
}

/** Largest chunk of a batch: a call's result waits for its whole chunk. */
const MAX_BATCH_CHUNK = 256;

function runBatch(ctx: JobContext, f: FnSpec, entries: ApplyEntry[], processes: number, oneCallPerChunk: boolean): void {
  const waitNs = ctx.costs.smallJobWait(f, entries.length);
  // Still one job for the batch; with `maxTasksPerChild` one call per chunk, so that a
  // worker that reaches its limit leaves the batch's other calls to the next workers.
  const size = oneCallPerChunk ? 1 : waitNs !== undefined ? entries.length : Math.min(MAX_BATCH_CHUNK, defaultChunksize(entries.length, processes));
  const chunks = cut(
    entries.map((e) => e.args),
    size,
  );
  const batch = new BatchCall(ctx, f, entries, chunks);
  try {
    batch.submit();
  } catch (err) {
    // Some call's arguments cannot be sent to a worker: reject those calls (naming their
    // argument), and run the others as a batch of their own.
    const good = entries.filter((e) => {
      if (encodingError(e.args) === undefined) return true;
      const at = e.args.findIndex((a) => encodingError(a) !== undefined);
      const cause = at >= 0 ? encodingError(e.args[at]) : encodingError(e.args);
      e.settled = true;
      e.reject(new TypeError(`apply: args cannot be sent to a worker: args[${Math.max(0, at)}]: ${messageOf(cause)} (send plain data: structured-clone values)`, { cause }));
      return false;
    });
    if (good.length > 0 && good.length < entries.length) runBatch(ctx, f, good, processes, oneCallPerChunk);
    else for (const e of good) if (!e.settled) e.reject(fromNative(err));
    return;
  }
  if (waitNs !== undefined) ctx.group.settleNow(batch.job, waitNs);
}

/** A batch of applies run as one job (see {@link ApplyBatcher}): one call of the pool's,
 * whose entries settle one by one. */
class BatchCall extends Call implements JobHandlers {
  readonly #ctx: JobContext;
  readonly #f: FnSpec;
  readonly #entries: ApplyEntry[];
  readonly #chunks: Array<[number, Items]>;
  #open: number;
  job = 0;

  constructor(ctx: JobContext, f: FnSpec, entries: ApplyEntry[], chunks: Array<[number, Items]>) {
    super(ctx.calls, undefined, entries.length);
    this.#ctx = ctx;
    this.#f = f;
    this.#entries = entries;
    this.#chunks = chunks;
    this.#open = entries.length;
  }

  /** Queues the batch's job (throws when an argument cannot be sent). */
  submit(): void {
    this.job = this.#ctx.group.submit({ f: this.#f, star: true, each: true, start: false, isolate: true }, this.#chunks, this);
    this.begin(false);
  }

  #settle(i: number, ok: boolean, value: unknown): void {
    const entry = this.#entries[i]!;
    if (entry.settled) return;
    entry.settled = true;
    if (ok) entry.resolve(value);
    else entry.reject(value as Error);
    if (--this.#open === 0) this.end();
  }

  protected stop(): void {
    this.#ctx.group.cancel(this.job, true);
  }

  protected resolved(): void {}

  protected rejected(error: Error): void {
    for (let i = 0; i < this.#entries.length; i++) this.#settle(i, false, error);
  }

  cost(ns: number): void {
    this.#ctx.costs.record(this.#f, ns);
  }

  chunk(index: number, ok: true, results: Items): void;
  chunk(index: number, ok: false, error: WireError): void;
  chunk(index: number, ok: boolean, value: Items | WireError): void {
    const base = this.#chunks[index]![0];
    if (!ok) {
      const n = this.#chunks[index]![1].length;
      for (let i = 0; i < n; i++) this.#settle(base + i, false, asCallError(value as WireError));
      return;
    }
    const outcomes = value as ItemOutcome[];
    for (let i = 0; i < outcomes.length; i++) {
      const [good, v] = outcomes[i]!;
      this.#settle(base + i, good, good ? v : asCallError(v));
    }
  }

  done(): void {}

  crashed(index: number, exitCode: number, position: number, cause: Error | undefined): void {
    const [base, items] = this.#chunks[index]!;
    const why = cause ? `: ${cause.message}` : '';
    for (let i = 0; i < items.length; i++) {
      const at = base + i === position ? 'while running it' : 'before its result was sent';
      this.#settle(base + i, false, new WorkerCrashedError(`a pool worker exited with code ${exitCode} ${at}${why}`, exitCode, 0));
    }
  }
}

/** A batched apply's error: its `index` is the position within the call's own arguments. */
function asCallError(w: WireError): Error {
  const err = rebuildError(w) as Error & { index?: number };
  err.index = 0;
  return err;
}
