/**
 * Batched applies: many `apply` calls made in one turn of the event loop run as one job
 * (see {@link ApplyBatcher}).
 * @internal
 */
import { fromNative, rebuildError } from './remote';
import { WorkerCrashedError } from './errors';
import { Call } from './lifecycle';
import type { JobHandlers } from './board';
import { type FnSpec, type ItemOutcome, type Items, specKey, type WireError } from '../wire/protocol';
import { encodingError, type JobContext } from './jobs';
import { cloneMessage } from '../util/clone';
import { cut, defaultChunksize } from './chunks';

interface ApplyEntry {
  args: unknown[];
  resolve(value: unknown): void;
  reject(error: Error): void;
  settled: boolean;
}

/** The arguments of a call made without any. */
export const NO_ARGS: unknown[] = Object.freeze([]) as unknown as unknown[];

/**
 * A call's outcome, settled by its batch (an {@link ApplyEntry} itself) or by whatever ran
 * it: the state `applyAsync`'s `AsyncResult` reads, with no promise made until one is asked
 * for. A burst of 100,000 `applyAsync` calls keeps every pending call alive across several
 * young-generation collections, and each object a call holds is copied each time: this
 * one stands for the promise, its resolving functions, the batch entry and the handle's
 * promise chain.
 */
export class Deferred<R = unknown> implements ApplyEntry {
  args: unknown[] = NO_ARGS;
  settled = false;
  /** 0 pending, 1 fulfilled, 2 rejected. */
  state: 0 | 1 | 2 = 0;
  value: unknown;
  #promise: Promise<R> | undefined;
  #resolve: ((value: unknown) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;
  #guarded = false;

  resolve(value: unknown): void {
    if (this.state !== 0) return;
    this.state = 1;
    this.value = value;
    this.#resolve?.(value);
  }

  reject(error: unknown): void {
    if (this.state !== 0) return;
    this.state = 2;
    this.value = error;
    this.#reject?.(error);
  }

  /** Settles this as `work` does: a value, a promise, or a function that throws; `work`
   * returns this itself when it took this to settle. */
  follow(work: () => unknown): void {
    try {
      const r = work();
      if (r === this) return;
      if (r instanceof Promise) {
        r.then(
          (v: unknown) => this.resolve(v),
          (e: unknown) => this.reject(e),
        );
      } else {
        this.resolve(r);
      }
    } catch (err) {
      this.reject(err);
    }
  }

  /** The outcome as a promise, made on the first request; `guard` marks its rejection
   * handled (a promise handed out as it is, which its taker may drop). */
  promise(guard = false): Promise<R> {
    if (this.#promise === undefined) {
      if (this.state === 1) this.#promise = Promise.resolve(this.value as R);
      else if (this.state === 2) this.#promise = Promise.reject(this.value);
      else {
        this.#promise = new Promise<R>((resolve, reject) => {
          this.#resolve = resolve as (value: unknown) => void;
          this.#reject = reject;
        });
      }
    }
    if (guard && !this.#guarded) {
      this.#guarded = true;
      this.#promise.catch(() => {});
    }
    return this.#promise;
  }
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
    return new Promise((resolve, reject) => this.enter(f, { args, resolve, reject, settled: false }));
  }

  /** Queues a call whose outcome `entry` takes (see {@link Deferred}). */
  enter(f: FnSpec, entry: ApplyEntry): void {
    const key = specKey(f);
    let group = this.#pending.get(key);
    if (!group) this.#pending.set(key, (group = { f, entries: [] }));
    group.entries.push(entry);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.flush());
    }
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
      e.reject(new TypeError(`apply: args cannot be sent to a worker: ${cloneMessage(`args[${Math.max(0, at)}]`, cause)} (send plain data: structured-clone values)`, { cause }));
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
