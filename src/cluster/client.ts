/**
 * The caller's side of cluster mode: what {@link Pool}'s work methods do when the pool was
 * made with `cluster`. Each method checks its arguments as a local pool does, refuses
 * shared memory (which cannot cross machines), cuts its input into chunks and makes its
 * answer of their results; the chunks run as jobs on the hosts through
 * {@link ClusterCaller} (caller.ts). Loaded by pool.ts only when `cluster` is given.
 * @module
 */
import type { MapKernel, ReduceKernel } from '../api/kernels';
import { shipFunction } from '../api/task';
import { isExprKernel, type ExprKernel } from '../api/expr';
import { columns as exprColumns, type Columns, output as exprOutput } from '../api/expr-run';
import { likeInput, toItems } from '../engine/chunks';
import { numericInput } from '../engine/numbers';
import { type CallOptions, checkOptions, type FloatArray, isFloatArray, refuseArgs } from '../engine/options';
import { PARTIAL } from '../engine/remote';
import { describe } from '../util/describe';
import { encodeCallArgs } from '../wire/payloads';
import type { Items } from '../wire/protocol';
import { type CallSpec, ClusterCaller } from './caller';
import { type KernelSpec, refuseShared } from './protocol';

export type { LocalSettings } from './caller';

/**
 * A cluster pool's engine. Every method validates its arguments as a local pool does, then
 * refuses shared-memory arguments, which cannot cross machines.
 */
export class ClusterClient extends ClusterCaller {
  /** `pool.map` / `starmap` / `apply` with a JS function or task. */
  async mapJs(fn: unknown, input: unknown, opts: unknown, star: boolean, method: string): Promise<unknown> {
    const f = shipFunction(fn, `${method}: fn`);
    const o = checkOptions<CallOptions & { out?: FloatArray }>(opts, method, method === 'map' ? ['out'] : []);
    if (method === 'apply') refuseArgs(o, method, 'apply takes its arguments as args');
    const args = clusterArgs(o, method);
    if (o.out !== undefined) {
      if (!isFloatArray(input) || o.out.constructor !== input.constructor || o.out.length !== input.length) {
        throw new TypeError(`map: opts.out must be a ${isFloatArray(input) ? input.constructor.name : 'Float64Array or Float32Array'} of the input's length (and the input a typed array), got ${describe(o.out)}`);
      }
    }
    let items = toItems(input, method, star);
    if (items instanceof Promise) items = await items;
    refuseShared(items, star ? 'argTuples' : 'input', method);
    const n = items.length;
    const out = assemble(await this.all({ fn: f, mode: star ? 'star' : 'map', ...(args ? { args } : {}) }, cut(items, o.chunksize ?? defaultChunksize(n)), o, n), input, n);
    if (o.out === undefined) return star ? out : likeInput(input, out);
    for (let i = 0; i < n; i++) {
      if (typeof (out as ArrayLike<unknown>)[i] !== 'number') throw new TypeError(`map: opts.out holds numbers, but the result for input[${i}] is ${describe((out as ArrayLike<unknown>)[i])}`);
    }
    o.out.set(out as ArrayLike<number>);
    return o.out;
  }

  /** `pool.map` with a kernel. */
  async mapKernel(kernel: MapKernel, input: unknown, opts: unknown): Promise<unknown> {
    const o = checkOptions<CallOptions & { out?: FloatArray }>(opts, 'map', ['out']);
    refuseArgs(o, 'map', 'a kernel takes no extra arguments (use kernels.expr constants, or a JS function)');
    if (isExprKernel(kernel)) {
      const cols = await exprColumns(kernel, input, 'map');
      const out = exprOutput(cols, o.out, 'map');
      const parts = await this.all({ fn: kernelSpec(kernel), mode: 'kmap' }, exprChunks(cols, o.chunksize), o, cols.length);
      let at = 0;
      for (const p of parts as FloatArray[]) {
        out.set(p, at);
        at += p.length;
      }
      return o.out !== undefined || cols.anyTyped ? out : Array.from(out);
    }
    let data = numericInput(input, 'map');
    if (data instanceof Promise) data = await data;
    if (o.out !== undefined && (!isFloatArray(o.out) || o.out.constructor !== data.constructor || o.out.length !== data.length)) {
      throw new TypeError(`map: opts.out must be a ${data.constructor.name} like the input, of length ${data.length}, got ${describe(o.out)}`);
    }
    const chunks = cut(data, o.chunksize ?? kernelChunksize(data.length));
    const parts = await this.all({ fn: kernelSpec(kernel), mode: 'kmap' }, chunks, o, data.length);
    const out = o.out ?? (data instanceof Float32Array ? new Float32Array(data.length) : new Float64Array(data.length));
    let at = 0;
    for (const p of parts as FloatArray[]) {
      out.set(p, at);
      at += p.length;
    }
    return o.out !== undefined || isFloatArray(input) ? out : Array.from(out);
  }

