// Compiled by `npm run typecheck` (never run): the public types, as an ESM user sees them.
import { Pool, kernels, cpuCount, PoolStateError, type PoolState, type MapKernel } from 'ferropool';

const pool = new Pool({ processes: cpuCount() });
const state: PoolState = pool.state;
const f64: Float64Array = await pool.map(kernels.square, new Float64Array(4));
const f32: Float32Array = await pool.map(kernels.sqrt, new Float32Array(4));
const i32: Int32Array = await pool.map((x: number) => x * 2, Int32Array.of(1, 2));
const u8Async: AsyncResult<Uint8Array> = pool.mapAsync((x: number) => x + 1, Uint8Array.of(1));
const nums: number[] = await pool.map(kernels.affine(2, 1), [1, 2, 3]);
const into: Float64Array = await pool.map(kernels.neg, [1, 2], { out: new Float64Array(2) });
const total: number = await pool.reduce(kernels.sum, f64, { map: kernels.square, initial: 1 });
const k: MapKernel = kernels.clamp(0, 1);
// @ts-expect-error a reduction kernel is not an element-wise kernel
await pool.map(kernels.sum, f64);
// @ts-expect-error an element-wise kernel is not a reduction
await pool.reduce(kernels.square, f64);
// @ts-expect-error chunksize is a number
await pool.map(kernels.abs, f64, { chunksize: '4' });
const err: Error = new PoolStateError('x');
await pool[Symbol.asyncDispose]();
void [state, f32, i32, u8Async, nums, into, total, k, err];

// JS functions and the Python-style API.
import { task, AsyncResult, type TaskFn } from 'ferropool';
const strs: string[] = await pool.map((x: number) => String(x), [1, 2]);
const asyncNums: number[] = await pool.map(async (x: number) => x * 2, [1, 2]);
const typed: Float64Array = await pool.map((x: number) => x * x, new Float64Array(2));
const prods: number[] = await pool.starmap((a: number, b: number) => a * b, [[1, 2], [3, 4]] as [number, number][]);
const one: number = await pool.apply((a: number, b: number) => a + b, [1, 2]);
const ar: AsyncResult<number> = pool.applyAsync((a: number) => a, [1], { callback: (v: number) => void v });
const many: AsyncResult<number[]> = pool.mapAsync((x: number) => x, [1], { chunksize: 1 });
const kAsync: AsyncResult<Float64Array> = pool.mapAsync(kernels.neg, new Float64Array(2), { callback: (a: Float64Array) => void a });
const kAsync32: AsyncResult<Float32Array> = pool.mapAsync(kernels.abs, new Float32Array(2));
const kAsyncNums: AsyncResult<number[]> = pool.mapAsync(kernels.square, [1, 2]);
void [kAsync, kAsync32, kAsyncNums];
for await (const r of pool.imap((x: number) => x + 1, [1, 2])) { const n: number = r; void n; }
for await (const r of pool.imapUnordered((x: number) => x + 1, new Set([1]))) { const n: number = r; void n; }
const mod: TaskFn = task('./tasks.mjs', 'sha');
const init = new Pool({ processes: 2, initializer: (v: number) => { (globalThis as any).v = v; }, initargs: [1], maxTasksPerChild: 10 });
void [strs, asyncNums, typed, prods, one, ar, many, mod, init];

// Executor and Future.
import { Executor, type Future } from 'ferropool';
const ex = new Executor({ maxWorkers: 2 });
const fut: Future<number> = ex.submit((a: number, b: number) => a + b, 1, 2);
const fromFuture: number = await fut;
const flags: boolean[] = [fut.cancel(), fut.cancelled(), fut.running(), fut.done()];
for await (const f of Executor.asCompleted([fut], { timeout: 10 })) { const v: number = await f; void v; }
const { done, notDone } = await Executor.wait([fut], { returnWhen: 'FIRST_COMPLETED' });
await ex.shutdown({ wait: true, cancelFutures: false });
void [fromFuture, flags, done, notDone];

