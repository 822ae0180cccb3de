/**
 * The worker threads of one pool: spawning and replacing them, routing their messages, and
 * turning a worker's death into the right call's error. The jobs on the task board are
 * board.ts's, the express lane express.ts's, the shared buffers' registry buffers.ts's; the
 * group wires them to its workers.
 * @internal
 */
import * as path from 'node:path';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { Board, type JobHandlers } from './board';
import { BufferRegistry } from '../wire/buffers';
import { type ExpressCall, ExpressLane } from './lane';
import { Bell, type FnSpec, HEAP_TOTAL, HEAP_USED, type Items, type JobSpec, Msg, Note, POLLING, type PortMessage, SLOT_STRIDE, type WireError, type WorkerInit, type WorkerMessage } from '../wire/protocol';
import { XCall } from '../wire/lane';
import { MemoryWatchdog } from './heap-watchdog';
import { trimAfterThreadExit } from '../util/native';
import { handOn, sharedMemory } from './spare-memory';
import { type CallArgs, encodeValue } from '../wire/payloads';
import { decodeError } from '../wire/errors';

interface Member {
  readonly id: number;
  readonly worker: Worker;
  /** Where the shared memory that arguments refer to is posted to it. */
  readonly port: MessagePort;
  /** Set when we stop it on purpose (cancel, terminate, retire), so its exit is no crash. */
  stopping: boolean;
  /** Set when it said it retires (it ran `maxTasksPerChild` tasks): it is replaced at once. */
  retired: boolean;
  /** The uncaught error it reported before exiting (out of memory, …). */
  error: Error | undefined;
  /** Set once its exit was handled (or it was given up: see {@link MemoryWatchdog}). */
  gone: boolean;
  /** Settles once its initializer has run (or failed), or it exited. */
  readonly ready: Promise<void>;
  markReady(): void;
}

const WORKER_SCRIPT = path.join(__dirname, '..', 'worker', 'pool-entry.js');

/**
 * What `Pool.stats()` reports.
 * @example
 * ```ts
 * const { workers, busy, pendingChunks, chunksDone }: PoolStats = pool.stats();
 * ```
 */
export interface PoolStats {
  /** Worker threads alive now. */
  workers: number;
  /** Workers running a chunk or a call now. */
  busy: number;
  /** Calls handed to the workers and not finished. */
  pendingCalls: number;
  /** The chunks of those calls not yet handed back (queued, running, or done and waiting
   * for the rest of their call). */
  pendingChunks: number;
  /** Chunks finished on the workers since the pool started. */
  chunksDone: number;
  /** Each worker's V8 heap in use (bytes), as of the last time it went idle. */
  heapUsed: number[];
  /** Each worker's V8 heap size (bytes: what its heap holds from the system, the young
   * generation included), as of the last time it went idle. */
  heapTotal: number[];
  /** Cluster mode only: the worker hosts seen alive at the last check (`workers` and `busy`
   * are then theirs, and `pendingChunks` is the chunks queued or running on them). */
  hosts?: number;
}

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

/** A pool's workers, with the board they claim chunks from and the express lane they serve. */
export class WorkerGroup {
  readonly #options: GroupOptions;
  readonly #doorbell = new Int32Array(new SharedArrayBuffer(4 * Bell.Words));
  /** The workers' slots (see {@link SLOT_STRIDE}); empty once handed on (see close()). */
  #current: Float64Array;
  /** The same memory as `#current`, for the workers' polling flags. */
  #polling: Int32Array;
  readonly #members = new Map<number, Member>();
  readonly #buffers = new BufferRegistry((message) => this.#broadcast(message));
  /** `initargs`, encoded once. */
  readonly #initargs: Buffer;
  /** Holds the event loop open while jobs or express calls are pending (and only then):
   * one timer's ref, cheap to toggle on every call of a hot loop (a ref/unref of every
   * worker was not). */
  readonly #keepAlive = setInterval(() => {}, 0x7fffffff).unref();
  readonly #board: Board;
  readonly #lane: ExpressLane;
  #nextWorker = 1;
  /** The highest worker id (see {@link GroupOptions.idLimit}). */
  readonly #idLimit: number;
  #closed = false;
  /** With `resourceLimits`: turns a worker past its heap limit that Node did not stop into
   * a crash (see heap-watchdog.ts). */
  readonly #watchdog: MemoryWatchdog<Member> | undefined;
  /** Workers the watchdog gave up whose thread has not exited (yet). */
  readonly #abandoned = new Set<Member>();
  /** The one stop of the workers (see close()): later calls wait for the same. */
  #stopped: Promise<void> | undefined;
  /** Called when a worker's initializer throws; the pool rejects what is pending. */
  onInitError: (error: WireError) => void = () => {};

