/**
 * The transport of cluster mode behind two small interfaces (one for callers, one for
 * hosts), and their implementation on BullMQ and Redis. Jobs go through a BullMQ queue
 * (locks, stalled-job recovery, at-least-once delivery); each caller's results come back
 * on a Redis list of its own, read with BLPOP; cancellations go out on a pub/sub channel.
 * `bullmq` and `ioredis` are loaded here, and only when a cluster pool or host is made.
 * @module
 */
import { type JobData, redact } from './protocol';

// The few members of ioredis and BullMQ used here, declared locally: their own type
// declarations are not loaded, so a user's type check never needs the optional packages.

/** The options of `new Redis(url, options)` used here. */
interface RedisOptions {
  enableOfflineQueue?: boolean;
  maxRetriesPerRequest?: number | null;
  connectTimeout?: number;
  commandTimeout?: number;
}

interface Multi {
  rpush(key: string, value: Buffer): Multi;
  expire(key: string, seconds: number): Multi;
  exec(): Promise<unknown>;
}

/** An ioredis client. */
interface Redis {
  readonly status: string;
  on(event: string, listener: (...args: never[]) => void): Redis;
  once(event: string, listener: (...args: never[]) => void): Redis;
  off(event: string, listener: (...args: never[]) => void): Redis;
  duplicate(): Redis;
  blpopBuffer(key: string, timeout: number): Promise<[Buffer, Buffer] | null>;
  lpopBuffer(key: string, count: number): Promise<Buffer[] | null>;
  publish(channel: string, message: string): Promise<number>;
  del(...keys: string[]): Promise<number>;
  exists(key: string): Promise<number>;
  set(key: string, value: string, px: 'PX', ms: number, get?: 'GET'): Promise<string | null>;
  sadd(key: string, member: string): Promise<number>;
  srem(key: string, ...members: string[]): Promise<number>;
  smembers(key: string): Promise<string[]>;
  mget(...keys: string[]): Promise<Array<string | null>>;
  subscribe(channel: string): Promise<unknown>;
  multi(): Multi;
  quit(): Promise<unknown>;
  disconnect(reconnect?: boolean): void;
}

/** A BullMQ job, as a processor gets it. */
interface Job {
  id?: string;
  data: unknown;
  progress: unknown;
  stalledCounter?: number;
  updateProgress(progress: object): Promise<void>;
}

interface BullQueue {
  waitUntilReady(): Promise<unknown>;
  on(event: 'error', listener: (err: Error) => void): void;
  addBulk(jobs: Array<{ name: string; data: unknown; opts: object }>): Promise<unknown>;
  remove(jobId: string): Promise<number>;
  close(): Promise<void>;
}

interface BullWorker {
  on(event: 'error', listener: (err: Error) => void): void;
  waitUntilReady(): Promise<unknown>;
  close(): Promise<void>;
}

interface BullMQ {
  Queue: new (name: string, options: object) => BullQueue;
  Worker: new (name: string, processor: (job: Job) => Promise<void>, options: object) => BullWorker;
}

/** What a caller needs from the transport. */
export interface CallerTransport {
  /** The Redis list this caller's results arrive on. */
  readonly resultKey: string;
  /** Resolves once the connection is up; rejects with {@link ClusterConnectionError} when it is not within the connect timeout. */
  ready(): Promise<void>;
  /** Queues jobs (a job whose id is already queued is not queued twice). */
  submit(jobs: ReadonlyArray<{ id: string; data: JobData }>): Promise<void>;
  /** Removes the waiting jobs among `jobIds` and tells the hosts running `callKey`'s chunks to stop them. */
  cancel(callKey: string, jobIds: readonly string[]): Promise<void>;
  /** Delivers each result message to `onResult` until {@link idle}; `onError` when the connection fails. */
  listen(onResult: (bytes: Buffer) => void, onError: (err: Error) => void): void;
  /** Stops reading results (the next {@link listen} resumes), and drops this caller's
   * liveness key: hosts skip the chunks of calls it no longer waits for. */
  idle(): void;
  /** Refreshes this caller's liveness key (hosts skip the chunks of callers without one);
   * `true` when it had expired although it was set (hosts may have skipped chunks that are
   * still wanted: submit them again). */
  heartbeat(): Promise<boolean>;
  /** The hosts that published a heartbeat lately. */
  hosts(): Promise<HostInfo[]>;
  close(): Promise<void>;
}

