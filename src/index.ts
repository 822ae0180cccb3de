/**
 * ferropool: Python's `multiprocessing.Pool` for Node.js, with a Rust core.
 * @module
 */
import { ownLoads } from './util/own-require';

// Our modules load past a TypeScript runner's require hook (see util/own-require.ts): under
// tsx, scanning them slowed every typed-array loop of the importing thread. (The build is
// CommonJS, whose requires run in the order written: the loads below happen in between.)
const loaded = ownLoads();
export { Pool, cpuCount } from './api/pool';
export type { PoolOptions, PoolState, PoolStats, KernelMapOptions, KernelReduceOptions, TaskFn } from './api/pool';
export type { ClusterOptions } from './cluster/options';
export { task } from './api/task';
export type { ModuleTask } from './api/task';
export type { PoolStateErrorCode } from './engine/errors';
export { AsyncResult } from './api/async-result';
export { Executor } from './api/executor';
export { Process } from './api/process';
export type { ProcessOptions } from './api/process';
export { Lock } from './shared/lock';
export { Value } from './shared/value';
export { Queue, QueueEmptyError, QueueFullError } from './shared/queue';
export type { QueueOptions } from './shared/queue';
export type { ValueType, PythonTypeCode, ValueOf } from './shared/value';
export type { WaitOptions } from './shared/wait';
export { sharedArray } from './api/shared-array';
export type { TypedArrayConstructor } from './api/shared-array';
export { currentProcess } from './util/identity';
export type { ProcessInfo } from './util/identity';
export type { ExecutorMapOptions, ExecutorOptions, Future } from './api/executor';
export type { AsyncCallbacks } from './api/async-result';
export { kernels } from './api/kernels';
export type { Kernel, MapKernel, ReduceKernel } from './api/kernels';
export type { ExprColumn, ExprInputNames, ExprInputs, ExprKernel, ExprResult } from './api/expr';
export type { CallOptions, IntegerArray } from './engine/options';
export {
  AbortError,
  PoolStateError,
  RemoteError,
  TaskSerializationError,
  TimeoutError,
  WorkerCrashedError,
} from './engine/errors';
loaded();