  /** `pool.reduce` with a reduction kernel. */
  async reduceKernel(kernel: ReduceKernel, pre: MapKernel | undefined, initial: number | undefined, input: unknown, o: CallOptions): Promise<number> {
    let data: { length: number };
    let chunks: Items[];
    if (pre !== undefined && isExprKernel(pre)) {
      const cols = await exprColumns(pre as ExprKernel, input, 'reduce');
      data = cols;
      chunks = exprChunks(cols, o.chunksize);
    } else {
      let numbers = numericInput(input, 'reduce');
      if (numbers instanceof Promise) numbers = await numbers;
      data = numbers;
      chunks = cut(numbers, o.chunksize ?? kernelChunksize(numbers.length));
    }
    const spec: CallSpec = { fn: kernelSpec(kernel), mode: 'kreduce' };
    if (pre) spec.pre = kernelSpec(pre);
    const parts = (await this.all(spec, chunks, o, data.length)) as number[];
    switch (kernel.name) {
      case 'sum':
        return parts.reduce((a, b) => a + b, initial ?? 0);
      case 'min':
        return parts.reduce((a, b) => Math.min(a, b), initial ?? Infinity);
      case 'max':
        return parts.reduce((a, b) => Math.max(a, b), initial ?? -Infinity);
      default: {
        if (data.length === 0) return Number.NaN;
        let total = 0;
        for (let i = 0; i < parts.length; i++) total += parts[i]! * chunks[i]!.length;
        return total / data.length;
      }
    }
  }

  /** `pool.reduce` with a JS function or task: chunks fold on the hosts, then one more job folds their results. */
  async reduceJs(fn: unknown, input: unknown, opts: unknown): Promise<unknown> {
    const f = shipFunction(fn, 'reduce: fn');
    const o = checkOptions<CallOptions & { initial?: unknown }>(opts, 'reduce', ['initial']);
    refuseArgs(o, 'reduce', 'reduce calls fn(acc, x) with nothing else');
    let items = toItems(input, 'reduce', false);
    if (items instanceof Promise) items = await items;
    refuseShared(items, 'input', 'reduce');
    refuseShared(o.initial, 'opts.initial', 'reduce');
    const hasInitial = o.initial !== undefined;
    if (items.length === 0) {
      if (hasInitial) return o.initial;
      throw new TypeError('reduce: the input is empty and no opts.initial was given');
    }
    const spec: CallSpec = { fn: f, mode: 'reduce' };
    const partials = await this.all(spec, cut(items, o.chunksize ?? defaultChunksize(items.length)), o, items.length);
    const all = hasInitial ? [o.initial, ...partials] : partials;
    if (all.length === 1) return all[0];
    const [combined] = await this.all(spec, [all], { signal: o.signal }, all.length);
    return combined;
  }

  /** `pool.imap` (`ordered`) and `pool.imapUnordered`. */
  async *imap(fn: unknown, input: unknown, opts: CallOptions, ordered: boolean, method: string): AsyncGenerator<unknown, void, undefined> {
    const f = shipFunction(fn, `${method}: fn`);
    const length = Array.isArray(input) || ArrayBuffer.isView(input) ? (input as ArrayLike<unknown>).length : undefined;
    const chunks = readChunks(input as Iterable<unknown> | AsyncIterable<unknown>, opts.chunksize, length, method);
    const buffered = new Map<number, unknown>();
    let failedAt: number | undefined;
    let failure: Error | undefined;
    let next = 0;
    let done = 0;
    const args = clusterArgs(opts, method);
    for await (const e of this.run({ fn: f, mode: 'map', ...(args ? { args } : {}) }, chunks, opts)) {
      if ('error' in e) {
        if (!ordered) throw e.error;
        if (failedAt === undefined || e.k < failedAt) [failedAt, failure] = [e.k, e.error];
      } else {
        if (!ordered) {
          const part = e.part as ArrayLike<unknown>;
          for (let i = 0; i < part.length; i++) yield part[i];
          opts.onProgress?.((done += e.length), length ?? done);
          continue;
        }
        buffered.set(e.k, e.part);
      }
      while (buffered.has(next)) {
        const part = buffered.get(next) as ArrayLike<unknown>;
        buffered.delete(next++);
        for (let i = 0; i < part.length; i++) yield part[i];
        opts.onProgress?.((done += part.length), length ?? done);
      }
      if (failedAt !== undefined && next === failedAt) {
        const partial = (failure as unknown as Record<symbol, Items | undefined>)[PARTIAL];
        if (partial) for (let i = 0; i < partial.length; i++) yield partial[i];
        throw failure;
      }
    }
  }
}

