/**
 * The caller's end of cluster mode's transport on BullMQ and Redis ({@link BullCaller}): it
 * queues jobs, reads results from its own list, cancels, and keeps its liveness key.
 * @module
 */
import type { JobData } from './protocol';
import {
  type BullQueue,
  bullmq,
  CALLER_TTL_MS,
  type CallerTransport,
  checkUrl,
  ClusterConnectionError,
  EVENTS_MAX_LEN,
  type HostInfo,
  ioredis,
  keys,
  PREFIX,
  type Redis,
  type RedisOptions,
} from './transport';

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