/** What a host publishes about itself, refreshed while it runs. */
export interface HostInfo {
  name: string;
  /** Its worker threads. */
  processes: number;
  /** Chunks it is running now. */
  busy: number;
}

/** A job as a host sees it. */
export interface HostJob {
  readonly id: string;
  readonly data: JobData;
  /** How many times the job was taken back from a host that stopped renewing its lock. */
  readonly stalledCounter: number;
  /** The host that ran the job last, when it was taken back from it. */
  readonly previousHost: string | undefined;
  /** Records the host now running the job (for the error if this host is lost too). */
  markHost(name: string): Promise<void>;
}

/** What a host needs from the transport. */
export interface HostTransport {
  /** Takes jobs, `concurrency` at a time, until {@link close}. */
  start(handler: (job: HostJob) => Promise<void>): Promise<void>;
  /** Sends a result message to a caller's list. */
  reply(resultKey: string, bytes: Buffer): Promise<void>;
  /** `onCancel(callKey)` when a caller cancels a call. */
  onCancel(listener: (callKey: string) => void): void;
  /** Whether the caller `callerId` is still there (its liveness key exists). */
  callerAlive(callerId: string): Promise<boolean>;
  /** Stops taking jobs, waits for the running ones, disconnects. */
  close(): Promise<void>;
}

/**
 * Redis could not be reached (or went away during a call). The message names the
 * connection, with any password replaced by `***`.
 * @example
 * ```ts
 * import { ClusterConnectionError } from 'ferropool/cluster';
 * try {
 *   await pool.map(fn, items);
 * } catch (err) {
 *   if (err instanceof ClusterConnectionError) console.log(err.connection); // 'redis://127.0.0.1:6379'
 * }
 * ```
 */
export class ClusterConnectionError extends Error {
  /** Always `'ClusterConnectionError'`. */
  override name = 'ClusterConnectionError';
  /**
   * @param connection - The Redis URL (its password is redacted).
   * @param reason - What went wrong.
   * @example
   * ```ts
   * new ClusterConnectionError('redis://h:6379', 'connect ECONNREFUSED').message;
   * // 'cannot reach Redis at redis://h:6379 (connect ECONNREFUSED)'
   * ```
   */
  constructor(connection: string, reason: string) {
    super(`cannot reach Redis at ${redact(connection)} (${reason})`);
    this.connection = redact(connection);
  }
  /** The Redis URL, its password redacted. */
  readonly connection: string;
}

/**
 * No worker host served the queue for `cluster.hostTimeout` milliseconds while a call was
 * waiting for its chunks: nobody runs `npx ferropool worker` (or `serve()`) on this
 * connection and queue, or every host is gone. A subclass of {@link ClusterConnectionError}:
 * the cluster is not there to run the call. Its chunks are removed from the queue.
 * @example
 * ```ts
 * import { NoHostError } from 'ferropool/cluster';
 * try {
 *   await pool.map(fn, items);
 * } catch (err) {
 *   if (err instanceof NoHostError) console.log(err.queue, err.waited); // 'render' 30000
 * }
 * ```
 */
export class NoHostError extends ClusterConnectionError {
  /** Always `'NoHostError'`. */
  override name = 'NoHostError';
  /**
   * @param connection - The Redis URL (its password is redacted).
   * @param queue - The queue no host served.
   * @param waited - How long the call waited with no host, in milliseconds.
   * @example
   * ```ts
   * new NoHostError('redis://h:6379', 'render', 30000).message;
   * // 'no worker host is serving queue "render" at redis://h:6379: none was seen for 30000 ms (start one: npx ferropool worker --connection URL --queue render)'
   * ```
   */
  constructor(connection: string, queue: string, waited: number) {
    super(connection, 'no worker host');
    this.message = `no worker host is serving queue "${queue}" at ${redact(connection)}: none was seen for ${waited} ms (start one: npx ferropool worker --connection URL --queue ${queue})`;
    this.queue = queue;
    this.waited = waited;
  }
  /** The queue's name. */
  readonly queue: string;
  /** How long the call waited with no host seen (ms). */
  readonly waited: number;
}

