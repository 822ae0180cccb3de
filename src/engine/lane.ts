/**
 * The express lane, both of its ends: one small `apply` (or small numeric map) at a time
 * handed to a polling worker through a SharedArrayBuffer, with no task board, napi call or
 * message on the way there or back. The caller's end is {@link ExpressLane}, the worker's
 * {@link ExpressServer}; the lane's layout and hand-over protocol are in protocol.ts
 * ({@link X}).
 * @internal
 */
import { decodeAny, encodeAny } from '../util/codec';
import { WorkerCrashedError } from './errors';
import { Bell, EXPRESS_BYTES, type FnSpec, Msg, type PortMessage, specKey, type WorkerMessage, X, XCall, XResult, XState } from '../wire/protocol';
import { Lru } from '../util/lru';
import { handOn, sharedMemory } from './spare-memory';
import { pollFor } from '../util/spin';
import { FLUSH_MS, flushOutput, outputPending } from '../worker/stdio';
import { isThenable } from '../util/thenable';
import { type ArgAlloc, type ArgArrayConstructor, decodeArgs, decodeError, decodeResults, encodeArgs, encodeError, encodeInOutput, uncloneable } from '../wire/payloads';

/** What an express call gave: a value, or an error from the function (`ok` false). */
export interface ExpressOutcome {
  ok: boolean;
  value: unknown;
  /** What the call took on the worker. */
  ns: number;
}

/** An express call: settled already, or pending (the caller stopped polling for it). */
export type ExpressCall = ({ settled: true } & ExpressOutcome) | { settled: false; promise: Promise<ExpressOutcome>; cancel(error: Error): void };

/** What the caller's end needs from its pool. */
export interface LaneHost {
  /** The pool's doorbell (see {@link Bell}). */
  readonly doorbell: Int32Array;
  /** Posts a message to every worker's port. */
  broadcast(message: PortMessage): void;
  /** A call is pending on a worker's note: hold the event loop open. */
  hold(): void;
  /** No call is pending on a note any more. */
  release(): void;
}

/** How many functions the lane's table keeps (see {@link ExpressLane}'s `#fns`). */
export const LANE_FNS = 256;

/** The caller's end of the lane. */
export class ExpressLane {
  readonly #host: LaneHost;
  /** The lane's memory, in three views; after {@link ExpressLane.release}, a closed lane's
   * (see {@link closedLane}), so the memory handed on is out of this lane's reach. */
  #x: Int32Array = new Int32Array(sharedMemory(EXPRESS_BYTES));
  #f64: Float64Array = new Float64Array(this.#x.buffer, 0, 16);
  /** Where a call's arguments go in the lane. */
  #data: Uint8Array = new Uint8Array(this.#x.buffer, X.Data, EXPRESS_BYTES - X.Data);
  /** The caller of an express call it stopped polling for. */
  #waiter: { resolve(o: ExpressOutcome): void; reject(e: Error): void } | undefined;
  /** What the call in the lane is (an apply, or a map: of a Float32Array or not). */
  #call: XCall = XCall.Apply;
  #f32 = false;
  /** Where a map's numeric results go (see {@link ExpressLane.call}'s `into`). */
  #into: Float64Array | Float32Array | number[] | undefined;
  /** The functions the lane names, by id, the {@link LANE_FNS} used last: every worker is
   * told each once, and told to forget one the bound drops (no call in the lane names it:
   * a function is named only when the lane is idle). Ids are never reused. */
  readonly #fns = new Lru<string, [number, FnSpec]>(LANE_FNS, (_key, [id]) => this.#host.broadcast([Msg.Fn, id, null]));
  #nextFnId = 1;
  /** Calls finished (for stats()). */
  done = 0;

  constructor(host: LaneHost) {
    this.#host = host;
  }

  /** The lane's memory, for a new worker. */
  get buffer(): SharedArrayBuffer {
    return this.#x.buffer as SharedArrayBuffer;
  }

