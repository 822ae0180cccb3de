/*
 * Everything that crosses a thread between a pool (or a `Process`) and its worker threads:
 * what a job runs and how its chunks and errors look, the messages each side posts, the
 * layout of the shared memory both sides read (the doorbell, the workers' slots; the
 * express lane's is in lane.ts), and what each kind of worker thread is started with. Both sides import
 * this module, and it imports nothing at all: a worker must not load the pool's code, and
 * the pool's modules must not depend on the worker's. Internal: not part of the public API.
 */

/** What a job runs: a shipped function's source (with where it was defined, when the
 * caller's file shows it: the worker names its stack frames after that file and line), or a
 * module's export. */
export type FnSpec = { k: 'fn'; src: string; name: string; file?: string; line?: number; col?: number } | { k: 'mod'; url: string; name: string };

/** A function's key, the same on both sides: its source, or its module and export (task()
 * makes a new spec object on every call; caches and the express lane's ids go by this). */
export function specKey(f: FnSpec): string {
  return f.k === 'fn' ? f.src : `${f.url}#${f.name}`;
}

/** A job's description, as the board stores it (JSON). */
export interface JobSpec {
  /** The function. */
  f: FnSpec;
  /** Spread each item as the arguments (starmap, apply). */
  star: boolean;
  /** Fold each chunk with `fn(acc, item)` (reduce): a chunk's result is `[acc]`. */
  fold?: boolean;
  /** Post a message for every finished chunk (imap, onProgress), not only for the job. */
  each: boolean;
  /** Post a message when the first chunk starts (for a timeout counted from the start). */
  start: boolean;
  /** Each item is its own call (batched applies): an item that throws fails alone; a
   * chunk's results are `[true, value]` or `[false, WireError]` per item. */
  isolate?: boolean;
  /** The call's `opts.args` (see wire.ts `encodeCallArgs`): passed after each item's own
   * arguments; decoded once per job by each worker that runs it. */
  a?: string;
}

/** One item's outcome in an `isolate` job. */
export type ItemOutcome = [true, unknown] | [false, WireError];

/** An error as it crosses a thread: enough to rebuild it with its class, props and stack. */
export interface WireError {
  name: string;
  message: string;
  stack: string | undefined;
  props: Record<string, unknown>;
  /** The input position of the item that threw. */
  index: number;
  /** The results of the chunk's items before the one that threw (for imap). */
  partial: Items;
  /** Set when the function could not be shipped or compiled. */
  serialization?: boolean;
  /** Set when the error is a `DOMException` (a `DataCloneError`, an `AbortError`, …). */
  dom?: boolean;
  /** The error's `cause`: an error (as a WireError), or any other value, cloned. */
  cause?: { error: WireError } | { value: unknown };
}

/** A chunk's items: numbers travel as one typed array, anything else as an array. */
/** Numbers travel in a typed array: Float64Array, Float32Array, or Int32Array when every
 * number of a plain array is a small integer (so the worker computes on integers, as the
 * caller's engine would, not on doubles). */
export type NumericItems = Float64Array | Float32Array | Int32Array;
export type Items = readonly unknown[] | NumericItems;

/** The messages a worker posts to the pool's thread: `[job, chunk, kind]`. */
export const enum Note {
  /** The whole job has settled. */
  JobDone = 0,
  /** A job its caller dropped has no running chunk any more: its arrays may go. */
  Released = 5,
  /** One chunk has settled (jobs with `each`). */
  ChunkDone = 1,
  /** A chunk failed. */
  ChunkFailed = 2,
  /** The job's first chunk started (jobs with `start`). */
  Started = 3,
  /** The worker is retiring after `maxTasksPerChild` chunks. */
  Retiring = 4,
}

/**
 * The pool's doorbell, an Int32Array over a SharedArrayBuffer, one word per 64-byte cache
 * line (each is written by different threads). `Ring`: bumped (and notified) by the pool
 * when it queues work. `Waits`: the id (as an int32) of the small job whose caller is
 * polling for it; the worker that completes that job swaps it to 0 and posts no note (the
 * caller sees the swap and takes the results), while a caller that stops polling swaps it
 * to 0 first and then gets the note: exactly one of them wins.
 */