/** `require(name)` for an optional peer dependency, with an error that says what to install. */
function peer<T>(name: string): T {
  try {
    return require(name) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((err as Error).message).includes(`'${name}'`)) {
      throw new Error(`ferropool cluster mode needs the package "${name}", which is not installed: npm install bullmq ioredis`, { cause: err });
    }
    throw err;
  }
}

type IORedisCtor = new (url: string, options?: RedisOptions) => Redis;

function ioredis(): IORedisCtor {
  const mod = peer<{ Redis?: IORedisCtor; default?: IORedisCtor }>('ioredis');
  return (mod.Redis ?? mod.default ?? (mod as unknown as IORedisCtor)) as IORedisCtor;
}

function bullmq(): BullMQ {
  return peer<BullMQ>('bullmq');
}

/** The key prefix of every key ferropool adds (BullMQ's own keys use `bull:`). */
const PREFIX = 'ferropool';

/** How long a caller's liveness key lasts without a refresh (ms). Refreshed every second
 * while the caller has calls in flight; a caller whose event loop is blocked longer than
 * this finds it expired and submits its chunks again (see ClusterClient). */
export const CALLER_TTL_MS = 10_000;

/** Entries BullMQ keeps in the queue's event stream (`bull:QUEUE:events`, default 10,000).
 * ferropool reads none of them (results come on the caller's own list); BullMQ trims
 * approximately (`XADD MAXLEN ~`), so the stream holds at most about this many plus one
 * stream node (100 entries with Redis's defaults). */
export const EVENTS_MAX_LEN = 100;

/** The keys of a queue's hosts' heartbeats and callers' liveness. */
function keys(queue: string) {
  return {
    hosts: `${PREFIX}:${queue}:hosts`,
    host: (id: string) => `${PREFIX}:${queue}:host:${id}`,
    caller: (id: string) => `${PREFIX}:${queue}:caller:${id}`,
  };
}

function checkUrl(connection: unknown, what: string): string {
  if (typeof connection !== 'string' || !/^rediss?:\/\//.test(connection)) {
    throw new TypeError(`${what} must be a redis:// or rediss:// URL, got ${typeof connection === 'string' ? JSON.stringify(redact(connection)) : typeof connection}`);
  }
  return connection;
}

/** Options of a caller's transport. */
export interface CallerConfig {
  connection: string;
  queue: string;
  callerId: string;
  connectTimeout: number;
}

/** The caller's side on BullMQ. */
export class BullCaller implements CallerTransport {
  readonly resultKey: string;
  readonly #url: string;
  readonly #timeout: number;
  readonly #client: Redis;
  readonly #reader: Redis;
  readonly #queueName: string;
  /** Made once the connection is up: BullMQ's first commands must not meet a closed stream. */
  #queue: BullQueue | undefined;
  readonly #cancelChannel: string;
  #lastError = 'not connected yet';
  #listening = false;
  #onLost: ((err: Error) => void) | undefined;
  /** While close() talks to Redis, the process must wait for it. */
  #closing = false;
  #generation = 0;
  readonly #keys: ReturnType<typeof keys>;
  readonly #aliveKey: string;
  /** Whether this caller's liveness key is set (as far as this side knows). */
  #alive = false;
  /** Whether the server knows `SET … GET` (Redis ≥ 6.2). */
  #setGet = true;

