/**
 * The express lane's caller end, on the main thread: one small `apply` (or small numeric
 * map) at a time handed to a polling worker through a SharedArrayBuffer, with no task
 * board, napi call or message on the way there or back. The worker's end is
 * worker/lane.ts (`ExpressServer`); the lane's layout and hand-over protocol, which
 * both ends read, are in wire/lane.ts ({@link X}).
 * @internal
 */
import { decodeAny } from '../util/codec';
import { Lru } from '../util/lru';
import { pollFor } from '../util/spin';
import { Bell, type FnSpec, Msg, type PortMessage, specKey } from '../wire/protocol';
import { EXPRESS_BYTES, X, XCall, XResult, XState } from '../wire/lane';
import { ArgTarget, decodeResults, encodeArgsInto } from '../wire/payloads';
import { decodeError } from '../wire/errors';
import { WorkerCrashedError } from './errors';
import { handOn, sharedMemory } from './spare-memory';

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
  #data: ArgTarget = new ArgTarget(new Uint8Array(this.#x.buffer, X.Data, EXPRESS_BYTES - X.Data));
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
   * runs the call (allocating it costs this thread about as much as the worker's whole map
   * of a cheap function over a small input).
   */
  call(f: FnSpec, args: unknown[], budgetNs: number, call: XCall, into?: Float64Array | Float32Array | 'array', extra?: readonly unknown[]): ExpressCall | undefined {
    const x = this.#x;
    // A map's numeric results come back in the lane as float64s (or float32s).
    if (call === XCall.Map && (args[0] as ArrayLike<number>).length * 8 > EXPRESS_BYTES - X.Data) return undefined;
    // Straight into the lane (it is idle, and only this thread posts to it). A map's
    // `opts.args` (`extra`) go as a second list, when they are numbers and unshared typed
    // arrays that fit; otherwise the call goes the ordinary way.
    const size = encodeArgsInto(0, extra === undefined ? [args] : [args, extra], this.#data);
    if (size === undefined) return undefined;
    const key = specKey(f);
    let id = this.#fns.get(key)?.[0];
    if (id === undefined) {
      id = this.#nextFnId++;
      this.#host.broadcast([Msg.Fn, id, f]);
      this.#fns.set(key, [id, f]);
    }
    x[X.FnId] = id;
    x[X.ArgLen] = size;
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
    this.#data = new ArgTarget(new Uint8Array(0));
  }
}

/** What a released lane points at: a few words of its own, never idle (a call is never
 * posted into it), shared with no thread. */
const closedLane = new Int32Array(new ArrayBuffer(16 * 8));
Atomics.store(closedLane, X.State, XState.Done);
