/**
 * ferropool: Python's `multiprocessing.Pool` for Node.js, with a Rust core.
 * @module
 */
export { Pool, cpuCount } from './pool';
export type { PoolOptions, PoolState, PoolStats, KernelMapOptions, KernelReduceOptions, TaskFn } from './pool';
export type { ClusterOptions } from './cluster/options';
export { task } from './task';
export type { ModuleTask } from './task';
export type { PoolStateErrorCode } from './errors';
export { AsyncResult } from './async-result';
export { Executor } from './executor';
export { Process } from './process';
export type { ProcessOptions } from './process';
export { Lock, Value, Queue, QueueEmptyError, QueueFullError } from './shared';
export type { QueueOptions, ValueType, PythonTypeCode, ValueOf, WaitOptions } from './shared';
export { sharedArray } from './shared-array';
export type { TypedArrayConstructor } from './shared-array';
export { currentProcess } from './identity';
export type { ProcessInfo } from './identity';
export type { ExecutorMapOptions, ExecutorOptions, Future } from './executor';
export type { AsyncCallbacks } from './async-result';
export { kernels } from './kernels';
export type { Kernel, MapKernel, ReduceKernel } from './kernels';
export type { ExprColumn, ExprInputNames, ExprInputs, ExprKernel, ExprResult } from './expr';
export type { CallOptions, IntegerArray } from './validate';
export {
  AbortError,
  PoolStateError,
  RemoteError,
  TaskSerializationError,
  TimeoutError,
  WorkerCrashedError,
} from './errors';
