/**
 * The worker threads of one pool and their task board: spawning, replacing, waking,
 * routing their messages, and turning a worker's death into the right call's error.
 * @internal
 */
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { PoolStateError, WorkerCrashedError } from './errors';
import { EXPRESS_BYTES, X, XCall, XResult, XState } from './protocol';
import * as path from 'node:path';
import { decodeAny } from './codec';
import { pollFor } from './spin';
import { native } from './native';
import { encodeArgs, encodeChunk, encodeSharedChunk, encodeValue, decodeError, decodeResults, type SharedRefs } from './wire';
import { Bell, HEAP_TOTAL, HEAP_USED, POLLING, SLOT_STRIDE, type FnSpec, type Items, type JobSpec, Note, type WireError, type WorkerInit, Msg, type PortMessage, type WorkerMessage } from './protocol';

/** What a job's submitter is told. */
export interface JobHandlers {
  /** The first chunk started (only for specs with `start`). */
  started?(): void;
  /** Chunk `index` settled with its results (jobs with `each`, or all chunks at the end). */
  chunk(index: number, ok: true, results: Items): void;
  chunk(index: number, ok: false, error: WireError): void;
  /** A worker measured what one item of the job cost, in nanoseconds. */
  cost?(nsPerItem: number): void;
  /** The job settled; every chunk was reported before. */
  done(): void;
  /** A worker died while running chunk `index` of the job. */
  crashed(index: number, exitCode: number, position: number, cause: Error | undefined): void;
}

interface Job {
  readonly id: number;
  readonly chunks: number;
  readonly handlers: JobHandlers;
  /** Chunks already delivered to the handlers. */
  readonly delivered: Uint8Array;
  /** The shared memory its arguments refer to, held while the job lives. */
  readonly refs: SharedRefs | undefined;
}

interface Member {
  readonly id: number;
  readonly worker: Worker;
  /** Where the shared memory that arguments refer to is posted to it. */
  readonly port: MessagePort;
  /** Set when we stop it on purpose (cancel, terminate, retire), so its exit is no crash. */
  stopping: boolean;
  /** The uncaught error it reported before exiting (out of memory, …). */
  error: Error | undefined;
  /** Settles once its initializer has run (or failed), or it exited. */
  readonly ready: Promise<void>;
  markReady(): void;
}

const WORKER_SCRIPT = path.join(__dirname, 'worker.js');

/** What an express call gave: a value, or an error from the function (`ok` false). */
export interface ExpressOutcome {
  ok: boolean;
  value: unknown;
  /** What the call took on the worker. */
  ns: number;
}

/** An express call: settled already, or pending (the caller stopped polling for it). */
export type ExpressCall = ({ settled: true } & ExpressOutcome) | { settled: false; promise: Promise<ExpressOutcome>; cancel(error: Error): void };

/** Options the pool hands to its workers. */
export interface GroupOptions {
  size: number;
  initializer: FnSpec | undefined;
  initargs: unknown[];
  maxTasksPerChild: number | undefined;
  resourceLimits?: import('node:worker_threads').ResourceLimits;
  /** The highest worker id (default {@link MAX_WORKER_ID}, at least `size`): ids cycle
   * through `1..idLimit`. Lower only in tests, to reach the wrap-around quickly. */
  idLimit?: number;
}

/** Worker ids cycle through `1..MAX_WORKER_ID` (Python numbers its workers from 1 up; ids
 * index the workers' slots in shared memory, so they are bounded). */
export const MAX_WORKER_ID = 1023;

/** @internal A pool option, for tests only: {@link GroupOptions.idLimit}. */
export const WORKER_ID_LIMIT = Symbol.for('ferropool.workerIdLimit');