  constructor(config: CallerConfig) {
    this.#url = checkUrl(config.connection, 'cluster.connection');
    this.#timeout = config.connectTimeout;
    bullmq();
    const Redis = ioredis();
    // No offline queue: a command sent while Redis is away fails at once (and the call with
    // it) instead of waiting for a reconnection that may never come.
    // A command in flight when the connection drops fails too (no retries): the calls
    // waiting on it reject instead of waiting for a reconnection.
    // A connection that goes silent (a network cut without a reset: no error, no close)
    // would leave commands unanswered for ever: one not answered within the connect timeout
    // fails (the reader's BLPOP waits 1 s at the server, so a second more), and its
    // connection is dropped and made again (see #silent).
    const options: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: config.connectTimeout, commandTimeout: config.connectTimeout };
    this.#client = new Redis(this.#url, options);
    this.#reader = new Redis(this.#url, { ...options, commandTimeout: config.connectTimeout + 1000 });
    for (const c of [this.#client, this.#reader]) {
      c.on('error', (err: Error) => (this.#lastError = err.message || String(err)));
      // A connection that was up and dropped fails the calls in flight at once; one that
      // never came up fails them after connectTimeout (see ready()).
      let up = false;
      c.on('close', () => {
        if (up && this.#listening) this.#onLost?.(this.#error('the connection was lost'));
        up = false;
      });
      c.on('ready', () => {
        up = true;
        this.#reference(c);
      });
    }
    this.#queueName = config.queue;
    this.resultKey = `${PREFIX}:${config.queue}:results:${config.callerId}`;
    this.#cancelChannel = `${PREFIX}:${config.queue}:cancel`;
    this.#keys = keys(config.queue);
    this.#aliveKey = this.#keys.caller(config.callerId);
  }

  #error(reason = this.#lastError): ClusterConnectionError {
    return new ClusterConnectionError(this.#url, reason);
  }

  /** `err` as a ClusterConnectionError; an unanswered command drops its connection (the
   * commands still queued on it must not run late and take results of later calls). */
  #silent(c: Redis, err: unknown): ClusterConnectionError {
    if (err instanceof ClusterConnectionError) return err;
    const message = (err as Error)?.message || String(err);
    if (/timed out/i.test(message)) {
      // Both: they go to the same server, and cancel() must not wait on a silent one.
      for (const x of [this.#client, this.#reader]) if (x === c || x.status === 'ready') x.disconnect(true);
      return this.#error(`no answer within ${this.#timeout} ms`);
    }
    return this.#error(message);
  }

  async ready(): Promise<void> {
    await Promise.all([this.#client, this.#reader].map((c) => this.#up(c)));
    if (this.#queue === undefined) {
      const { Queue } = bullmq();
      const queue = new Queue(this.#queueName, { connection: this.#client, streams: { events: { maxLen: EVENTS_MAX_LEN } } });
      queue.on('error', (err: Error) => (this.#lastError = err.message || String(err)));
      try {
        await queue.waitUntilReady();
      } catch (err) {
        void queue.close().catch(() => {});
        throw this.#error((err as Error).message);
      }
      this.#queue ??= queue;
    }
  }

  #up(c: Redis): Promise<void> {
    if (c.status === 'ready') return Promise.resolve();
    if (c.status === 'end') return Promise.reject(this.#error('the connection was closed'));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        c.off('ready', onReady);
        reject(this.#error(`${this.#lastError}; no connection within ${this.#timeout} ms`));
      }, this.#timeout);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      c.once('ready', onReady);
    });
  }

  async submit(jobs: ReadonlyArray<{ id: string; data: JobData }>): Promise<void> {
    try {
      // The liveness key exists before any chunk that hosts check it for.
      if (!this.#alive) {
        await this.#client.set(this.#aliveKey, '1', 'PX', CALLER_TTL_MS);
        this.#alive = true;
      }
      await this.#queue!.addBulk(
        jobs.map((j) => ({ name: 'chunk', data: j.data, opts: { jobId: j.id, removeOnComplete: true, removeOnFail: true, attempts: 1 } })),
      );
    } catch (err) {
      throw this.#silent(this.#client, err);
    }
  }

  async cancel(callKey: string, jobIds: readonly string[]): Promise<void> {
    if (this.#client.status !== 'ready') return;
    try {
      // A waiting job is removed; a running one is locked (remove() leaves it) and is
      // stopped by its host on the message.
      if (this.#queue) await Promise.all(jobIds.map((id) => this.#queue!.remove(id)));
      await this.#client.publish(this.#cancelChannel, callKey);
    } catch {
      // Redis went away: nothing more can be removed; the hosts drop the results.
    }
  }

  listen(onResult: (bytes: Buffer) => void, onError: (err: Error) => void): void {
    this.#onLost = onError;
    if (this.#listening) return;
    this.#listening = true;
    for (const c of [this.#client, this.#reader]) this.#reference(c);
    const generation = ++this.#generation;
    const loop = async () => {
      while (this.#listening && generation === this.#generation) {
        try {
          await this.#up(this.#reader);
          const first = await this.#reader.blpopBuffer(this.resultKey, 1);
          if (first === null) continue;
          onResult(first[1]);
          const more = await this.#reader.lpopBuffer(this.resultKey, 256);
          if (more) for (const m of more) onResult(m);
        } catch (err) {
          if (!this.#listening || generation !== this.#generation) return;
          onError(this.#silent(this.#reader, err));
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    };
    void loop();
  }

  idle(): void {
    this.#listening = false;
    for (const c of [this.#client, this.#reader]) this.#reference(c);
    if (this.#alive && this.#client.status === 'ready') this.#client.del(this.#aliveKey).catch(() => {});
    this.#alive = false;
  }

  async heartbeat(): Promise<boolean> {
    if (!this.#alive || this.#client.status !== 'ready') return false;
    try {
      let before: string | null;
      if (this.#setGet) {
        try {
          before = await this.#client.set(this.#aliveKey, '1', 'PX', CALLER_TTL_MS, 'GET');
        } catch (err) {
          // A Redis-compatible server without SET … GET (Redis < 6.2): two commands.
          if (!/^ERR/.test((err as Error)?.message ?? '')) throw err;
          this.#setGet = false;
          return await this.heartbeat();
        }
      } else {
        before = (await this.#client.exists(this.#aliveKey)) === 1 ? '1' : null;
        await this.#client.set(this.#aliveKey, '1', 'PX', CALLER_TTL_MS);
      }
      return before === null && this.#alive;
    } catch (err) {
      const silent = /timed out/i.test((err as Error)?.message ?? '');
      const e = this.#silent(this.#client, err);
      // (A connection that closed fails the calls through its 'close' event.)
      if (silent && this.#listening) this.#onLost?.(e);
      throw e;
    }
  }

  async hosts(): Promise<HostInfo[]> {
    if (this.#client.status !== 'ready') throw this.#error();
    const ids = await this.#client.smembers(this.#keys.hosts);
    if (ids.length === 0) return [];
    const values = await this.#client.mget(...ids.map(this.#keys.host));
    const live: HostInfo[] = [];
    const gone: string[] = [];
    values.forEach((v, i) => {
      const info = v === null ? undefined : parseHost(v);
      if (info) live.push(info);
      else gone.push(ids[i]!);
    });
    // A host that stopped without saying so (killed, cut off): its heartbeat expired.
    if (gone.length > 0) await this.#client.srem(this.#keys.hosts, ...gone);
    return live;
  }

  /** An idle pool does not keep the process alive: its sockets are unreferenced while no
   * call is in flight, as local workers are. */
  #reference(c: Redis): void {
    const stream = (c as unknown as { stream?: { ref?(): void; unref?(): void } }).stream;
    if (this.#listening || this.#closing) stream?.ref?.();
    else stream?.unref?.();
  }

  async close(): Promise<void> {
    this.#listening = false;
    this.#closing = true;
    for (const c of [this.#client, this.#reader]) this.#reference(c);
    this.#generation++;
    await this.#queue?.close().catch(() => {});
    // Results that came after their call settled (chunks that finished anyway).
    if (this.#client.status === 'ready') await this.#client.del(this.resultKey, this.#aliveKey).catch(() => {});
    this.#alive = false;
    this.#client.disconnect();
    this.#reader.disconnect();
  }
}

function parseHost(v: string): HostInfo | undefined {
  try {
    const o = JSON.parse(v) as HostInfo;
    return typeof o === 'object' && o !== null && typeof o.name === 'string' ? { name: o.name, processes: Number(o.processes) || 0, busy: Number(o.busy) || 0 } : undefined;
  } catch {
    return undefined;
  }
}

/** Options of a host's transport. */
export interface HostConfig {
  connection: string;
  queue: string;
  concurrency: number;
  lockDuration: number;
  stalledInterval: number;
  onError: (err: Error) => void;
  /** What the host's heartbeat says about it (read at each beat). */
  info: () => HostInfo;
}

/** The host's side on BullMQ. */
export class BullHost implements HostTransport {
  readonly #config: HostConfig;
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #cancelListeners: Array<(callKey: string) => void> = [];
  #worker: BullWorker | undefined;
  #workerConnection: Redis | undefined;
  readonly #keys: ReturnType<typeof keys>;
  readonly #id = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  #beat: NodeJS.Timeout | undefined;

  constructor(config: HostConfig) {
    checkUrl(config.connection, 'connection');
    this.#config = config;
    this.#keys = keys(config.queue);
    bullmq();
    const Redis = ioredis();
    this.#publisher = new Redis(config.connection, { maxRetriesPerRequest: null });
    this.#subscriber = new Redis(config.connection, { maxRetriesPerRequest: null });
    for (const c of [this.#publisher, this.#subscriber]) c.on('error', config.onError);
    this.#subscriber.on('message', (_channel: string, callKey: string) => {
      for (const l of this.#cancelListeners) l(callKey);
    });
  }

  async start(handler: (job: HostJob) => Promise<void>): Promise<void> {
    const { Worker } = bullmq();
    const c = this.#config;
    await this.#subscriber.subscribe(`${PREFIX}:${c.queue}:cancel`);
    const worker = new Worker(
      c.queue,
      async (job: Job) => {
        const progress = job.progress as { host?: unknown } | undefined;
        await handler({
          id: job.id!,
          data: job.data as JobData,
          stalledCounter: job.stalledCounter ?? 0,
          previousHost: progress && typeof progress.host === 'string' ? progress.host : undefined,
          markHost: (name) => job.updateProgress({ host: name }),
        });
      },
      {
        connection: (this.#workerConnection = this.#publisher.duplicate()),
        concurrency: c.concurrency,
        lockDuration: c.lockDuration,
        stalledInterval: c.stalledInterval,
        // Stalls are counted by the host that takes the job next (see host.ts), against the
        // caller's own cluster.maxRetries, so BullMQ's limit is out of the way.
        maxStalledCount: 1_000_000,
      },
    );
    worker.on('error', c.onError);
    this.#worker = worker;
    await worker.waitUntilReady();
    // The heartbeat: a key that lives as long as a job lock, refreshed three times as often.
    await this.#heartbeat(true);
    this.#beat = setInterval(() => void this.#heartbeat().catch(() => {}), Math.max(100, Math.floor(c.lockDuration / 3)));
    this.#beat.unref();
  }

  async #heartbeat(first = false): Promise<void> {
    // Not queued while Redis is away (the host's own client would keep the commands).
    if (!first && this.#publisher.status !== 'ready') return;
    const info = this.#config.info();
    await this.#publisher.set(this.#keys.host(this.#id), JSON.stringify(info), 'PX', this.#config.lockDuration);
    await this.#publisher.sadd(this.#keys.hosts, this.#id);
  }

  async callerAlive(callerId: string): Promise<boolean> {
    return (await this.#publisher.exists(this.#keys.caller(callerId))) === 1;
  }

  async reply(resultKey: string, bytes: Buffer): Promise<void> {
    // The list expires if its caller is gone (a late duplicate after the call settled).
    await this.#publisher.multi().rpush(resultKey, bytes).expire(resultKey, 60).exec();
  }

  onCancel(listener: (callKey: string) => void): void {
    this.#cancelListeners.push(listener);
  }

  async close(): Promise<void> {
    // Running chunks finish first, so the host counts as alive until then.
    await this.#worker?.close();
    clearInterval(this.#beat);
    await Promise.all([this.#publisher.del(this.#keys.host(this.#id)), this.#publisher.srem(this.#keys.hosts, this.#id)]).catch(() => {});
    this.#workerConnection?.disconnect();
    await Promise.all([this.#publisher.quit().catch(() => {}), this.#subscriber.quit().catch(() => {})]);
  }
}
