/**
 * The `cluster` option of {@link Pool}: types only, so that a program that never uses
 * cluster mode loads none of it.
 * @module
 */

/**
 * Where a cluster pool sends its chunks: a BullMQ queue on Redis, served by hosts started
 * with `npx ferropool worker` (or `serve()` of `ferropool/cluster`) on the same connection and queue.
 * @example
 * ```ts
 * const pool = new Pool({
 *   cluster: { connection: 'redis://127.0.0.1:6379', queue: 'render', secret: process.env.FERROPOOL_SECRET },
 * });
 * await pool.map((x) => x * x, [1, 2, 3]); // [1, 4, 9], computed on the hosts
 * ```
 */
export interface ClusterOptions {
  /** The Redis URL: `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  connection: string;
  /** The queue's name, the same as the hosts'. */
  queue: string;
  /** Sign every job (HMAC-SHA256) with this secret; hosts started with the same secret run
   * only signed jobs. Default: `process.env.FERROPOOL_SECRET`. */
  secret?: string;
  /** How many times a chunk may lose its host (killed, crashed, unplugged) and run again
   * elsewhere before the call rejects with `WorkerCrashedError` (default 2). */
  maxRetries?: number;
  /** Milliseconds to wait for Redis before a call rejects with `ClusterConnectionError` (default 5000). */
  connectTimeout?: number;
  /** Milliseconds a call waits while no worker host is seen alive before it rejects with
   * `NoHostError` (default 30000; `Infinity` waits for ever). A warning
   * (`FERROPOOL_NO_CLUSTER_HOST`) is emitted once after 5 s without a host either way. */
  hostTimeout?: number;
  /** Chunks of one call queued or running at once (default 256): the backpressure of imap on an endless input. */
  maxInFlight?: number;
}
