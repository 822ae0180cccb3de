/**
 * imap and imapUnordered: a lazily read input streamed through the workers as jobs of a
 * chunk each, with bounded read-ahead.
 * @internal
 */
import { attachCallSite, type CallSite } from './callsite';
import { PARTIAL } from './remote';
import { Call, ITERATOR_CLOSED } from './lifecycle';
import { describe } from '../util/describe';
import { packNumbers } from './numbers';
import { type CallOptions } from './options';
import { type CallArgs } from '../wire/payloads';
import { type FnSpec, type Items } from '../wire/protocol';
import { type JobContext, runJob } from './jobs';
import { STREAM_READ_MS } from './cost';

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
export function streamJobs(ctx: JobContext, stream: StreamRun): AsyncIterableIterator<unknown> {
  return new ItemsOf(streamChunks(ctx, stream));
}

/** What {@link streamJobs} streams. */
export interface StreamRun {
  /** The function. */
  f: FnSpec;
  /** Spread items as arguments (starmap's form). */
  star: boolean;
  /** The input, read lazily. */
  input: Iterable<unknown> | AsyncIterable<unknown>;
  /** Fixed; undefined: growing (see above), up to `maxChunk`. */
  chunksize: number | undefined;
  /** The largest a growing chunk gets. */
  maxChunk: number;
  /** How many chunks are in flight at most. */
  readAhead: number;
  /** Results in input order (imap), or as chunks finish (imapUnordered). */
  ordered: boolean;
  /** The call's options (its signal, timeout and progress). */
  opts: CallOptions;
  /** How many items the input has, when known (for progress). */
  total: number | undefined;
  /** The method's name, for error messages. */
  method: string;
  /** Where the user called imap: an error thrown to the consumer ends with its frames
   * (here rather than by wrapping the iterator, which would cost a promise an item). */
  site?: CallSite;
  /** The call's `opts.args`, encoded once for all its chunks' jobs. */
  args?: CallArgs;
}

/** {@link streamJobs}' chunks of results, each yielded once the consumer has taken the
 * items of the one before. */
async function* streamChunks(ctx: JobContext, { f, star, input, chunksize, maxChunk, readAhead, ordered, opts: o, total, method, site, args }: StreamRun): AsyncGenerator<Items, void, undefined> {
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
        const slot: Slot = { promise: runJob(jobCtx, { f, star, chunks: [[start, items]], opts: jobOpts, total: items.length, args }), settled: false };
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
