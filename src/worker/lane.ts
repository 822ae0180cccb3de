/**
 * The express lane's worker end: a polling worker takes the call the caller posted in the
 * lane, runs it, and hands the result back the same way (or, if the caller stopped polling,
 * with a note). The caller's end is engine/lane.ts (`ExpressLane`); the lane's layout and
 * hand-over protocol, which both ends read, are in wire/lane.ts ({@link X}).
 * @internal
 */
import { encodeAny } from '../util/codec';
import { isThenable } from '../util/thenable';
import { type FnSpec, Msg, type WorkerMessage } from '../wire/protocol';
import { X, XCall, XResult, XState } from '../wire/lane';
import { type ArgAlloc, type ArgArrayConstructor, decodeArgs } from '../wire/payloads';
import { IN_OUTPUT } from './run';
import { encodeError, uncloneable } from '../wire/errors';
import { FLUSH_MS, flushOutput, outputPending } from './stdio';

/** How the worker's end runs a call (given by the worker's loop, so the caller's thread
 * never loads the worker's compile cache). */
export interface ExpressRunner {
  /** The function `spec` names, compiled or imported. */
  fn(spec: FnSpec): ((...args: unknown[]) => unknown) | Promise<(...args: unknown[]) => unknown>;
  /** Maps `spec`'s function over `input` into `output` as a shared chunk's loop does: its
   * encoded outcome ({@link IN_OUTPUT} itself when the results are all numbers in `output`),
   * at once when it could run synchronously. */
  map(spec: FnSpec, input: Float64Array | Float32Array | Int32Array, output: Float64Array | Float32Array, extra: readonly unknown[] | undefined): [boolean, Buffer] | Promise<[boolean, Buffer]>;
  /** What the function threw, as it should be reported. */
  explain(err: unknown, spec: FnSpec): { err: unknown; serialization: boolean };
}

