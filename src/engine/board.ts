/**
 * A pool's jobs on its task board (the Rust core's, crates/core/src/tasks.rs): queuing
 * them, waking workers for them, handing each chunk's outcome to the job's handlers, taking
 * a small job's results on the caller's thread, cancelling, and what a worker's death
 * means for the jobs it held.
 * @internal
 */
import { PoolStateError } from './errors';
import { native } from '../util/native';
import { Bell, type FnSpec, type Items, type JobSpec, Note, type WireError } from '../wire/protocol';
import { pollFor } from '../util/spin';
import { type CallArgs, decodeResults, encodeChunk, encodeSharedChunk, type SharedRefs } from '../wire/payloads';
import { decodeError } from '../wire/errors';

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

/** What the board needs from its pool. */
export interface BoardHost {
  /** The pool's doorbell (see {@link Bell}). */
  readonly doorbell: Int32Array;
  /** Gives the workers the shared buffers `refs` names before a job refers to them. */
  share(refs: SharedRefs): void;
  /** Starts the workers that are missing, and wakes up to `chunks` of the parked ones. */
  wake(chunks: number): void;
  /** A job is pending: hold the event loop open. */
  hold(): void;
  /** No job is pending any more. */
  release(): void;
}

/** Job specs as text, by function and flags: a hot loop's jobs share one. */
const specTexts = new WeakMap<FnSpec, Map<string, string>>();
function specText(spec: JobSpec, args?: CallArgs): string {
  // A call's extra arguments: the spec of its function and flags, with them added (base64
  // needs no escaping).
  if (args !== undefined) return `${specText(spec).slice(0, -1)},"a":"${args.text}"}`;
  const flags = `${+spec.star}${+!!spec.fold}${+spec.each}${+spec.start}${+!!spec.isolate}`;
  let texts = specTexts.get(spec.f);
  if (!texts) specTexts.set(spec.f, (texts = new Map()));
  let text = texts.get(flags);
  if (text === undefined) texts.set(flags, (text = JSON.stringify(spec)));
  return text;
}

/** A pool's jobs. */
export class Board {
  /** The native board's handle (given to the workers). */
  readonly handle = native.boardOpen();
  readonly #host: BoardHost;
  readonly #jobs = new Map<number, Job>();
  /** The caller's arrays of shared jobs, held until no worker can touch them. */
  readonly #retained = new Map<number, unknown>();
  #nextJob = 1;
  #closed = false;
  /** Chunks finished (for stats()). */
  done = 0;

  constructor(host: BoardHost) {
    this.#host = host;
  }

  /** Jobs pending. */
  get size(): number {
    return this.#jobs.size;
  }

  /**
   * Queues a job of one chunk per entry of `chunks` (`[start, items]`), returns its id.
   * With `shared` (`[input, output]`, typed arrays of one type and length), the workers
   * read the items from `input` and write numeric results to `output` in place, and the
   * board holds both arrays until no worker can touch them any more.
   */
  submit(
    spec: JobSpec,
    chunks: ReadonlyArray<readonly [number, Items]>,
    handlers: JobHandlers,
    shared?: readonly [Float64Array | Float32Array | Int32Array, Float64Array | Float32Array],
    /** The call's `opts.args`, encoded once for all its jobs. */
    args?: CallArgs,
  ): number {
    // An imap still reading its input after terminate(): its next chunks are refused as the
    // rest of the call was (found by the model-based fault sequences).
    if (this.#closed) throw new PoolStateError('Pool was terminated before the call finished', 'ERR_POOL_TERMINATED');
    const id = this.#nextJob;
    this.#nextJob = this.#nextJob >= 0xfffffff0 ? 1 : this.#nextJob + 1;
    const refs: SharedRefs = new Map();
    // Large typed-array arguments travel as parts: views of the caller's arrays, which the
    // addon copies once (no copy into the payload first).
    const parts: Uint8Array[] = [];
    const counts: number[] = [];
    const payloads = chunks.map(([start, items]) => {
      if (shared) return encodeSharedChunk(start, items.length);
      const before = parts.length;
      const bytes = encodeChunk(start, items, refs, parts);
      counts.push(parts.length - before);
      return bytes;
    });
    if (args !== undefined) for (const [ref, sab] of args.refs) refs.set(ref, sab);
    // Shared memory the workers have not seen yet goes to each of them before the job (a
    // worker reads its port, synchronously, when a payload names a buffer it lacks).
    if (refs.size > 0) this.#host.share(refs);
    native.boardSubmit(this.handle, id, specText(spec, args), payloads as Buffer[], shared?.[0], shared?.[1], spec.isolate === true, parts.length > 0 ? (parts as Buffer[]) : undefined, parts.length > 0 ? counts : undefined);
    try {
      if (shared) this.#retained.set(id, shared);
      if (this.#jobs.size === 0) this.#host.hold();
      this.#jobs.set(id, { id, chunks: chunks.length, handlers, delivered: new Uint8Array(chunks.length), refs: refs.size > 0 ? refs : undefined });
      this.#host.wake(chunks.length);
    } finally {
      // The parts are lent to the board until this returns (workers that claim a chunk now
      // copy them straight from the caller's arrays): no code of the caller's may run
      // before, since it could change or detach them.
      if (parts.length > 0) native.boardSettleParts(this.handle, id);
    }
    return id;
  }

  /** A worker's note about job `jobId` (see {@link Note}). */
  note(jobId: number, index: number, kind: Note, nsPerItem: number | undefined): void {
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
    const outcome = native.boardTake(this.handle, job.id, index);
    if (!outcome) return false;
    job.delivered[index] = 1;
    this.done++; // for stats()
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

  /**
   * Worker `worker` died with `code` (after `error`) at input position `position`; with
   * `stopping` it was stopped on purpose, and its chunks are no crash. Settles what its
   * death decided; whether jobs remain.
   */
  workerDied(worker: number, code: number, position: number, error: Error | undefined, stopping: boolean): boolean {
    const { lost, released, completed } = native.boardWorkerDied(this.handle, worker);
    for (const jobId of released) this.#retained.delete(jobId);
    for (const [jobId, index] of lost as Array<[number, number]>) {
      const job = this.#jobs.get(jobId);
      if (job && !stopping) job.handlers.crashed(index, code, position, error);
    }
    // Jobs this death completed (a batch of applies whose last open call it was): no worker
    // will post their note, so settle them here.
    for (const jobId of completed) {
      const job = this.#jobs.get(jobId);
      if (job) this.#finish(job);
    }
    return this.#jobs.size > 0;
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
    const bell = this.#host.doorbell;
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

  /** Drops job `id` (unclaimed chunks are skipped); the workers running its chunks. */
  cancel(id: number): number[] {
    if (!this.#jobs.has(id)) return [];
    const holders = native.boardCancel(this.handle, id);
    this.#forget(id);
    return holders;
  }

  #forget(id: number): void {
    this.#jobs.delete(id);
    if (native.boardRemove(this.handle, id)) this.#retained.delete(id);
    if (this.#jobs.size === 0) this.#host.release();
  }

  /** Drops every job: the pool is closing. */
  drop(): void {
    this.#closed = true;
    for (const id of [...this.#jobs.keys()]) this.#forget(id);
  }

  /** Frees the native board once no worker runs. */
  close(): void {
    native.boardClose(this.handle);
    this.#retained.clear();
  }

  /** Chunks of pending jobs not yet handed back (for stats()). */
  pendingChunks(): number {
    let pending = 0;
    for (const job of this.#jobs.values()) for (let i = 0; i < job.chunks; i++) if (!job.delivered[i]) pending++;
    return pending;
  }
}
