/**
 * The transport of cluster mode behind two small interfaces (one for callers, one for
 * hosts), and their implementation on BullMQ and Redis. Jobs go through a BullMQ queue
 * (locks, stalled-job recovery, at-least-once delivery); each caller's results come back
 * on a Redis list of its own, read with BLPOP; cancellations go out on a pub/sub channel.
 * `bullmq` and `ioredis` are loaded here, and only when a cluster pool or host is made.
 * The two ends' implementations are transport-caller.ts (`BullCaller`) and
 * transport-host.ts (`BullHost`); this file holds what they share: the interfaces,
 * the connection errors, the keys, and the optional packages' loaders.
 * @module
 */
import { type JobData, redact } from './protocol';

// The few members of ioredis and BullMQ used here, declared locally: their own type
// declarations are not loaded, so a user's type check never needs the optional packages.

/** The options of `new Redis(url, options)` used here. */
export interface RedisOptions {
  enableOfflineQueue?: boolean;
  maxRetriesPerRequest?: number | null;
  connectTimeout?: number;
  commandTimeout?: number;
}

export interface Multi {
  rpush(key: string, value: Buffer): Multi;
  expire(key: string, seconds: number): Multi;
  exec(): Promise<unknown>;
}

/** An ioredis client. */
export interface Redis {
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
export interface Job {
  id?: string;
  data: unknown;
  progress: unknown;
  stalledCounter?: number;
  updateProgress(progress: object): Promise<void>;
}

export interface BullQueue {
  waitUntilReady(): Promise<unknown>;
  on(event: 'error', listener: (err: Error) => void): void;
  addBulk(jobs: Array<{ name: string; data: unknown; opts: object }>): Promise<unknown>;
  remove(jobId: string): Promise<number>;
  close(): Promise<void>;
}

export interface BullWorker {
  on(event: 'error', listener: (err: Error) => void): void;
  waitUntilReady(): Promise<unknown>;
  close(): Promise<void>;
}

export interface BullMQ {
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
export function peer<T>(name: string): T {
  try {
    return require(name) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((err as Error).message).includes(`'${name}'`)) {
      throw new Error(`ferropool cluster mode needs the package "${name}", which is not installed: npm install bullmq ioredis`, { cause: err });
    }
    throw err;
  }
}

export type IORedisCtor = new (url: string, options?: RedisOptions) => Redis;

export function ioredis(): IORedisCtor {
  const mod = peer<{ Redis?: IORedisCtor; default?: IORedisCtor }>('ioredis');
  return (mod.Redis ?? mod.default ?? (mod as unknown as IORedisCtor)) as IORedisCtor;
}

export function bullmq(): BullMQ {
  return peer<BullMQ>('bullmq');
}

/** The key prefix of every key ferropool adds (BullMQ's own keys use `bull:`). */
export const PREFIX = 'ferropool';

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
export function keys(queue: string) {
  return {
    hosts: `${PREFIX}:${queue}:hosts`,
    host: (id: string) => `${PREFIX}:${queue}:host:${id}`,
    caller: (id: string) => `${PREFIX}:${queue}:caller:${id}`,
  };
}

export function checkUrl(connection: unknown, what: string): string {
  if (typeof connection !== 'string' || !/^rediss?:\/\//.test(connection)) {
    throw new TypeError(`${what} must be a redis:// or rediss:// URL, got ${typeof connection === 'string' ? JSON.stringify(redact(connection)) : typeof connection}`);
  }
  return connection;
}