  constructor(options: GroupOptions) {
    this.#options = options;
    this.#initargs = encodeValue(options.initargs, this.#buffers.pinned);
    this.#idLimit = Math.max(options.size, options.idLimit ?? MAX_WORKER_ID);
    this.#current = new Float64Array(sharedMemory(8 * (this.#idLimit + 1) * SLOT_STRIDE));
    this.#polling = new Int32Array(this.#current.buffer);
    const hold = () => {
      this.#keepAlive.ref();
      this.#watchdog?.arm();
    };
    const release = () => {
      if (this.#board.size === 0 && !this.#lane.waiting) this.#keepAlive.unref();
    };
    this.#board = new Board({ doorbell: this.#doorbell, share: (refs) => this.#buffers.register(refs), wake: (chunks) => this.#wake(chunks), hold, release });
    this.#lane = new ExpressLane({ doorbell: this.#doorbell, broadcast: (message) => this.#broadcast(message), hold, release });
    if (options.resourceLimits !== undefined) {
      this.#watchdog = new MemoryWatchdog<Member>(
        {
          busy: () => [...this.#members.values()].filter((m) => !m.stopping && this.#current[m.id * SLOT_STRIDE]! >= 0),
          pending: () => this.#board.size > 0 || this.#lane.waiting,
          stuck: (m, rss) => this.#giveUp(m, rss),
        },
        options.resourceLimits,
        options.size,
      );
    }
  }

  /** Settles the work of worker `m`, which ran past its heap limit and was not stopped
   * (see heap-watchdog.ts), as if it had crashed, and replaces it. Its thread is asked to
   * stop again, and is no longer waited for. */
  #giveUp(m: Member, rss: number): void {
    if (m.gone) return;
    const error = new Error(`the worker ran past its resourceLimits and did not stop (process RSS ${Math.round(rss / 2 ** 20)} MiB); it was given up: its thread runs until the process ends, and the process cannot end by process.exit(), which waits for every worker thread (end it with a signal)`);
    Object.assign(error, { code: 'ERR_WORKER_OUT_OF_MEMORY' });
    m.error ??= error;
    this.#abandoned.add(m);
    void m.worker.terminate();
    m.worker.unref();
    this.#onExit(m, 1);
  }

  /** Starts the workers now (a pool with an initializer: Python's start when it is made). */
  start(): void {
    this.#fill();
  }

  /** Starts the workers that are missing. */
  #fill(): void {
    while (!this.#closed && this.#members.size < this.#options.size) this.#spawn();
  }

  #broadcast(message: PortMessage): void {
    for (const m of this.#members.values()) m.port.postMessage(message);
  }

