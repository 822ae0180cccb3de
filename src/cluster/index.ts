/**
 * `ferropool/cluster`: worker hosts of cluster mode. A caller needs only `ferropool`'s
 * `new Pool({ cluster: { connection, queue } })`; each host runs `npx ferropool worker`
 * or {@link serve}. Needs the optional packages `bullmq` and `ioredis`.
 * @module
 */
export { serve } from './host';
export type { ServeOptions, ClusterHost } from './host';
export { ClusterConnectionError, NoHostError } from './transport';