/** Job specs as text, by function and flags: a hot loop's jobs share one. */
const specTexts = new WeakMap<FnSpec, Map<string, string>>();
function specText(spec: JobSpec): string {
  const flags = `${+spec.star}${+!!spec.fold}${+spec.each}${+spec.start}${+!!spec.isolate}`;
  let texts = specTexts.get(spec.f);
  if (!texts) specTexts.set(spec.f, (texts = new Map()));
  let text = texts.get(flags);
  if (text === undefined) texts.set(flags, (text = JSON.stringify(spec)));
  return text;
}

/** A pool's workers and the board they claim chunks from. */
export class WorkerGroup {
  readonly #options: GroupOptions;
  readonly #pool = native.boardOpen();
  readonly #doorbell = new Int32Array(new SharedArrayBuffer(4 * Bell.Words));
  readonly #current: Float64Array;
  /** The same memory as `#current`, for the workers' polling flags. */
  readonly #polling: Int32Array;
  readonly #members = new Map<number, Member>();
  readonly #jobs = new Map<number, Job>();
  /** The caller's arrays of shared jobs, held until no worker can touch them. */
  readonly #retained = new Map<number, unknown>();
  /** Every SharedArrayBuffer that arguments have referred to, by id: each worker gets them
   * all (at its start, or posted later), so a task finds its Lock's memory. Held weakly:
   * once no job and no code of the caller holds one, the workers are told to forget it. */
  readonly #sabs = new Map<number, WeakRef<SharedArrayBuffer>>();
  /** Those `initargs` refer to: held for the group's life. */
  readonly #pinned: SharedRefs = new Map();
  readonly #gone = new FinalizationRegistry<number>((id) => {
    this.#sabs.delete(id);
    for (const m of this.#members.values()) m.port.postMessage([id, null] satisfies PortMessage);
  });
  /** `initargs`, encoded once. */
  readonly #initargs: Buffer;
  /** Holds the event loop open while jobs are pending (and only then): one timer's ref,
   * cheap to toggle on every call of a hot loop (a ref/unref of every worker was not). */
  readonly #keepAlive = setInterval(() => {}, 0x7fffffff).unref();
  /** The express lane (see express.ts). */
  readonly #express = new Int32Array(new SharedArrayBuffer(EXPRESS_BYTES));
  readonly #expressF64 = new Float64Array(this.#express.buffer, 0, 16);
  /** Where a call's arguments go in the lane. */
  readonly #expressData = new Uint8Array(this.#express.buffer, X.Data, EXPRESS_BYTES - X.Data);
  /** The caller of an express call it stopped polling for. */
  #expressWaiter: { resolve(o: ExpressOutcome): void; reject(e: Error): void } | undefined;
  /** What the call in the lane is (an apply, or a map: of a Float32Array or not). */
  #expressCall: XCall = XCall.Apply;
  #expressF32 = false;
  /** Functions the express lane has named, by id (every worker is told each once). */
  readonly #fnIds = new Map<string, number>();
  readonly #fns: Array<[number, FnSpec]> = [];
  /** Chunks (and express calls) finished on the workers: see stats(). */
  #chunksDone = 0;
  #nextWorker = 1;
  /** The highest worker id (see {@link GroupOptions.idLimit}). */
  readonly #idLimit: number;
  #nextJob = 1;
  #closed = false;
  /** Called when a worker's initializer throws; the pool rejects what is pending. */
  onInitError: (error: WireError) => void = () => {};

  constructor(options: GroupOptions) {
    this.#options = options;
    this.#initargs = encodeValue(options.initargs, this.#pinned);
    this.#idLimit = Math.max(options.size, options.idLimit ?? MAX_WORKER_ID);
    this.#current = new Float64Array(new SharedArrayBuffer(8 * (this.#idLimit + 1) * SLOT_STRIDE));
    this.#polling = new Int32Array(this.#current.buffer);
  }

  /** Starts the workers now (a pool with an initializer: Python's start when it is made). */
  start(): void {
    this.#fill();
  }

  /** Starts the workers that are missing. */
  #fill(): void {
    while (!this.#closed && this.#members.size < this.#options.size) this.#spawn();
  }

  /**
   * The next worker id, skipping those of live workers. An id is free again only once its
   * worker's exit has been handled (#onExit): until then the board may count the worker as
   * the holder of a chunk, the express lane as its owner, and its slot in `#current` is its
   * own; two live workers of one id were once conflated, and a call never settled.
   */
  #freeId(): number {
    for (let tries = 0; tries < this.#idLimit; tries++) {
      const id = this.#nextWorker;
      this.#nextWorker = id >= this.#idLimit ? 1 : id + 1;
      if (!this.#members.has(id)) return id;
    }
    // Cannot happen: there are never more members than `size`, and `size <= #idLimit`.
    throw new Error('ferropool: no free worker id');
  }

  #spawn(): void {
    const id = this.#freeId();
    this.#current[id * SLOT_STRIDE + HEAP_USED] = 0; // not measured yet (stats())
    this.#current[id * SLOT_STRIDE + HEAP_TOTAL] = 0;
    const channel = new MessageChannel();
    // The slot may hold what its last worker left there (a position, a polling flag).
    this.#current[id * SLOT_STRIDE] = -1;
    Atomics.store(this.#polling, id * SLOT_STRIDE * 2 + POLLING, 0);
    const init: WorkerInit = {
      pool: this.#pool,
      worker: id,
      doorbell: this.#doorbell.buffer as SharedArrayBuffer,
      current: this.#current.buffer as SharedArrayBuffer,
      initializer: this.#options.initializer,
      initargs: this.#initargs,
      maxTasksPerChild: this.#options.maxTasksPerChild ?? Infinity,
      sabs: [...this.#pinned, ...this.#alive()],
      express: this.#express.buffer as SharedArrayBuffer,
      fns: [...this.#fns],
      port: channel.port2,
    };
    const worker = new Worker(WORKER_SCRIPT, {
      workerData: { ferropool: init },
      transferList: [channel.port2],
      resourceLimits: this.#options.resourceLimits,
      stdout: false,
      stderr: false,
    });
    let markReady = () => {};
    const ready = init.initializer === undefined ? Promise.resolve() : new Promise<void>((r) => (markReady = r));
    const member: Member = { id, worker, port: channel.port1, stopping: false, error: undefined, ready, markReady: () => markReady() };
    channel.port1.unref();
    this.#members.set(id, member);
    worker.on('message', (msg: WorkerMessage) => this.#onMessage(member, msg));
    worker.on('error', (err) => {
      member.error = err;
    });
    worker.on('exit', (code) => this.#onExit(member, code));
    // Workers never keep the program alive themselves (an idle pool must not); the group's
    // keep-alive timer does while jobs are pending. (After the listeners: adding a
    // 'message' listener refs the worker's port again.)
    worker.unref();
  }

  #onMessage(member: Member, msg: WorkerMessage): void {
    if (!Array.isArray(msg)) return;
    if (msg[0] === Msg.Express) {
      this.#expressNote(msg[1] as Uint8Array | undefined);
      return;
    }
    if (msg[0] === Msg.Ready) {
      member.markReady();
      return;
    }
    if (msg[0] === Msg.InitError) {
      member.stopping = true;
      member.markReady();
      this.onInitError(decodeError(msg[1] as Uint8Array));
      return;
    }
    const [jobId, index, kind, nsPerItem] = msg as [number, number, Note, number | undefined];
    if (kind === Note.Retiring) {
      member.stopping = true;
      return;
    }
    if (kind === Note.Released) {
      this.#retained.delete(jobId);
      return;
    }
    const job = this.#jobs.get(jobId);
    if (!job) return;
    if (nsPerItem !== undefined) job.handlers.cost?.(nsPerItem);
    if (kind === Note.Started) job.handlers.started?.();
    else if (kind === Note.JobDone) this.#finish(job);
    else this.#deliver(job, index);
  }

  /** Hands chunk `index`'s outcome to the job's handlers, once. */
  #deliver(job: Job, index: number): boolean {
    if (job.delivered[index]) return true;
    const outcome = native.boardTake(this.#pool, job.id, index);
    if (!outcome) return false;
    job.delivered[index] = 1;
    this.#chunksDone++; // for stats()
    if (outcome.ok) job.handlers.chunk(index, true, decodeResults(outcome.bytes));
    else job.handlers.chunk(index, false, decodeError(outcome.bytes));
    return true;
  }

  #finish(job: Job): void {
    for (let i = 0; i < job.chunks && this.#jobs.has(job.id); i++) this.#deliver(job, i);
    if (this.#jobs.has(job.id)) {
      this.#forget(job.id);
      job.handlers.done();
    }
  }

  #onExit(member: Member, code: number): void {
    member.markReady();
    this.#members.delete(member.id);
    member.port.close();
    // A worker stopped while it polled must not keep the others from polling.
    Atomics.compareExchange(this.#doorbell, Bell.Spinner, member.id, 0);
    const state = Atomics.load(this.#express, X.State);
    if ((state === XState.Taken || state === XState.Async) && Atomics.load(this.#express, X.Owner) === member.id) {
      const waiter = this.#expressWaiter;
      this.#expressWaiter = undefined;
      Atomics.store(this.#express, X.State, XState.Idle);
      const why = member.error ? `: ${member.error.message}` : '';
      // A map names the input position its worker was at; an apply has one call.
      const at = this.#expressCall === XCall.Map ? Math.max(0, this.#current[member.id * SLOT_STRIDE]!) : 0;
      const running = this.#expressCall === XCall.Map ? `input[${at}]` : 'it';
      waiter?.reject(new WorkerCrashedError(`a pool worker exited with code ${code} while running ${running}${why}`, code, at));
    }
    const { lost, released, completed } = native.boardWorkerDied(this.#pool, member.id);
    for (const jobId of released) this.#retained.delete(jobId);
    const position = this.#current[member.id * SLOT_STRIDE]!;
    for (const [jobId, index] of lost as Array<[number, number]>) {
      const job = this.#jobs.get(jobId);
      if (job && !member.stopping) job.handlers.crashed(index, code, position, member.error);
    }
    // Jobs this death completed (a batch of applies whose last open call it was): no worker
    // will post their note, so settle them here.
    for (const jobId of completed) {
      const job = this.#jobs.get(jobId);
      if (job) this.#finish(job);
    }
    if (this.#jobs.size > 0) this.#fill();
  }

  /**
   * Queues a job of one chunk per entry of `chunks` (`[start, items]`), returns its id.
   * With `shared` (`[input, output]`, typed arrays of one type and length), the workers
   * read the items from `input` and write numeric results to `output` in place, and the
   * group holds both arrays until no worker can touch them any more.
   */
  submit(spec: JobSpec, chunks: ReadonlyArray<readonly [number, Items]>, handlers: JobHandlers, shared?: readonly [Float64Array | Float32Array | Int32Array, Float64Array | Float32Array]): number {
    // An imap still reading its input after terminate(): its next chunks are refused as the
    // rest of the call was (found by the model-based fault sequences).
    if (this.#closed) throw new PoolStateError('Pool was terminated before the call finished', 'ERR_POOL_TERMINATED');
    const id = this.#nextJob;
    this.#nextJob = this.#nextJob >= 0xfffffff0 ? 1 : this.#nextJob + 1;
    const refs: SharedRefs = new Map();
    const payloads = chunks.map(([start, items]) => (shared ? encodeSharedChunk(start, items.length) : encodeChunk(start, items, refs)));
    // Shared memory the workers have not seen yet goes to each of them before the job (a
    // worker reads its port, synchronously, when a payload names a buffer it lacks).
    for (const [ref, sab] of refs) {
      if (this.#sabs.has(ref) || this.#pinned.has(ref)) continue;
      this.#sabs.set(ref, new WeakRef(sab));
      this.#gone.register(sab, ref);
      for (const m of this.#members.values()) m.port.postMessage([ref, sab] satisfies PortMessage);
    }
    native.boardSubmit(this.#pool, id, specText(spec), payloads, shared?.[0], shared?.[1], spec.isolate === true);
    if (shared) this.#retained.set(id, shared);
    if (this.#jobs.size === 0) this.#keepAlive.ref();
    this.#jobs.set(id, { id, chunks: chunks.length, handlers, delivered: new Uint8Array(chunks.length), refs: refs.size > 0 ? refs : undefined });
    this.#fill();
    // Wake as many parked workers as there are chunks, less those polling already. (A worker
    // clears its flag, then re-reads Ring before it parks; Ring is bumped here before the
    // flags are read: sequentially consistent atomics, so no wake-up is lost.)
    Atomics.add(this.#doorbell, Bell.Ring, 1);
    let wake = chunks.length;
    for (const m of this.#members.values()) wake -= Atomics.load(this.#polling, m.id * SLOT_STRIDE * 2 + POLLING);
    if (wake > 0) Atomics.notify(this.#doorbell, Bell.Ring, wake);
    return id;
  }

  /**
   * Waits on this thread, polling, up to `budgetNs` for job `id` to settle, and if it does,
   * hands its results to its handlers now (a small job's result is then no event-loop
   * turn away: the worker's note, when it comes, finds the job gone). Used for jobs
   * predicted to take microseconds, when the caller waits for them anyway.
   */
  settleNow(id: number, budgetNs: number): void {
    const job = this.#jobs.get(id);
    if (!job) return;
    const bell = this.#doorbell;
    const me = id | 0;
    Atomics.store(bell, Bell.Waits, me);
    // The job may be done already (before the store): then no worker swapped the word.
    let done = this.#takeAll(job);
    if (!done) {
      // Give up after the budget, unless the worker swapped the word in the meantime.
      if (!pollFor(() => Atomics.load(bell, Bell.Waits) !== me, budgetNs / 1e6) && Atomics.compareExchange(bell, Bell.Waits, me, 0) === me) return;
      done = this.#takeAll(job);
    } else {
      Atomics.compareExchange(bell, Bell.Waits, me, 0);
    }
    if (!this.#jobs.has(id)) return; // a chunk failed: its handler settled the call
    if (done) {
      this.#forget(id);
      job.handlers.done();
    }
  }

  /** Delivers every chunk of `job` that has settled; whether all have. */
  #takeAll(job: Job): boolean {
    let pending = 0;
    for (let i = 0; i < job.chunks && this.#jobs.has(job.id); i++) if (!this.#deliver(job, i)) pending++;
    return pending === 0;
  }

  /**
   * Drops job `id`: unclaimed chunks are skipped; with `stopRunning`, the workers running
   * its chunks are stopped now (a task in an endless loop) and replaced.
   */
  cancel(id: number, stopRunning: boolean): void {
    if (!this.#jobs.has(id)) return;
    const holders = native.boardCancel(this.#pool, id);
    this.#forget(id);
    if (stopRunning) {
      for (const w of holders) {
        const member = this.#members.get(w);
        if (member && !member.stopping) {
          member.stopping = true;
          void member.worker.terminate();
        }
      }
    }
  }

  #forget(id: number): void {
    this.#jobs.delete(id);
    if (native.boardRemove(this.#pool, id)) this.#retained.delete(id);
    if (this.#jobs.size === 0 && this.#expressWaiter === undefined) this.#keepAlive.unref();
  }

  /**
   * Runs `args` through the express lane if it is free, a worker is there, and the
   * arguments are numbers and typed arrays that fit; undefined otherwise (send the call the
   * ordinary way). Polls up to `budgetNs` for the result on this thread. With
   * `XCall.Map`, `args` is `[items]` (a numeric array) and the call maps `f` over it: its
   * value is a Float64Array (a Float32Array for a Float32Array input) when every result is
   * a number, else an array; an error carries the input position as `index`.
   */
  express(f: FnSpec, args: unknown[], budgetNs: number, call: XCall = XCall.Apply): ExpressCall | undefined {
    const x = this.#express;
    if (this.#closed || this.#members.size === 0 || Atomics.load(x, X.State) !== XState.Idle) return undefined;
    // With jobs in flight and no worker polling, every worker may be busy: the caller would
    // poll in vain until its budget ran out. Send the call the ordinary way.
    if (this.#jobs.size > 0 && Atomics.load(this.#doorbell, Bell.Spinner) === 0) return undefined;
    // A map's numeric results come back in the lane as float64s (or float32s).
    if (call === XCall.Map && (args[0] as ArrayLike<number>).length * 8 > EXPRESS_BYTES - X.Data) return undefined;
    // Straight into the lane (it is idle, and only this thread posts to it).
    const bytes = encodeArgs(0, [args], this.#expressData);
    if (bytes === undefined) return undefined;
    // By source (or module and export): task() makes a new spec object on every call.
    const key = f.k === 'fn' ? f.src : `${f.url}#${f.name}`;
    let id = this.#fnIds.get(key);
    if (id === undefined) {
      id = this.#fns.length + 1;
      this.#fnIds.set(key, id);
      this.#fns.push([id, f]);
      for (const m of this.#members.values()) m.port.postMessage([Msg.Fn, id, f] satisfies PortMessage);
    }
    x[X.FnId] = id;
    x[X.ArgLen] = bytes.length;
    x[X.Call] = call;
    this.#expressCall = call;
    this.#expressF32 = call === XCall.Map && args[0] instanceof Float32Array;
    Atomics.store(x, X.State, XState.Posted);
    const bell = this.#doorbell;
    if (Atomics.load(bell, Bell.Spinner) === 0) {
      Atomics.add(bell, Bell.Ring, 1);
      Atomics.notify(bell, Bell.Ring, 1);
    }
    const done = () => Atomics.load(x, X.State) === XState.Done;
    while (!pollFor(done, budgetNs / 1e6)) {
      if (Atomics.compareExchange(x, X.State, XState.Posted, XState.Idle) === XState.Posted) return undefined; // withdrawn
      if (Atomics.compareExchange(x, X.State, XState.Taken, XState.Async) === XState.Taken) {
        // The worker has it: it will post a note when it is done.
        return this.#expressWait();
      }
      budgetNs = 0; // between Taken and Done: the worker is writing the result
    }
    // Done; a result too large for the lane is in the worker's note: wait for it.
    if (x[X.ResultKind] === XResult.Posted) return this.#expressWait();
    return { settled: true, ...this.#expressResult(undefined) };
  }

  /** A pending express call: settled by the worker's note (or its death), holding the event
   * loop open meanwhile as a pending job does. */
  #expressWait(): ExpressCall {
    let cancel!: (e: Error) => void;
    const promise = new Promise<ExpressOutcome>((resolve, reject) => {
      const release = () => {
        if (this.#expressWaiter === waiter) this.#expressWaiter = undefined;
        if (this.#jobs.size === 0) this.#keepAlive.unref();
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
      this.#expressWaiter = waiter;
      cancel = waiter.reject;
    });
    this.#keepAlive.ref();
    return { settled: false, promise, cancel };
  }

  /** Reads an express call's result (from the lane, or from the worker's note) and frees
   * the lane. */
  #expressResult(posted: Uint8Array | undefined): ExpressOutcome {
    const x = this.#express;
    const kind = x[X.ResultKind];
    const ns = this.#expressF64[X.NsF64]!;
    if (kind === XResult.Numbers) {
      // Copied out of the lane before it is freed.
      const n = x[X.ResultLen]!;
      const value = (this.#expressF32 ? new Float32Array(x.buffer, X.Data, n) : new Float64Array(x.buffer, X.Data, n)).slice();
      Atomics.store(x, X.State, XState.Idle);
      this.#chunksDone++;
      return { ok: true, value, ns };
    }
    const bytes = posted ?? (kind === XResult.Number ? undefined : new Uint8Array(x.buffer, X.Data, x[X.ResultLen]).slice());
    const map = this.#expressCall === XCall.Map;
    Atomics.store(x, X.State, XState.Idle);
    this.#chunksDone++; // for stats()
    if (kind === XResult.Number) return { ok: true, value: this.#expressF64[X.NumberF64], ns };
    const error = kind === XResult.Error || (kind === XResult.Posted && x[X.ResultLen] < 0);
    if (error) return { ok: false, value: decodeError(bytes!), ns };
    // A map's results that are not all numbers come as a chunk's do.
    return { ok: true, value: map ? decodeResults(bytes!) : decodeAny(bytes!), ns };
  }

  /** A worker finished an express call its caller stopped polling for. */
  #expressNote(posted: Uint8Array | undefined): void {
    const waiter = this.#expressWaiter;
    this.#expressWaiter = undefined;
    const outcome = this.#expressResult(posted);
    waiter?.resolve(outcome);
  }

  /** The shared buffers posted so far that still exist. */
  #alive(): Array<[number, SharedArrayBuffer]> {
    const out: Array<[number, SharedArrayBuffer]> = [];
    for (const [id, ref] of this.#sabs) {
      const sab = ref.deref();
      if (sab) out.push([id, sab]);
    }
    return out;
  }

  /**
   * Stops every worker and drops the board; resolves when the workers have exited. With
   * `graceful` (join() after close()), a worker still running its initializer finishes it
   * first, as Python's does: after close() and join(), every worker has run it.
   */
  async close(graceful = false): Promise<void> {
    if (graceful && !this.#closed) {
      const members = [...this.#members.values()];
      // Unref'd workers would let the process exit before they are ready.
      for (const m of members) m.worker.ref();
      await Promise.all(members.map((m) => m.ready));
    }
    this.#closed = true;
    for (const id of [...this.#jobs.keys()]) this.#forget(id);
    const exits = [...this.#members.values()].map((m) => {
      m.stopping = true;
      // An unref'd worker would let the process exit before its exit event, leaving
      // `terminate()`/`join()` unsettled: hold the loop open until it is gone.
      m.worker.ref();
      return m.worker.terminate();
    });
    await Promise.allSettled(exits);
    native.boardClose(this.#pool);
    clearInterval(this.#keepAlive);
    Atomics.store(this.#express, X.State, XState.Idle);
    this.#retained.clear();
    this.#sabs.clear();
    this.#pinned.clear();
  }

  /** What `Pool.stats()` reports (see there). */
  stats(): { workers: number; busy: number; pendingCalls: number; pendingChunks: number; chunksDone: number; heapUsed: number[]; heapTotal: number[] } {
    let busy = 0;
    const heapUsed: number[] = [];
    const heapTotal: number[] = [];
    for (const m of this.#members.values()) {
      if (this.#current[m.id * SLOT_STRIDE]! >= 0) busy++;
      heapUsed.push(this.#current[m.id * SLOT_STRIDE + HEAP_USED]!);
      heapTotal.push(this.#current[m.id * SLOT_STRIDE + HEAP_TOTAL]!);
    }
    let pendingChunks = 0;
    for (const job of this.#jobs.values()) for (let i = 0; i < job.chunks; i++) if (!job.delivered[i]) pendingChunks++;
    return { workers: this.#members.size, busy, pendingCalls: this.#jobs.size, pendingChunks, chunksDone: this.#chunksDone, heapUsed, heapTotal };
  }
}