/** The worker's end of the lane. */
export class ExpressServer {
  readonly #x: Int32Array;
  readonly #f64: Float64Array;
  readonly #worker: number;
  readonly #fns: { fn(id: number): FnSpec };
  readonly #port: { postMessage(message: WorkerMessage): void };
  readonly #run: ExpressRunner;
  /**
   * An array made ahead, while the worker polls, for the next call: a hot loop passes
   * arrays of one type and size, and the allocation is then off the call's path. It is made
   * like the last array argument the lane carried, and taken by the first argument it fits.
   */
  #spare: Float64Array | Float32Array | Int32Array | undefined;
  #lastType: ArgArrayConstructor | undefined;
  #lastLength = 0;
  readonly #takeSpare: ArgAlloc = (Ctor, length) => {
    this.#lastType = Ctor;
    this.#lastLength = length;
    const spare = this.#spare;
    if (spare === undefined || spare.constructor !== Ctor || spare.length !== length) return new Ctor(length);
    this.#spare = undefined;
    return spare;
  };

  /** A map's input: read where it is in the lane, unless its elements are narrower than
   * the results written over it. Its `opts.args` after it are copied (the task may keep
   * them; the lane is the caller's again once the call is done). */
  #arrays = 0;
  readonly #inPlace: ArgAlloc = (Ctor, length) => (this.#arrays++ > 0 || Ctor === Int32Array ? new Ctor(length) : undefined);

  /**
   * @param fns - The functions the lane names, by id.
   * @param port - Where the worker's notes go (its parent port).
   */
  constructor(lane: SharedArrayBuffer, worker: number, fns: { fn(id: number): FnSpec }, port: { postMessage(message: WorkerMessage): void }, run: ExpressRunner) {
    this.#x = new Int32Array(lane);
    this.#f64 = new Float64Array(lane, 0, 16);
    this.#worker = worker;
    this.#fns = fns;
    this.#port = port;
    this.#run = run;
  }

  /** Makes the spare array (see {@link ExpressServer.#spare}) unless the one there fits. */
  prepare(): void {
    const Ctor = this.#lastType;
    if (Ctor !== undefined && (this.#spare?.constructor !== Ctor || this.#spare.length !== this.#lastLength)) this.#spare = new Ctor(this.#lastLength);
  }

  /** Takes the posted call, if it is still there (another worker may have taken it). */
  take(): boolean {
    const x = this.#x;
    if (Atomics.load(x, X.State) !== XState.Posted || Atomics.compareExchange(x, X.State, XState.Posted, XState.Taken) !== XState.Posted) return false;
    Atomics.store(x, X.Owner, this.#worker);
    return true;
  }

  /**
   * Runs the taken call: the function named by id, on the arguments in the lane; writes the
   * result (or the error) back, then hands it over: to the polling caller, or, if it
   * stopped polling, with a note. `at[slot]` is where this worker records its input position.
   * Returns nothing when the call was done at once (a compiled function that returned
   * synchronously: a hot loop's calls pay no promise), else a promise of its end.
   */
  serve(at: Float64Array, slot: number): Promise<void> | undefined {
    const began = performance.now();
    at[slot] = 0;
    let spec: FnSpec | undefined;
    let result: Result | Promise<Result>;
    try {
      spec = this.#fns.fn(this.#x[X.FnId]!);
      result = this.#x[X.Call] === XCall.Map ? this.#map(spec) : this.#apply(spec);
    } catch (thrown) {
      result = this.#failed(thrown, spec);
    }
    if (result instanceof Promise) {
      const named = spec;
      return result.then(
        (r) => this.#finish(r, began),
        (thrown: unknown) => this.#finish(this.#failed(thrown, named), began),
      );
    }
    return this.#finish(result, began);
  }

  /** A map call: the same loop as a shared chunk's, writing its numbers straight into the lane. */
  #map(spec: FnSpec): Result | Promise<Result> {
    const lane = this.#x;
    // A map's input is read in place: its results start at the lane's data and its input
    // further on, so with elements of the same size result i overwrites only input i or
    // earlier, already read (an Int32Array input, under float64 results, was copied out).
    // Its `opts.args` after it are copied (the task may keep them). The function gets the
    // numbers, never the array.
    this.#arrays = 0;
    const lists = this.#decode(this.#inPlace);
    const input = lists[0]![0] as Float64Array | Float32Array | Int32Array;
    const n = input.length;
    const output = input instanceof Float32Array ? new Float32Array(lane.buffer, X.Data, n) : new Float64Array(lane.buffer, X.Data, n);
    const outcome = this.#run.map(spec, input, output, lists[1]);
    return outcome instanceof Promise ? outcome.then((o) => this.#mapped(o, n)) : this.#mapped(outcome, n);
  }

  /** The argument lists in the lane, their arrays made by `alloc`. */
  #decode(alloc: ArgAlloc): unknown[][] {
    return decodeArgs(new Uint8Array(this.#x.buffer, X.Data, this.#x[X.ArgLen]!), alloc)[1];
  }

  /** A map's outcome as the lane's result: its numbers are in the lane already. */
  #mapped([ok, out]: [boolean, Buffer], n: number): Result {
    if (ok && out === IN_OUTPUT) {
      this.#x[X.ResultLen] = n;
      return [XResult.Numbers, undefined];
    }
    return [ok ? XResult.Value : XResult.Error, out]; // results as a chunk's (encodeResults), or its error
  }

  /** An apply call. Its arguments are copied out of the lane, which is the caller's again
   * once the result is handed over (the function may keep them). */
  #apply(spec: FnSpec): Result | Promise<Result> {
    const args = this.#decode(this.#takeSpare)[0]!;
    const found = this.#run.fn(spec);
    if (found instanceof Promise) return found.then((fn) => this.#applied(fn(...args)));
    return this.#applied(found(...args));
  }

  /** An apply's value as the lane's result (awaited first when it is a promise). */
  #applied(r: unknown): Result | Promise<Result> {
    if (isThenable(r)) return Promise.resolve(r).then((v) => this.#applied(v));
    if (typeof r === 'number') {
      this.#f64[X.NumberF64] = r;
      return [XResult.Number, undefined];
    }
    try {
      return [XResult.Value, encodeAny(r)];
    } catch (err) {
      return [XResult.Error, encodeError(uncloneable(err, -1), 0, [])];
    }
  }

  /** What a call threw, as the lane's result. */
  #failed(thrown: unknown, spec: FnSpec | undefined): Result {
    const { err, serialization } = spec ? this.#run.explain(thrown, spec) : { err: thrown, serialization: false };
    return [XResult.Error, encodeError(err, 0, [], serialization)];
  }

  /** Records what the call took, then hands its result over (after the call's output). */
  #finish(result: Result, began: number): Promise<void> | undefined {
    this.#f64[X.NsF64] = (performance.now() - began) * 1e6;
    // The call's output first (see the worker's loop); a caller polling the lane stops
    // polling after a while, takes the output, and gets the result as a note.
    if (outputPending()) return flushOutput(() => true, FLUSH_MS).then(() => this.#handOver(result));
    this.#handOver(result);
    return undefined;
  }

  #handOver([kind, bytes]: Result): void {
    const lane = this.#x;
    let posted: Buffer | undefined;
    if (bytes !== undefined && bytes.length > lane.byteLength - X.Data) {
      posted = bytes;
      lane[X.ResultLen] = kind === XResult.Error ? -1 : 0;
      kind = XResult.Posted;
    } else if (bytes !== undefined) {
      new Uint8Array(lane.buffer, X.Data, bytes.length).set(bytes);
      lane[X.ResultLen] = bytes.length;
    }
    lane[X.ResultKind] = kind;
    if (posted !== undefined || Atomics.compareExchange(lane, X.State, XState.Taken, XState.Done) !== XState.Taken) {
      // The caller stopped polling (or the result is too large for the lane): a note.
      Atomics.store(lane, X.State, XState.Done);
      this.#port.postMessage([Msg.Express, posted]);
    }
  }
}

/** A call's result as the lane carries it: its kind, and its bytes unless they are in the
 * lane already (a map's numbers) or in the header (a number). */
type Result = [XResult, Buffer | undefined];
