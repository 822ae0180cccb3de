/**
 * The caller's engine of cluster mode ({@link ClusterCaller}): it queues a call's chunks as
 * jobs of a BullMQ queue (at most `maxInFlight` at a time), puts the results that come back
 * on this caller's own Redis list with their calls, keeps this caller's liveness key, watches
 * the hosts' heartbeats, and cancels what a settled call leaves. What each of the pool's
 * methods sends and makes of the results is client.ts's.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { ResourceLimits } from 'node:worker_threads';
import { RemoteError, WorkerCrashedError } from '../engine/errors';
import { abortError, Call } from '../engine/lifecycle';
import { type CallOptions, checkClusterOptions } from '../engine/options';
import { rebuildError } from '../engine/remote';
import type { PoolStats } from '../engine/worker-group';
import type { FnSpec, Items } from '../wire/protocol';
import { type ChunkPayload, type InitSpec, type JobData, type KernelSpec, type Mode, decodeResult, encodePayload, refuseShared, type ResultMessage, signJob } from './protocol';
import { type CallerTransport, type HostInfo, NoHostError } from './transport';
import { BullCaller } from './transport-caller';

/** After this long with calls waiting and no host seen, a warning is emitted (once). */
const WARN_AFTER_MS = 5000;

/** The local settings of the pool that apply on every host. */
export interface LocalSettings {
  initializer: FnSpec | undefined;
  initargs: unknown[];
  maxTasksPerChild: number | undefined;
  resourceLimits: ResourceLimits | undefined;
}

/** What a call sends with each chunk besides the items. */
export interface CallSpec {
  fn: FnSpec | KernelSpec;
  mode: Mode;
  pre?: KernelSpec;
  /** The call's `opts.args` (plain data: shared memory cannot cross machines). */
  args?: unknown[];
}

/** A result (or error) of one chunk, as the engine yields it. */
export type Event = { k: number; start: number; length: number; part: unknown } | { k: number; start: number; length: number; error: Error };

/**
 * One call in flight, on the common lifecycle (engine/lifecycle.ts: its signal, its timeout,
 * failing once): a failure wakes the call's loop in {@link ClusterCaller.run}, which throws
 * it and cancels the chunks left. The call is registered in the caller's own map, by key.
 */
class ClusterCall extends Call {
  readonly pending = new Map<string, number>();
  /** The pending chunks' jobs, to submit again if hosts skipped them (see #tick). */
  readonly jobs = new Map<string, JobData>();
  /** When its first chunk was queued (0 before). */
  queuedAt = 0;
  readonly inbox: Array<[number, ResultMessage]> = [];
  #wake: (() => void) | undefined;
  readonly finished: () => void;

  constructor(
    readonly key: string,
    o: CallOptions,
  ) {
    let finished!: () => void;
    super(undefined, o, 0, undefined, new Promise<void>((r) => (finished = r)));
    this.finished = finished;
    // Its signal and timeout count from now, also while it waits for Redis.
    this.begin(true);
  }

