/*
 * The express lane's layout and hand-over protocol, which both of its ends read: the
 * caller's end is engine/lane.ts (`ExpressLane`), the worker's worker/lane.ts
 * (`ExpressServer`). Like protocol.ts, this module imports nothing. Internal.
 *
 * The lane: one small `apply` (or small numeric map) at a time handed to a polling worker
 * through a SharedArrayBuffer, with no task board, napi call or message on the way there or
 * back. A hot loop of `await pool.apply(fn, [row])` is a round trip between two polling
 * threads.
 *
 * Protocol (one Int32 `State` word decides every hand-over with a compare-and-swap):
 * - the pool writes the function's id and the encoded arguments, then `Idle → Posted`;
 * - a worker takes it, `Posted → Taken` (recording itself as `Owner`), runs it, writes the
 *   result, then `Taken → Done`;
 * - the caller polls for `Done` for a while; if it gives up while `Posted` it withdraws the
 *   call (`Posted → Idle`) and sends it the ordinary way; while `Taken`, it marks the call
 *   `Async` (`Taken → Async`): the worker's swap to `Done` then fails, and it posts a note;
 * - the caller reads the result and sets `Idle`. A worker that dies `Taken`/`Async` fails
 *   the call with WorkerCrashedError.
 */

/** Words of the lane's Int32 header (each on its own cache line where threads contend). */
export const enum X {
  State = 0,
  Owner = 16,
  FnId = 17,
  ArgLen = 18,
  ResultKind = 19,
  ResultLen = 20,
  /** What the call is: an {@link XCall}. */
  Call = 21,
  /** Float64 index of the numeric result. */
  NumberF64 = 12,
  /** Float64 index of the ns the call took on the worker. */
  NsF64 = 13,
  /** Byte offset of the arguments (then of a serialised result or error). */
  Data = 128,
}

export const enum XState {
  Idle = 0,
  Posted = 1,
  Taken = 2,
  Done = 3,
  Async = 4,
}

export const enum XCall {
  /** `fn(...args)`. */
  Apply = 0,
  /** `args[0].map(fn)`, with map's semantics (results, errors' `index`). */
  Map = 1,
}

export const enum XResult {
  /** A number, at `NumberF64`. */
  Number = 0,
  /** A structured-clone value, serialised at `Data`. */
  Value = 1,
  /** A thrown error (a WireError), serialised at `Data`. */
  Error = 2,
  /** A result too large for the lane: it comes in the worker's note. */
  Posted = 3,
  /** A map's results, all numbers: `ResultLen` elements at `Data`, of the input's element
   * type when it is a Float32Array, else float64. */
  Numbers = 4,
}

/** The lane's size: arguments and results up to this travel through it. */
export const EXPRESS_BYTES = 256 * 1024;