export const enum Bell {
  Ring = 0,
  Waits = 16,
  /** The id of the one worker polling the doorbell for new work (0: none). */
  Spinner = 32,
  Words = 48,
}

/**
 * Each worker owns one 64-byte line of the pool's slot buffer (so its writes never contend
 * with another's): a Float64 at `worker * SLOT_STRIDE`, the input position it runs (read if
 * it dies), and an Int32 at `worker * SLOT_STRIDE * 2 + POLLING`, 1 from the moment it
 * finishes a chunk until it parks: such a worker looks at the board again before it sleeps
 * (and re-reads `Ring` after clearing the flag), so it needs no notify.
 */
export const SLOT_STRIDE = 8;
export const POLLING = 2;
/** A Float64 at `worker * SLOT_STRIDE + HEAP_USED`: the worker's V8 heap in use (bytes), as
 * of the last time it parked (for `Pool.stats()`). */
export const HEAP_USED = 2;
/** A Float64 at `worker * SLOT_STRIDE + HEAP_TOTAL`: the worker's V8 heap size (bytes,
 * young generation included), likewise. */
export const HEAP_TOTAL = 3;

/** What the pool passes to each of its worker threads (`workerData.ferropool`). */
export interface WorkerInit {
  pool: number;
  worker: number;
  /** The doorbell (see {@link Bell}). */
  doorbell: SharedArrayBuffer;
  /** The workers' slots (see {@link SLOT_STRIDE}). */
  current: SharedArrayBuffer;
  initializer: FnSpec | undefined;
  /** Encoded with `encodeValue` (shared memory by id). */
  initargs: Uint8Array;
  maxTasksPerChild: number;
  /** The SharedArrayBuffers arguments have referred to so far, by id. */
  sabs: Array<[number, SharedArrayBuffer]>;
  /** Where the pool posts {@link PortMessage}s. */
  port: import('node:worker_threads').MessagePort;
  /** The express lane (its layout is in lane.ts). */
  express: SharedArrayBuffer;
  /** The functions the express lane named so far, by id. */
  fns: Array<[number, FnSpec]>;
}

/** What a `Process`'s thread is given (`workerData.ferropoolProcess`). */
export interface ProcessInit {
  f: FnSpec;
  args: Uint8Array;
  sabs: Array<[number, SharedArrayBuffer]>;
  name: string;
}

/** The first element of a message that is not a job's {@link Note}. */
export const enum Msg {
  /** Pool → worker port: the express lane's function `id` is `spec` (null: forget `id`). */
  Fn = 'fn',
  /** Worker → pool: an express call its caller stopped polling for is done. */
  Express = 'express',
  /** Worker → pool: the initializer has run. */
  Ready = 'ready',
  /** Worker → pool: the initializer threw (an encoded WireError); the worker exits. */
  InitError = 'init-error',
  /** Process thread → its `Process`: the target threw (an encoded WireError). */
  ProcessError = 'process-error',
}

/**
 * What the pool posts on a worker's port: a shared buffer arguments refer to (`null`:
 * forget it, nobody refers to it any more), or a function the express lane names by id.
 * The pool posts either before the job or call that needs it.
 */
export type PortMessage = readonly [id: number, buffer: SharedArrayBuffer | null] | readonly [Msg.Fn, id: number, spec: FnSpec | null];

/** What a pool worker posts to the pool's thread. */
export type WorkerMessage =
  | readonly [job: number, index: number, kind: Note, nsPerItem?: number]
  | readonly [Msg.Express, posted: Uint8Array | undefined]
  | readonly [Msg.Ready]
  | readonly [Msg.InitError, error: Uint8Array];

/** What a `Process`'s thread posts to its `Process`. */
export type ProcessMessage = readonly [Msg.ProcessError, error: Uint8Array];