function kernelSpec(k: MapKernel | ReduceKernel): KernelSpec {
  if (isExprKernel(k)) return { k: 'kernel', name: 'expr', params: [], expr: k.expression, constants: { ...k.constants } };
  return { k: 'kernel', name: k.name, params: k.kind === 'map' ? [...k.params] : [] };
}

/** A call's `opts.args` for the hosts: plain data (each chunk's payload carries them),
 * checked now; shared memory cannot cross machines. */
function clusterArgs(o: CallOptions, method: string): unknown[] | undefined {
  if (o.args === undefined || o.args.length === 0) return undefined;
  for (let i = 0; i < o.args.length; i++) refuseShared(o.args[i], `opts.args[${i}]`, method);
  encodeCallArgs(o.args, method); // a value that cannot be cloned: a TypeError naming it
  return [...o.args];
}

/** About 32 chunks a call: enough to keep many hosts busy and balanced, few enough that
 * each is worth its Redis round trip. */
function defaultChunksize(n: number): number {
  return Math.max(1, Math.ceil(n / 32));
}

/** Kernels are fast: a chunk smaller than this would cost more to move than to compute. */
function kernelChunksize(n: number): number {
  return Math.max(1 << 18, Math.ceil(n / 16));
}

/** An expression kernel's columns cut into chunks ({@link ExprChunk}s). */
function exprChunks(cols: Columns, chunksize: number | undefined): Items[] {
  const size = chunksize ?? kernelChunksize(cols.length);
  const chunks: Items[] = [];
  for (let s = 0; s < cols.length; s += size) {
    const e = Math.min(cols.length, s + size);
    chunks.push({ length: e - s, columns: cols.arrays.map((a) => a.slice(s, e)) } as unknown as Items);
  }
  // An expression without inputs still maps `length` elements.
  if (cols.length > 0 && cols.arrays.length === 0 && chunks.length === 0) chunks.push({ length: cols.length, columns: [] } as unknown as Items);
  return chunks;
}

function cut(items: Items, size: number): Items[] {
  const chunks: Items[] = [];
  const typed = ArrayBuffer.isView(items);
  for (let s = 0; s < items.length; s += size) {
    chunks.push(typed ? (items as Float64Array).slice(s, s + size) : (items as unknown[]).slice(s, s + size));
  }
  return chunks;
}

/** The chunks' results joined in order: a typed array like a typed `input` when every
 * result is a number, else an array. */
function assemble(parts: unknown[], input: unknown, total: number): unknown[] | FloatArray {
  const numeric = parts.every((p) => p instanceof Float64Array || p instanceof Float32Array);
  if (numeric && isFloatArray(input)) {
    const out = input instanceof Float32Array ? new Float32Array(total) : new Float64Array(total);
    let at = 0;
    for (const p of parts as FloatArray[]) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
  const out = new Array<unknown>(total);
  let at = 0;
  for (const p of parts as ArrayLike<unknown>[]) for (let i = 0; i < p.length; i++) out[at++] = p[i];
  return out;
}

/**
 * The chunks of an imap's input, read lazily: `chunksize` items each, or without one, a
 * known-length input in about 32 chunks, and an unknown-length one in chunks that start at
 * one item (the first results come at once) and double every 8 chunks up to 256.
 */
async function* readChunks(input: Iterable<unknown> | AsyncIterable<unknown>, chunksize: number | undefined, length: number | undefined, method: string): AsyncGenerator<Items, void, undefined> {
  const sync = typeof (input as Iterable<unknown>)[Symbol.iterator] === 'function';
  const it = sync ? (input as Iterable<unknown>)[Symbol.iterator]() : (input as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  let k = 0;
  let position = 0;
  let finished = false;
  try {
    for (;;) {
      const size = chunksize ?? (length !== undefined ? defaultChunksize(length) : Math.min(256, 2 ** Math.floor(k / 8)));
      const items: unknown[] = [];
      while (items.length < size) {
        const step = sync ? (it as Iterator<unknown>).next() : await (it as AsyncIterator<unknown>).next();
        if (step.done) {
          finished = true;
          break;
        }
        refuseShared(step.value, `input[${position + items.length}]`, method);
        items.push(step.value);
      }
      if (items.length > 0) yield items;
      position += items.length;
      k++;
      if (finished) return;
    }
  } finally {
    if (!finished) await it.return?.();
  }
}