  /** The functions named so far, for a new worker. */
  get fns(): Array<[number, FnSpec]> {
    return [...this.#fns.values()];
  }

  /** Whether a call waits for a worker's note. */
  get waiting(): boolean {
    return this.#waiter !== undefined;
  }

  /** Whether no call is in the lane. */
  get idle(): boolean {
    return Atomics.load(this.#x, X.State) === XState.Idle;
  }

  /**
   * Runs `args` through the lane (which must be idle) if they are numbers and typed arrays
   * that fit; undefined otherwise (send the call the ordinary way). Polls up to `budgetNs`
   * for the result on this thread. With `XCall.Map`, `args` is `[items]` (a numeric array)
   * and the call maps `f` over it: its value is a Float64Array (a Float32Array for a
   * Float32Array input) when every result is a number, else an array; an error carries the
   * input position as `index`.
   *
   * A map's numeric results are copied out of the lane into `into`: the caller's `out`, or
   * `'array'` for a number[]; by default a new array like the input, made while the worker
   * runs the call (allocating 8 KB costs this thread about as much as the worker's whole map
   * of a cheap function over 1,000 numbers).
   */
  call(f: FnSpec, args: unknown[], budgetNs: number, call: XCall, into?: Float64Array | Float32Array | 'array', extra?: readonly unknown[]): ExpressCall | undefined {
    const x = this.#x;
    // A map's numeric results come back in the lane as float64s (or float32s).
    if (call === XCall.Map && (args[0] as ArrayLike<number>).length * 8 > EXPRESS_BYTES - X.Data) return undefined;
    // Straight into the lane (it is idle, and only this thread posts to it). A map's
    // `opts.args` (`extra`) go as a second list, when they are numbers and unshared typed
    // arrays that fit; otherwise the call goes the ordinary way.
    const bytes = encodeArgs(0, extra === undefined ? [args] : [args, extra], this.#data);
    if (bytes === undefined) return undefined;
    const key = specKey(f);
    let id = this.#fns.get(key)?.[0];
    if (id === undefined) {
      id = this.#nextFnId++;
      this.#host.broadcast([Msg.Fn, id, f]);
      this.#fns.set(key, [id, f]);
    }
    x[X.FnId] = id;
    x[X.ArgLen] = bytes.length;
    x[X.Call] = call;
    this.#call = call;
    this.#f32 = call === XCall.Map && args[0] instanceof Float32Array;
    Atomics.store(x, X.State, XState.Posted);
    const bell = this.#host.doorbell;
    if (Atomics.load(bell, Bell.Spinner) === 0) {
      Atomics.add(bell, Bell.Ring, 1);
      Atomics.notify(bell, Bell.Ring, 1);
    }
    if (call === XCall.Map) {
      // Made now, while the worker maps (unused if the results are not all numbers).
      const n = (args[0] as ArrayLike<number>).length;
      this.#into = into === 'array' ? new Array<number>(n).fill(0.5) : (into ?? (this.#f32 ? new Float32Array(n) : new Float64Array(n)));
    }
    const done = () => Atomics.load(x, X.State) === XState.Done;
    while (!pollFor(done, budgetNs / 1e6)) {
      if (Atomics.compareExchange(x, X.State, XState.Posted, XState.Idle) === XState.Posted) {
        this.#into = undefined;
        return undefined; // withdrawn
      }
      if (Atomics.compareExchange(x, X.State, XState.Taken, XState.Async) === XState.Taken) {
        // The worker has it: it will post a note when it is done.
        return this.#wait();
      }
      budgetNs = 0; // between Taken and Done: the worker is writing the result
    }
    // Done; a result too large for the lane is in the worker's note: wait for it.
    if (x[X.ResultKind] === XResult.Posted) return this.#wait();
    return { settled: true, ...this.#result(undefined) };
  }

  /** A pending call: settled by the worker's note (or its death), holding the event loop
   * open meanwhile as a pending job does. */
  #wait(): ExpressCall {
    let cancel!: (e: Error) => void;
    const promise = new Promise<ExpressOutcome>((resolve, reject) => {
      const release = () => {
        if (this.#waiter === waiter) this.#waiter = undefined;
        this.#host.release();
      };
      const waiter = {
        resolve: (o: ExpressOutcome) => {
          release();
          resolve(o);
        },
        reject: (e: Error) => {
          release();
          reject(e);
        },
      };
      this.#waiter = waiter;
      cancel = waiter.reject;
    });
    this.#host.hold();
    return { settled: false, promise, cancel };
  }

  /** Reads a call's result (from the lane, or from the worker's note) and frees the lane. */
  #result(posted: Uint8Array | undefined): ExpressOutcome {
    const x = this.#x;
    const kind = x[X.ResultKind];
    const ns = this.#f64[X.NsF64]!;
    if (kind === XResult.Numbers) {
      // Copied out of the lane before it is freed.
      const n = x[X.ResultLen]!;
      const results = this.#f32 ? new Float32Array(x.buffer, X.Data, n) : new Float64Array(x.buffer, X.Data, n);
      const value = this.#into!;
      this.#into = undefined;
      if (Array.isArray(value)) {
        for (let i = 0; i < n; i++) value[i] = results[i]!;
      } else {
        value.set(results);
      }
      Atomics.store(x, X.State, XState.Idle);
      this.done++;
      return { ok: true, value, ns };
    }
    this.#into = undefined;
    const bytes = posted ?? (kind === XResult.Number ? undefined : new Uint8Array(x.buffer, X.Data, x[X.ResultLen]).slice());
    const map = this.#call === XCall.Map;
    Atomics.store(x, X.State, XState.Idle);
    this.done++; // for stats()
    if (kind === XResult.Number) return { ok: true, value: this.#f64[X.NumberF64], ns };
    const error = kind === XResult.Error || (kind === XResult.Posted && x[X.ResultLen] < 0);
    if (error) return { ok: false, value: decodeError(bytes!), ns };
    // A map's results that are not all numbers come as a chunk's do.
    return { ok: true, value: map ? decodeResults(bytes!) : decodeAny(bytes!), ns };
  }

  /** A worker finished a call its caller stopped polling for (its {@link Msg.Express}). */
  note(posted: Uint8Array | undefined): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    const outcome = this.#result(posted);
    waiter?.resolve(outcome);
  }

  /** Worker `id` exited with `code` (after `error`); `position` is the input position it
   * was at. If it held the lane's call, the call fails. */
  workerExited(id: number, code: number, error: Error | undefined, position: number): void {
    const x = this.#x;
    const state = Atomics.load(x, X.State);
    if ((state !== XState.Taken && state !== XState.Async) || Atomics.load(x, X.Owner) !== id) return;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    this.#into = undefined;
    Atomics.store(x, X.State, XState.Idle);
    const why = error ? `: ${error.message}` : '';
    // A map names the input position its worker was at; an apply has one call.
    const at = this.#call === XCall.Map ? Math.max(0, position) : 0;
    const running = this.#call === XCall.Map ? `input[${at}]` : 'it';
    waiter?.reject(new WorkerCrashedError(`a pool worker exited with code ${code} while running ${running}${why}`, code, at));
  }

  /** The pool is closed: no call is in the lane. */
  reset(): void {
    if (this.#x === closedLane) return;
    this.#into = undefined;
    Atomics.store(this.#x, X.State, XState.Idle);
  }

  /** Hands the lane's memory on to the next pool made (see spare-memory.ts): the pool is
   * closed and none of its workers is alive. The lane keeps no view of it: from now on it
   * is never idle, so no call enters it, and a second release hands nothing on. */
  release(): void {
    if (this.#x === closedLane) return;
    handOn(this.#x.buffer as SharedArrayBuffer);
    this.#waiter = undefined;
    this.#into = undefined;
    this.#x = closedLane;
    this.#f64 = new Float64Array(closedLane.buffer, 0, 16);
    this.#data = new Uint8Array(0);
  }
}

/** What a released lane points at: a few words of its own, never idle (a call is never
 * posted into it), shared with no thread. */
const closedLane = new Int32Array(new ArrayBuffer(16 * 8));
Atomics.store(closedLane, X.State, XState.Done);

/** How the worker's end runs a call (given by the worker's loop, so the caller's thread
 * never loads the worker's compile cache). */
export interface ExpressRunner {
  /** The function `spec` names, compiled or imported. */
  fn(spec: FnSpec): ((...args: unknown[]) => unknown) | Promise<(...args: unknown[]) => unknown>;
  /** Maps `spec`'s function over `input` into `output` as a shared chunk's loop does: its
   * encoded outcome (results in `output` when they are all numbers). */
  map(spec: FnSpec, input: Float64Array | Float32Array | Int32Array, output: Float64Array | Float32Array, extra: readonly unknown[] | undefined): Promise<[boolean, Buffer]>;
  /** What the function threw, as it should be reported. */
  explain(err: unknown, spec: FnSpec): { err: unknown; serialization: boolean };
}

/** What a shared chunk's results encode to when they are all in the output. */
const IN_OUTPUT_BYTES = encodeInOutput();

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
        if (ok && out.equals(IN_OUTPUT_BYTES)) {
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
