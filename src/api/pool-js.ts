/**
 * The Pool's JS-function calls on this machine: `map`, `starmap`, `apply`, `reduce` and the
 * `imap`s on the pool's worker threads (or inline on the caller), small calls through the
 * express lane, and the worker group they start on first use ({@link JsCalls}). Pool
 * (pool.ts) checks the pool's state and hands cluster mode its calls; the rest come here.
 * @internal
 */
import type { ResourceLimits } from 'node:worker_threads';
import { ApplyBatcher, Deferred, NO_ARGS } from '../engine/batch';
import { AsyncResult } from './async-result';
import type { CallSite } from '../engine/callsite';
import { assemble, assembleShared, copiesMuch, copyNumbers, cut, defaultChunksize, isIntegerArray, likeInput, numberArray, toItems } from '../engine/chunks';
import { CostModel, runInline } from '../engine/cost';
import { RemoteError } from '../engine/errors';
import { type JobContext, runJob } from '../engine/jobs';
import type { ExpressCall, ExpressOutcome } from '../engine/lane';
import { Call, type PendingCall } from '../engine/lifecycle';
import { type CallOptions, type FloatArray, checkOptions, isFloatArray, refuseArgs } from '../engine/options';
import { rebuildError } from '../engine/remote';
import { streamJobs } from '../engine/stream';
import { WorkerGroup } from '../engine/worker-group';
import { describe } from '../util/describe';
import { XCall } from '../wire/lane';
import { type CallArgs, encodeCallArgs, isNumeric } from '../wire/payloads';
import type { FnSpec, Items, WireError } from '../wire/protocol';
import { checkOut, newLike } from './pool-kernels';
import { shipFunction } from './task';

/** What the pool's workers are made with, and how its JS calls run. */
export interface JsSettings {
  processes: number;
  initializer: FnSpec | undefined;
  initargs: unknown[];
  maxTasksPerChild: number | undefined;
  resourceLimits: ResourceLimits | undefined;
  /** Small calls of cheap functions may run on the caller (`PoolOptions.inline`). */
  inline: boolean;
  /** The highest worker id (tests only; see WORKER_ID_LIMIT). */
  idLimit: number | undefined;
  /** The pool's pending calls (which `terminate()` cancels and `join()` waits for). */
  calls: Set<PendingCall>;
}

/** A checked `imap` or `imapUnordered` call: its function, options and extra arguments. */
export interface ImapCall {
  f: FnSpec;
  o: CallOptions;
  args: CallArgs | undefined;
}

