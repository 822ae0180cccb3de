/**
 * The host's end of cluster mode's transport on BullMQ and Redis ({@link BullHost}): it takes
 * jobs, replies on each caller's list, hears cancellations and publishes its heartbeat.
 * @module
 */
import type { JobData } from './protocol';
import {
  bullmq,
  type BullWorker,
  checkUrl,
  type HostInfo,
  type HostJob,
  type HostTransport,
  ioredis,
  type Job,
  keys,
  PREFIX,
  type Redis,
} from './transport';

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