  /** Starts missing workers, and wakes as many parked ones as there are `chunks`, less
   * those polling already. (A worker clears its flag, then re-reads Ring before it parks;
   * Ring is bumped here before the flags are read: sequentially consistent atomics, so no
   * wake-up is lost.) */
  #wake(chunks: number): void {
    this.#fill();
    Atomics.add(this.#doorbell, Bell.Ring, 1);
    let wake = chunks;
    for (const m of this.#members.values()) wake -= Atomics.load(this.#polling, m.id * SLOT_STRIDE * 2 + POLLING);
    if (wake > 0) Atomics.notify(this.#doorbell, Bell.Ring, wake);
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
      pool: this.#board.handle,
      worker: id,
      doorbell: this.#doorbell.buffer as SharedArrayBuffer,
      current: this.#current.buffer as SharedArrayBuffer,
      initializer: this.#options.initializer,
      initargs: this.#initargs,
      maxTasksPerChild: this.#options.maxTasksPerChild ?? Infinity,
      sabs: this.#buffers.initial(),
      express: this.#lane.buffer,
      fns: this.#lane.fns,
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
    const member: Member = { id, worker, port: channel.port1, stopping: false, retired: false, error: undefined, gone: false, ready, markReady: () => markReady() };
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
    switch (msg[0]) {
      case Msg.Express:
        this.#lane.note(msg[1]);
        return;
      case Msg.Ready:
        member.markReady();
        return;
      case Msg.InitError:
        member.stopping = true;
        member.markReady();
        this.onInitError(decodeError(msg[1]));
        return;
    }
    const [jobId, index, kind, nsPerItem] = msg as readonly [number, number, Note, number | undefined];
    if (kind === Note.Retiring) {
      member.stopping = true;
      member.retired = true;
      return;
    }
    this.#board.note(jobId, index, kind, nsPerItem);
  }

  #onExit(member: Member, code: number): void {
    if (member.gone) {
      // A worker the watchdog gave up has exited after all.
      this.#abandoned.delete(member);
      return;
    }
    member.gone = true;
    trimAfterThreadExit();
    member.markReady();
    this.#members.delete(member.id);
    member.port.close();
    // A worker stopped while it polled must not keep the others from polling.
    Atomics.compareExchange(this.#doorbell, Bell.Spinner, member.id, 0);
    const position = this.#current[member.id * SLOT_STRIDE]!;
    this.#lane.workerExited(member.id, code, member.error, position);
    // A worker that retired is replaced now, as Python's pool keeps its size: the next call
    // finds its workers started, and the pool holds as many workers after each call (with
    // lazy replacement, a run of express-lane calls left 1, 0, 1, 0… workers alive). Others
    // are replaced when work is waiting.
    const waiting = this.#board.workerDied(member.id, code, position, member.error, member.stopping);
    if (waiting || member.retired) this.#fill();
  }

  /** Queues a job on the board (see {@link Board.submit}). */
  submit(spec: JobSpec, chunks: ReadonlyArray<readonly [number, Items]>, handlers: JobHandlers, shared?: readonly [Float64Array | Float32Array | Int32Array, Float64Array | Float32Array], args?: CallArgs): number {
    return this.#board.submit(spec, chunks, handlers, shared, args);
  }

  /** Takes job `id`'s results on this thread if it settles within `budgetNs` (see
   * {@link Board.settleNow}). */
  settleNow(id: number, budgetNs: number): void {
    this.#board.settleNow(id, budgetNs);
  }

  /**
   * Drops job `id`: unclaimed chunks are skipped; with `stopRunning`, the workers running
   * its chunks are stopped now (a task in an endless loop) and replaced.
   */
  cancel(id: number, stopRunning: boolean): void {
    const holders = this.#board.cancel(id);
    if (!stopRunning) return;
    for (const w of holders) {
      const member = this.#members.get(w);
      if (member && !member.stopping) {
        member.stopping = true;
        void member.worker.terminate();
      }
    }
  }

  /**
   * Runs `args` through the express lane if it is free, a worker is there to take it, and
   * the arguments fit (see {@link ExpressLane.call}); undefined otherwise (send the call the
   * ordinary way).
   */
  express(f: FnSpec, args: unknown[], budgetNs: number, call: XCall = XCall.Apply, into?: Float64Array | Float32Array | 'array', extra?: readonly unknown[]): ExpressCall | undefined {
    if (this.#closed || this.#members.size === 0 || !this.#lane.idle) return undefined;
    // With jobs in flight and no worker polling, every worker may be busy: the caller would
    // poll in vain until its budget ran out. Send the call the ordinary way.
    if (this.#board.size > 0 && Atomics.load(this.#doorbell, Bell.Spinner) === 0) return undefined;
    return this.#lane.call(f, args, budgetNs, call, into, extra);
  }

  /**
   * Stops every worker and drops the board; resolves when the workers have exited. With
   * `graceful` (join() after close()), a worker still running its initializer finishes it
   * first, as Python's does: after close() and join(), every worker has run it. Idempotent:
   * every call after the first (terminate() then join(), join() twice, …) waits for the
   * same stop, and a non-graceful call during a graceful wait stops the workers at once.
   */
  async close(graceful = false): Promise<void> {
    if (graceful && this.#stopped === undefined) {
      const members = [...this.#members.values()];
      // Unref'd workers would let the process exit before they are ready.
      for (const m of members) m.worker.ref();
      await Promise.all(members.map((m) => m.ready));
    }
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  /** The stop itself: runs once. */
  async #stop(): Promise<void> {
    this.#closed = true;
    this.#watchdog?.stop();
    this.#board.drop();
    const exits = [...this.#members.values()].map((m) => {
      m.stopping = true;
      // An unref'd worker would let the process exit before its exit event, leaving
      // `terminate()`/`join()` unsettled: hold the loop open until it is gone.
      m.worker.ref();
      return m.worker.terminate();
    });
    await Promise.allSettled(exits);
    this.#board.close();
    clearInterval(this.#keepAlive);
    this.#lane.reset();
    this.#buffers.clear();
    // No worker is left to touch the lane or the slots: the next pool may have them. The
    // group keeps no reference to either (the lane drops its own in release()).
    if (this.#members.size === 0 && this.#abandoned.size === 0) {
      this.#lane.release();
      handOn(this.#current.buffer as SharedArrayBuffer);
      this.#current = new Float64Array(0);
      this.#polling = new Int32Array(0);
    }
  }

  /** What `Pool.stats()` reports (see there). */
  stats(): PoolStats {
    let busy = 0;
    const heapUsed: number[] = [];
    const heapTotal: number[] = [];
    for (const m of this.#members.values()) {
      if (this.#current[m.id * SLOT_STRIDE]! >= 0) busy++;
      heapUsed.push(this.#current[m.id * SLOT_STRIDE + HEAP_USED]!);
      heapTotal.push(this.#current[m.id * SLOT_STRIDE + HEAP_TOTAL]!);
    }
    return { workers: this.#members.size, busy, pendingCalls: this.#board.size, pendingChunks: this.#board.pendingChunks(), chunksDone: this.#board.done + this.#lane.done, heapUsed, heapTotal };
  }
}