/** The checks of `method(fn, input, opts)`, an `imap` or `imapUnordered`. */
export function checkImap(fn: unknown, input: unknown, opts: CallOptions | undefined, method: string): ImapCall {
  const f = shipFunction(fn, `${method}: fn`);
  const o = checkOptions<CallOptions>(opts, method);
  const args = callArgs(o, method);
  if (typeof input !== 'object' || input === null || (typeof (input as Iterable<unknown>)[Symbol.iterator] !== 'function' && typeof (input as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function')) {
    throw new TypeError(`${method}: input must be an iterable or async iterable, got ${describe(input)}`);
  }
  return { f, o, args };
}

/** A pool's JS-function calls on its worker threads. */
export class JsCalls {
  readonly #s: JsSettings;
  #group: WorkerGroup | undefined;
  /** What a call on the workers needs (made with the group). */
  #context: JobContext | undefined;
  readonly #applies: ApplyBatcher;
  readonly #costs = new CostModel();

  constructor(settings: JsSettings) {
    this.#s = settings;
    this.#applies = new ApplyBatcher(() => this.#workers(), settings.processes, settings.maxTasksPerChild);
  }

  /** The worker group, once a call (or an initializer) started it. */
  get group(): WorkerGroup | undefined {
    return this.#group;
  }

  /** Starts the workers now (a pool with an initializer). */
  start(): void {
    this.#workers().group.start();
  }

  /** Sends the applies batched this turn. */
  flush(): void {
    this.#applies.flush();
  }

  /** The workers for JS functions, started on the first call that needs them. */
  #workers(): JobContext {
    if (!this.#group) {
      const s = this.#s;
      const group = new WorkerGroup({
        size: s.processes,
        initializer: s.initializer,
        initargs: s.initargs,
        maxTasksPerChild: s.maxTasksPerChild,
        resourceLimits: s.resourceLimits,
        idLimit: s.idLimit,
      });
      group.onInitError = (wire) => {
        const cause = rebuildError(wire);
        const error = new RemoteError(`the pool's initializer threw in a worker: ${cause.message}`, { cause });
        for (const call of [...s.calls]) call.cancel(error);
      };
      this.#group = group;
    }
    this.#context ??= { group: this.#group, calls: this.#s.calls, costs: this.#costs };
    return this.#context;
  }

  /** `apply(fn, argv)` without options: inline, through the express lane, or batched. With
   * `into`, the outcome goes there, and the value returned is `into` when it is batched. */
  apply(fn: unknown, argv: unknown[], into?: Deferred): unknown {
    const f = shipFunction(fn, 'apply: fn');
    if (this.#runsInline(f, 1, {})) {
      const r = runInline(fn as (...a: unknown[]) => unknown, true, [argv]);
      return r instanceof Promise ? r.then((x) => x[0]) : (r as unknown[])[0];
    }
    // A small call, once the workers are up: the express lane, if it is free.
    const waitNs = this.#group ? this.#costs.smallJobWait(f, 1) : undefined;
    const express = waitNs === undefined ? undefined : this.#group!.express(f, argv, waitNs);
    if (express !== undefined) return this.#expressResult(f, express);
    // Otherwise batched with the other applies of this turn (see ApplyBatcher).
    if (into === undefined) return this.#applies.add(f, argv);
    into.args = argv;
    this.#applies.enter(f, into);
    return into;
  }

  /** `applyAsync(fn, args)` without callbacks, on a running pool: a handle settled by
   * whatever runs the call (see {@link Deferred}). */
  applyAsync(fn: unknown, args: unknown[] | undefined): AsyncResult<unknown> {
    const into = new Deferred();
    const argv = args === undefined ? NO_ARGS : [...args];
    into.follow(() => this.apply(fn, argv, into));
    return new AsyncResult(into);
  }

  /** `imap` or `imapUnordered` of a checked call (see {@link checkImap}). */
  imap({ f, o, args }: ImapCall, input: unknown, ordered: boolean, method: string, site: CallSite): AsyncIterableIterator<unknown> {
    const processes = this.#s.processes;
    const length = Array.isArray(input) || ArrayBuffer.isView(input) ? (input as ArrayLike<unknown>).length : undefined;
    // Without a chunksize, chunks start at one item and grow while the input keeps coming
    // (see streamJobs); a known input's no larger than Python's default share of a worker.
    const maxChunk = length === undefined ? Infinity : defaultChunksize(length, processes);
    return streamJobs(this.#workers(), { f, star: false, input: input as Iterable<unknown>, chunksize: o.chunksize, maxChunk, readAhead: processes * 2, ordered, opts: o, total: length, method, site, args });
  }

  /** The value of a JS map now (a small map the express lane settled), or a promise of it. */
  map(fn: unknown, input: unknown, opts: CallOptions | undefined, star: boolean, method: string): unknown {
    const f = shipFunction(fn, `${method}: fn`);
    const o = checkOptions<CallOptions & { out?: FloatArray }>(opts, method, method === 'map' ? ['out'] : []);
    if (method === 'apply') refuseArgs(o, method, 'apply takes its arguments as args');
    const args = callArgs(o, method);
    let out: FloatArray | undefined;
    if (o.out !== undefined) {
      if (!isFloatArray(input)) throw new TypeError(`map: opts.out needs a Float64Array or Float32Array input, got ${describe(input)}`);
      out = checkOut(o.out, input);
    }
    /** With `out`, the results must all be numbers: they are written there. */
    const intoOut = (results: unknown): unknown => {
      if (out === undefined || results === out) return results;
      const r = results as ArrayLike<unknown>;
      for (let i = 0; i < r.length; i++) {
        if (typeof r[i] !== 'number') throw new TypeError(`map: opts.out holds numbers, but the result for input[${i}] is ${describe(r[i])}`);
      }
      out.set(r as ArrayLike<number>);
      return out;
    };
    // Numeric results for an input that is not a typed array (an array, an iterable) go back
    // in an array; a typed array's, in a typed array.
    const asArray = !ArrayBuffer.isView(input);
    const run = (items: Items): Promise<unknown> | unknown => {
      if (items.length === 0) return intoOut(assemble([], input, 0));
      if (this.#runsInline(f, items.length, o)) {
        const results = runInline(fn as (...args: unknown[]) => unknown, star, items, args?.list);
        return results instanceof Promise ? results.then((r) => intoOut(assemble([r], input, items.length))) : intoOut(assemble([results], input, items.length));
      }
      // A call predicted to take microseconds goes to one worker in one chunk (waking more
      // would cost more than the work), and the caller waits for it briefly on this thread
      // instead of an event-loop turn: a hot loop of small maps pays no thread wake-up.
      // (Not for large typed-array arguments: copying them out is a worker's real work,
      // which the cost of a call does not count; they go in chunks to several workers.)
      const waitNs = o.chunksize === undefined && !(star && copiesMuch(items)) ? this.#costs.smallJobWait(f, items.length) : undefined;
      if (waitNs !== undefined && !star && isNumeric(items) && this.#group && o.signal === undefined && o.timeout === undefined && o.onProgress === undefined) {
        // Numbers, once the workers are up: the whole map as one express call, if the lane
        // is free (no task board, no napi call, no message on the way there or back).
        // Numeric results land in `out`, or in an array like the input (a number[] for one).
        const call = this.#group.express(f, [items], waitNs, XCall.Map, out ?? (asArray ? 'array' : undefined), args?.list);
        if (call !== undefined) {
          // (Results that were not numbers on the worker's fast path come back encoded.)
          const finish = (r: unknown) => intoOut(asArray && r instanceof Float64Array ? copyNumbers(r, numberArray(r.length)) : r);
          return this.#expressResult(f, call, { items: items.length, finish });
        }
      }
      const chunks = cut(items, waitNs !== undefined ? items.length : (o.chunksize ?? this.#costs.chunksize(f, items.length, this.#s.processes)));
      if (!star && isNumeric(items)) {
        // Numbers (the caller's typed array, or the one an array of numbers became): workers
        // read them in place and write numeric results in place, nothing copied or encoded.
        const output = out ?? newLike(items);
        const job = runJob(this.#workers(), { f, star, chunks, opts: o, total: items.length, shared: [items, output], waitNs, args });
        // An array's results go back in an array, made now while the workers map (making it
        // costs this thread about as much as copying the results into it).
        const into = asArray ? numberArray(items.length) : undefined;
        return job.then((parts) => intoOut(assembleShared(parts, chunks, output, into)));
      }
      return runJob(this.#workers(), { f, star, chunks, opts: o, total: items.length, waitNs, args }).then((parts) => assemble(parts, input, items.length));
    };
    if (!star && Array.isArray(input) && this.#runsInline(f, input.length, o)) {
      // On the caller, a plain array needs no conversion: map it as it is, and keep the
      // cost model honest with what it really took.
      const began = performance.now();
      const results = runInline(fn as (...args: unknown[]) => unknown, false, input, args?.list);
      if (!(results instanceof Promise)) this.#costs.record(f, ((performance.now() - began) * 1e6) / Math.max(1, input.length));
      return results;
    }
    const items = toItems(input, method, star);
    const result = items instanceof Promise ? items.then(run) : run(items);
    if (star || !isIntegerArray(input)) return result;
    return result instanceof Promise ? result.then((r) => likeInput(input, r)) : likeInput(input, result);
  }

  /** `reduce(fn, input, opts)` with a JS function. */
  reduce(fn: unknown, input: unknown, opts: unknown): Promise<unknown> {
    const f = shipFunction(fn, 'reduce: fn');
    const o = checkOptions<CallOptions & { initial?: unknown }>(opts, 'reduce', ['initial']);
    refuseArgs(o, 'reduce', 'reduce calls fn(acc, x) with nothing else');
    const hasInitial = o.initial !== undefined;
    // The chunks' results (and `initial`, first) are folded by one more job, on a worker
    // like the rest, so a task() or a function with worker-side globals combines too.
    // It runs within what is left of the call's timeout, counted from when the first job
    // began: with one item a chunk, every call of `fn` happens there (an endless `fn` must
    // still time out).
    let began = 0;
    const combine = (partials: unknown[]): Promise<unknown> => {
      const all = hasInitial ? [o.initial, ...partials] : partials;
      if (all.length === 1) return Promise.resolve(all[0]);
      const rest = { signal: o.signal, timeout: o.timeout };
      return runJob(this.#workers(), { f, star: null, chunks: [[0, all]], opts: rest, total: all.length, since: began }).then((parts) => parts[0]![0]);
    };
    const run = (items: Items): Promise<unknown> => {
      if (items.length === 0) {
        if (hasInitial) return Promise.resolve(o.initial);
        return Promise.reject(new TypeError('reduce: the input is empty and no opts.initial was given'));
      }
      const chunks = cut(items, o.chunksize ?? defaultChunksize(items.length, this.#s.processes));
      began = performance.now();
      return runJob(this.#workers(), { f, star: null, chunks, opts: o, total: items.length }).then((parts) => combine(parts.map((p) => p[0])));
    };
    const items = toItems(input, 'reduce', false);
    return items instanceof Promise ? items.then(run) : run(items);
  }

  /** The value (or error) of an express call, now or once its worker is done; for a map,
   * `map` says how many items it had and turns its results into the call's answer. */
  #expressResult(f: FnSpec, call: ExpressCall, map?: { items: number; finish(results: unknown): unknown }): unknown {
    const settle = (o: ExpressOutcome): unknown => {
      this.#costs.record(f, o.ns / (map?.items ?? 1));
      if (o.ok) return map ? map.finish(o.value) : o.value;
      const err = rebuildError(o.value as WireError) as Error & { index?: number };
      if (!map) err.index = 0; // the position within the call's own arguments (a map's: the input position)
      throw err;
    };
    if (call.settled) return settle(call);
    const waiting = new ExpressWait(this.#s.calls, call);
    return call.promise.then(
      (o) => {
        waiting.end();
        return settle(o);
      },
      (e: unknown) => {
        waiting.end();
        throw e;
      },
    );
  }

  /**
   * Whether a call of `items` items of `f` runs on the calling thread: only a shipped
   * function whose measured cost predicts well under a worker round trip, on a pool
   * without an initializer (whose globals exist only in the workers), and without a
   * signal or timeout (which cannot interrupt the calling thread).
   */
  #runsInline(f: FnSpec, items: number, o: CallOptions): boolean {
    return this.#s.inline && f.k === 'fn' && this.#s.initializer === undefined && o.signal === undefined && o.timeout === undefined && this.#costs.cheap(f, items);
  }
}

/** An express call its caller stopped polling for (see {@link Call}): registered until the
 * worker's note (or its death) settles it; `terminate()` rejects it at once. */
class ExpressWait extends Call {
  readonly #call: ExpressCall & { settled: false };

  constructor(calls: Set<PendingCall>, call: ExpressCall & { settled: false }) {
    super(calls, undefined, 1);
    this.#call = call;
    this.begin(false);
  }

  protected stop(): void {}
  protected resolved(): void {}

  protected rejected(error: Error): void {
    this.#call.cancel(error);
  }
}

/** A call's `opts.args`, checked and encoded once for all its jobs (none when empty). */
function callArgs(o: CallOptions, method: string): CallArgs | undefined {
  return o.args === undefined || o.args.length === 0 ? undefined : encodeCallArgs(o.args, method);
}