// Shared state, Process, worker identity, map into `out`.
import { Lock, Value, Queue, Process, currentProcess, QueueEmptyError, type ProcessInfo } from 'ferropool';
const lock = new Lock();
const gotIt: boolean = lock.acquire({ timeout: 5 });
const gotAsync: Promise<boolean> = lock.acquireAsync();
const inLock: number = lock.withLock(() => 1);
const counter = new Value('i32', 0);
const c1: number = counter.value;
const c2: number = counter.add(1);
const wide = new Value('i64', 1n);
const w1: bigint = wide.value;
const pyCode = new Value('d', 0.5);
const d1: number = pyCode.add(0.25);
// @ts-expect-error a 64-bit Value holds a bigint
const badWide: number = wide.value;
const q = new Queue<{ id: number }>({ maxsize: 4 });
q.put({ id: 1 });
const item: { id: number } = await q.getAsync({ timeout: 10 });
const qe: Error = new QueueEmptyError('x');
const proc = new Process({ target: (a: number, b: string) => void [a, b], args: [1, 'x'] as [number, string], name: 'p', daemon: true });
proc.start();
const code: number | null = await proc.join(100);
const info: ProcessInfo = currentProcess();
const into64: Float64Array = await pool.map((x: number) => x * 2, new Float64Array(2), { out: new Float64Array(2) });
void [gotIt, gotAsync, inLock, c1, c2, w1, d1, badWide, item, qe, code, info.workerId, into64];

// A typed task(): the results follow the export's type.
const shaTask = task<typeof import('./fixtures/tasks/typed.mjs')['sha']>(new URL('./fixtures/tasks/typed.mjs', import.meta.url), 'sha');
const hashes: string[] = await pool.map(shaTask, ['a', 'b']);
const lengths: number[] = await pool.map(task<typeof import('./fixtures/tasks/typed.mjs')['lengthOf']>('./typed.mjs', 'lengthOf'), ['a']);
// @ts-expect-error sha takes strings
await pool.map(shaTask, [1, 2]);
// @ts-expect-error sha returns strings
const wrong: number[] = await pool.map(shaTask, ['a']);
const untypedTask: unknown[] = await pool.map(task('./tasks.mjs', 'sha'), ['a']);
const assignable: TaskFn<[string], string> = task('./tasks.mjs', 'sha');
void [hashes, lengths, wrong, untypedTask, assignable];

// Expression kernels: the input object's keys follow the expression.
import type { ExprKernel } from 'ferropool';
const ek: ExprKernel<'a' | 'b'> = kernels.expr('a*b + sqrt(b) * PI');
const ex64: Float64Array = await pool.map(kernels.expr('2*x*x + 1'), new Float64Array(4));
const ex32: Float32Array = await pool.map(kernels.expr('a*b'), { a: new Float32Array(2), b: new Float32Array(2) });
const exMixed: Float64Array = await pool.map(kernels.expr('a*b'), { a: new Float32Array(2), b: new Float64Array(2) });
const exNums: number[] = await pool.map(kernels.expr('a - b'), { a: [1], b: [2] });
const exConst: Float64Array = await pool.map(kernels.expr('s*x + t', { s: 2, t: 1 }), new Float64Array(2), { out: new Float64Array(2) });
const exDot: number = await pool.reduce(kernels.sum, { a: f64, b: f64 }, { map: kernels.expr('a*b') });
const exStream: AsyncIterableIterator<number> = pool.imap(kernels.expr('x + 1'), [1, 2]);
const exDyn = kernels.expr(String('a*b'));
const exAny: Float64Array | Float32Array | number[] = await pool.map(exDyn, { a: f64, b: f64 });
// @ts-expect-error input c is missing
await pool.map(kernels.expr('a*b + c'), { a: f64, b: f64 });
// @ts-expect-error a function is not an input: the keys follow the expression
await pool.map(kernels.expr('sqrt(a) + b'), { sqrt: f64, b: f64 });
void [ek, ex64, ex32, exMixed, exNums, exConst, exDot, exStream, exAny];

// opts.args: extra arguments after the item (and after a starmap's tuple); sharedArray.
import { sharedArray, type TypedArrayConstructor } from 'ferropool';
const pts: Float64Array = sharedArray(Float64Array, 8);
const i32s: Int32Array = sharedArray(Int32Array, [1, 2, 3]);
const ctor: TypedArrayConstructor = Float32Array;
const argMapped: Float64Array = await pool.map((i: number, p: Float64Array, k: number) => p[i]! * k, new Float64Array(2), { args: [pts, 2] });
const argStrings: string[] = await pool.map((s: string, sep: string) => s + sep, ['a'], { args: ['!'] });
const argStar: number[] = await pool.starmap((a: number, b: number, k: number) => a * b * k, [[1, 2]] as [number, number][], { args: [3] });
const argStream: AsyncIterableIterator<number> = pool.imap((x: number, k: number) => x + k, [1, 2], { args: [1] });
const argAsync: AsyncResult<number[]> = pool.mapAsync((x: number, k: number) => x * k, [1], { args: [2] });
// @ts-expect-error args must be an array
await pool.map((x: number) => x, [1], { args: 1 });
// @ts-expect-error sharedArray takes a typed array constructor
sharedArray(Array, 3);
void [pts, i32s, ctor, argMapped, argStrings, argStar, argStream, argAsync];