  notify(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  wait(): Promise<void> {
    return new Promise((r) => (this.#wake = r));
  }

  // The chunks left are cancelled when the loop ends (see ClusterCaller.run).
  protected stop(): void {}
  protected resolved(): void {}

  protected rejected(): void {
    this.notify();
  }
}

/** A host's error rebuilt as a local pool would reject with it, plus its `host`. */
function hostError(msg: ResultMessage): Error {
  if ('refused' in msg) {
    return Object.assign(new RemoteError(`host ${msg.host} refused the chunk without running it: ${msg.refused}`), { host: msg.host });
  }
  if (msg.ok) throw new Error('not an error');
  let err: Error;
  if (msg.crashed) {
    err = new WorkerCrashedError(msg.e.message, msg.crashed.exitCode, msg.e.index);
    for (const [k, v] of Object.entries(msg.e.props)) if (k !== 'exitCode') (err as unknown as Record<string, unknown>)[k] = v;
    err.stack = `${msg.e.stack ?? `WorkerCrashedError: ${msg.e.message}`}\n    --- on cluster host ${msg.host} ---`;
  } else {
    err = rebuildError(msg.e);
    err.stack = (err.stack ?? '').replace(/--- the task ran in a pool worker(; the call was made:)? ---/, `--- the task ran on cluster host ${msg.host}$1 ---`);
  }
  return Object.assign(err, { host: msg.host });
}

let lastCall = 0;

/**
 * A cluster pool's engine: it runs a call's chunks as jobs on the hosts and hands back
 * their results ({@link ClusterClient} says what each of the pool's methods sends).
 */
export class ClusterCaller {
  readonly #transport: CallerTransport;
  readonly #id = randomUUID();
  readonly #secret: string | undefined;
  readonly #maxRetries: number;
  readonly #maxInFlight: number;
  readonly #init: InitSpec;
  readonly #calls = new Map<string, ClusterCall>();
  readonly #connection: string;
  readonly #queue: string;
  readonly #hostTimeout: number;
  /** The hosts seen alive at the last check. */
  #hosts: HostInfo[] = [];
  /** The last time a host was seen alive or a result came (ms). */
  #seenAt = 0;
  #warned = false;
  #chunksDone = 0;
  #beat: NodeJS.Timeout | undefined;
  #ticking = false;
  /** Ticks left that submit the pending chunks again (after this caller's liveness lapsed). */
  #resubmit = 0;

  /** `options` is the pool's `cluster` option, checked here. */
  constructor(options: unknown, local: LocalSettings) {
    const o = checkClusterOptions(options);
    this.#secret = o.secret;
    this.#maxRetries = o.maxRetries;
    this.#maxInFlight = o.maxInFlight;
    this.#hostTimeout = o.hostTimeout;
    this.#connection = o.connection;
    this.#queue = o.queue;
    refuseShared(local.initargs, 'initargs', 'Pool');
    this.#init = { fn: local.initializer, args: local.initargs, maxTasksPerChild: local.maxTasksPerChild, resourceLimits: local.resourceLimits };
    this.#transport = new BullCaller({ connection: o.connection, queue: o.queue, callerId: this.#id, connectTimeout: o.connectTimeout });
  }

  #route = (bytes: Buffer): void => {
    const msg = decodeResult(bytes, this.#secret);
    if (!msg) return;
    const call = this.#calls.get(msg.j.slice(0, msg.j.lastIndexOf('.')));
    const k = call?.pending.get(msg.j);
    this.#seenAt = Date.now(); // a host answered
    if (call === undefined || k === undefined) return; // a duplicate (a chunk run twice) or a settled call's
    call.pending.delete(msg.j);
    call.jobs.delete(msg.j);
    this.#chunksDone++;
    call.inbox.push([k, msg]);
    call.notify();
  };

  #lost = (err: Error): void => {
    for (const call of this.#calls.values()) call.cancel(err);
  };

  /**
   * Runs the chunks of `source` and yields each chunk's result as it arrives (any order),
   * keeping at most maxInFlight chunks queued; cancels what is left when the consumer stops.
   */
  protected async *run(spec: CallSpec, source: Iterator<Items> | AsyncIterator<Items>, o: CallOptions): AsyncGenerator<Event, void, undefined> {
    if (o.signal?.aborted) throw abortError(o.signal);
    // The call counts from now (join() waits for it, terminate() and abort reach it), also
    // while it waits for Redis; listening keeps the process alive meanwhile.
    const call = new ClusterCall(`${this.#id}.${(lastCall = (lastCall + 1) % 0x7fff_ffff)}`, o);
    this.#calls.set(call.key, call);
    this.#transport.listen(this.#route, this.#lost);
    if (this.#beat === undefined) {
      this.#beat = setInterval(() => void this.#tick(), Math.min(1000, Math.max(100, Math.floor(this.#hostTimeout / 5))));
      this.#beat.unref();
    }
    const starts: Array<[number, number]> = [];
    let k = 0;
    let position = 0;
    let exhausted = false;
    try {
      await Promise.race([
        this.#transport.ready(),
        call.wait().then(() => {
          throw call.failure;
        }),
      ]);
      for (;;) {
        if (call.failure) throw call.failure;
        const batch: Array<{ id: string; data: JobData }> = [];
        while (!exhausted && call.pending.size + batch.length < this.#maxInFlight) {
          const step = await source.next();
          if (step.done) {
            exhausted = true;
            break;
          }
          const items = step.value;
          const payload: ChunkPayload = { v: 1, fn: spec.fn, mode: spec.mode, items, start: position, init: this.#init, maxRetries: this.#maxRetries };
          if (spec.pre) payload.pre = spec.pre;
          if (spec.args) payload.args = spec.args;
          const id = `${call.key}.${k}`;
          const data: JobData = { p: encodePayload(payload), r: this.#transport.resultKey, c: 1 };
          if (this.#secret !== undefined) data.s = signJob(this.#secret, id, data);
          batch.push({ id, data });
          call.jobs.set(id, data);
          call.pending.set(id, k);
          starts[k] = [position, items.length];
          position += items.length;
          k++;
        }
        if (batch.length > 0) {
          call.queuedAt ||= Date.now();
          await this.#transport.submit(batch);
        }
        if (call.failure) throw call.failure;
        const next = call.inbox.shift();
        if (next === undefined) {
          if (exhausted && call.pending.size === 0) return;
          await call.wait();
          continue;
        }
        const [ck, msg] = next;
        const [start, length] = starts[ck]!;
        if ('refused' in msg || !msg.ok) yield { k: ck, start, length, error: hostError(msg) };
        else yield { k: ck, start, length, part: msg.v };
      }
    } finally {
      call.end();
      this.#calls.delete(call.key);
      if (this.#calls.size === 0) {
        this.#transport.idle();
        clearInterval(this.#beat);
        this.#beat = undefined;
      }
      const left = [...call.pending.keys()];
      if (left.length > 0) await this.#transport.cancel(call.key, left);
      call.finished();
      if (!exhausted) await source.return?.();
    }
  }

  /**
   * Once a second while calls are in flight: refreshes this caller's liveness key (and
   * submits the pending chunks again if it had lapsed, since hosts skip the chunks of
   * callers without one), reads the hosts' heartbeats, warns once when calls have waited
   * {@link WARN_AFTER_MS} with no host, and rejects those that waited `hostTimeout`.
   */
  async #tick(): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      if (await this.#transport.heartbeat()) this.#resubmit = 2; // twice: a host may be skipping one right now
      if (this.#resubmit > 0) {
        this.#resubmit--;
        const jobs = [...this.#calls.values()].flatMap((c) => [...c.jobs].map(([id, data]) => ({ id, data })));
        if (jobs.length > 0) await this.#transport.submit(jobs);
      }
      this.#hosts = await this.#transport.hosts();
      const now = Date.now();
      if (this.#hosts.length > 0) {
        this.#seenAt = now;
        this.#warned = false;
        return;
      }
      let longest = 0;
      let waiting = 0;
      for (const call of this.#calls.values()) {
        if (call.pending.size === 0 || call.queuedAt === 0) continue;
        const waited = now - Math.max(this.#seenAt, call.queuedAt);
        waiting++;
        longest = Math.max(longest, waited);
        if (waited >= this.#hostTimeout) call.cancel(new NoHostError(this.#connection, this.#queue, waited));
      }
      if (!this.#warned && longest >= WARN_AFTER_MS && longest < this.#hostTimeout) {
        this.#warned = true;
        const until = this.#hostTimeout === Infinity ? 'they wait until one comes (cluster.hostTimeout is Infinity)' : `they reject with NoHostError after cluster.hostTimeout (${this.#hostTimeout} ms)`;
        process.emitWarning(
          `no ferropool worker host has been seen on queue "${this.#queue}" for ${Math.round(longest / 1000)} s while ${waiting} call(s) wait for it; ${until}. Start one: npx ferropool worker --connection URL --queue ${this.#queue}`,
          { type: 'FerropoolWarning', code: 'FERROPOOL_NO_CLUSTER_HOST' },
        );
      }
    } catch {
      // Redis is away: the calls learn it from the result reader.
    } finally {
      this.#ticking = false;
    }
  }

  /** {@link Pool.stats} of a cluster pool: this pool's calls and chunks, and the hosts seen at the last check. */
  stats(): PoolStats & { hosts: number } {
    let chunks = 0;
    for (const call of this.#calls.values()) chunks += call.pending.size;
    return {
      workers: this.#hosts.reduce((n, h) => n + h.processes, 0),
      busy: this.#hosts.reduce((n, h) => n + h.busy, 0),
      pendingCalls: this.#calls.size,
      pendingChunks: chunks,
      chunksDone: this.#chunksDone,
      heapUsed: [],
      heapTotal: [],
      hosts: this.#hosts.length,
    };
  }

  /** All chunks' results, by chunk; the first error rejects (and cancels the rest). */
  protected async all(spec: CallSpec, chunks: Items[], o: CallOptions, total: number): Promise<unknown[]> {
    const parts = new Array<unknown>(chunks.length);
    let done = 0;
    for await (const e of this.run(spec, chunks[Symbol.iterator](), o)) {
      if ('error' in e) throw e.error;
      parts[e.k] = e.part;
      done += e.length;
      if (done < total) o.onProgress?.(done, total);
    }
    o.onProgress?.(total, total);
    return parts;
  }

  /** Rejects every unfinished call with `error`, and waits until their queued chunks are removed. */
  async cancelAll(error: Error): Promise<void> {
    const calls = [...this.#calls.values()];
    for (const call of calls) call.cancel(error);
    await Promise.all(calls.map((c) => c.drained));
  }

  /** Waits for every unfinished call to settle. */
  async drain(): Promise<void> {
    while (this.#calls.size > 0) await Promise.all([...this.#calls.values()].map((c) => c.drained));
  }

  /** Disconnects from Redis (after {@link drain} or {@link cancelAll}). */
  close(): Promise<void> {
    return this.#transport.close();
  }
}
