/**
 * JS-function calls on a pool's workers, run as one job of the task board each: a job's
 * lifecycle ({@link runJob}), and what an item that cannot be sent means. Cutting inputs into
 * chunks is chunks.ts's, the cost model cost.ts's, streams stream.ts's, batched applies
 * batch.ts's.
 * @internal
 */
import { fromNative, rebuildError } from './remote';
import { WorkerCrashedError } from './errors';
import { Call, type PendingCall } from './lifecycle';
import { type CallOptions } from './options';
import type { JobHandlers } from './board';
import type { WorkerGroup } from './worker-group';
import { type CallArgs, encodeValue, isNumeric } from '../wire/payloads';
import { type FnSpec, type Items, type WireError } from '../wire/protocol';
import type { CostModel } from './cost';
import { cloneMessage } from '../util/clone';

/** What {@link runJob} needs from the pool. */
export interface JobContext {
  group: WorkerGroup;
  calls: Set<PendingCall>;
  costs: CostModel;
  /** The stream whose chunks the calls are: they fail with it. */
  parent?: Call;
}

/**
 * Runs `chunks` as one job of `ctx.group` and resolves with each chunk's results, in
 * order; rejects on the first failure (cancelling the chunks not started), when a worker
 * dies, on abort or timeout (stopping the workers running its chunks).
 */
export function runJob(ctx: JobContext, job: JobRun): Promise<Items[]> {
  const refused = Call.refusal(job.opts, ctx.parent);
  if (refused !== undefined) return Promise.reject(refused);
  return new JobCall(ctx, job).promise;
}

/** What {@link runJob} runs. */
export interface JobRun {
  /** The function. */
  f: FnSpec;
  /** Spread items as arguments; `null` folds each chunk instead (reduce). */
  star: boolean | null;
  /** `[start, items]` of each chunk. */
  chunks: Array<[number, Items]>;
  /** The call's options (its signal, timeout and progress). */
  opts: CallOptions;
  /** How many items the call has in all. */
  total: number;
  /** A shared job's input and output arrays, read and written in place by the workers. */
  shared?: readonly [Float64Array | Float32Array | Int32Array, Float64Array | Float32Array];
  /** For a job predicted to take microseconds: how long to wait for it on this thread. */
  waitNs?: number;
  /** The call's `opts.args`, encoded once. */
  args?: CallArgs;
  /** When the call's timeout started counting (`performance.now()`), for a job that
   * continues an earlier one of the same call; by default, when its first chunk starts. */
  since?: number;
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

  constructor(ctx: JobContext, { f, star, chunks, opts: o, total, shared, waitNs, args, since }: JobRun) {
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
      this.#job = ctx.group.submit({ f, star: star === true, fold: star === null, each: o.onProgress !== undefined, start: timed && since === undefined }, chunks, this, shared, args);
    } catch (err) {
      this.#reject(unsendable(chunks) ?? fromNative(err)); // an item that cannot be encoded, or the addon refused the input
      return;
    }
    // The timeout counts from when the first chunk starts (see started()), or from `since`.
    this.begin(false);
    if (since !== undefined) this.startTimer(since);
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
      if (cause !== undefined) return new TypeError(`input[${start + i}] cannot be sent to a worker: ${cloneMessage(`input[${start + i}]`, cause, true)} (send plain data: structured-clone values)`, { cause });
    }
  }
  return undefined;
}

/** What encoding `value` for a worker throws, or undefined when it encodes. */
export function encodingError(value: unknown): unknown {
  try {
    encodeValue(value, new Map());
    return undefined;
  } catch (err) {
    return err;
  }
}
