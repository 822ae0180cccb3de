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
   * encoded outcome ({@link IN_OUTPUT} itself when the results are all numbers in `output`). */
  map(spec: FnSpec, input: Float64Array | Float32Array | Int32Array, output: Float64Array | Float32Array, extra: readonly unknown[] | undefined): Promise<[boolean, Buffer]>;
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
   */
  async serve(at: Float64Array, slot: number): Promise<void> {
    const lane = this.#x;
    const f64 = this.#f64;
    const began = performance.now();
    let kind: XResult;
    let bytes: Buffer | undefined;
    at[slot] = 0;
    let spec: FnSpec | undefined;
    try {
      spec = this.#fns.fn(lane[X.FnId]!);
      const map = lane[X.Call] === XCall.Map;
      // An apply's arguments are copied out of the lane, which is the caller's again once
      // the result is handed over (the function may keep them). A map's input is read in
      // place (see below).
      this.#arrays = 0;
      const lists = decodeArgs(new Uint8Array(lane.buffer, X.Data, lane[X.ArgLen]!), map ? this.#inPlace : this.#takeSpare)[1];
      const args = lists[0]!;
      if (map) {
        // A small map: the same loop as a shared chunk's, writing its numbers straight into
        // the lane. Its results start at the lane's data and its input further on, so with
        // elements of the same size result i overwrites only input i or earlier, already
        // read (an Int32Array input, under float64 results, was copied out). The function
        // gets the numbers, never the array.
        const input = args[0] as Float64Array | Float32Array | Int32Array;
        const n = input.length;
        const output = input instanceof Float32Array ? new Float32Array(lane.buffer, X.Data, n) : new Float64Array(lane.buffer, X.Data, n);
        const [ok, out] = await this.#run.map(spec, input, output, lists[1]);
        if (ok && out === IN_OUTPUT) {
          kind = XResult.Numbers;
          lane[X.ResultLen] = n;
        } else {
          kind = ok ? XResult.Value : XResult.Error; // results as a chunk's (encodeResults), or its error
          bytes = out;
        }
      } else {
        const found = this.#run.fn(spec);
        const fn = found instanceof Promise ? await found : found;
        let r = fn(...args);
        if (isThenable(r)) r = await r;
        if (typeof r === 'number') {
          kind = XResult.Number;
          f64[X.NumberF64] = r;
        } else {
          try {
            bytes = encodeAny(r);
            kind = XResult.Value;
          } catch (err) {
            kind = XResult.Error;
            bytes = encodeError(uncloneable(err, -1), 0, []);
          }
        }
      }
    } catch (thrown) {
      const { err, serialization } = spec ? this.#run.explain(thrown, spec) : { err: thrown, serialization: false };
      kind = XResult.Error;
      bytes = encodeError(err, 0, [], serialization);
    }
    f64[X.NsF64] = (performance.now() - began) * 1e6;
    // The call's output first (see the worker's loop); a caller polling the lane stops
    // polling after a while, takes the output, and gets the result as a note.
    if (outputPending()) await flushOutput(() => true, FLUSH_MS);
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
