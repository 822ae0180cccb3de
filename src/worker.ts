/**
 * The loop every pool worker runs: claim a chunk from the pool's task board (in the Rust
 * core), run the shipped function over its items, store the results back, say so, repeat;
 * park in `Atomics.wait` on the pool's doorbell when there is nothing to claim (a native
 * wait would keep `terminate()` and `process.exit()` from interrupting it).
 * @internal
 */
import { type MessagePort, parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { currentProcess, setIdentity } from './identity';
import { X, XCall, XResult, XState } from './protocol';
import { encodeAny } from './codec';
import { helpersFor, helperToolchain } from './helpers';
import { isBuiltin } from 'node:module';
import { getHeapStatistics } from 'node:v8';
import { native } from './native';
import { pollFor } from './spin';
import { type ArgAlloc, type ArgArrayConstructor, decodeArgs, encodeInOutput, sharedChunk, isNumeric, decodeChunk, decodeValue, encodeError, encodeOutcomes, encodeResults, type ResolveShared, toWireError } from './wire';
import { Bell, HEAP_TOTAL, HEAP_USED, POLLING, SLOT_STRIDE, type FnSpec, type ItemOutcome, type Items, type JobSpec, Note, type ProcessInit, type WorkerInit, Msg, type PortMessage, type ProcessMessage, type WorkerMessage } from './protocol';


/**
 * The SharedArrayBuffers this thread knows by id: those it started with, then those the
 * pool posts on `port` (`[id, buffer]`, or `[id, null]`: forget it, nobody refers to it any
 * more). The pool posts a buffer before it queues a job that refers to it.
 */
class SharedBuffers {
  readonly #known: Map<number, SharedArrayBuffer>;
  readonly #port: MessagePort | undefined;
  /** Functions named by the express lane (posted as `['fn', id, spec]`). */
  readonly fns = new Map<number, FnSpec>();
  constructor(initial: Array<[number, SharedArrayBuffer]>, port?: MessagePort) {
    this.#known = new Map(initial);
    this.#port = port;
  }

  /** The express lane's function `id` (posted before the call that names it). */
  fn(id: number): FnSpec {
    while (!this.fns.has(id) && this.#port) {
      const msg = receiveMessageOnPort(this.#port);
      if (msg === undefined) break;
      this.#take(msg.message);
    }
    const spec = this.fns.get(id);
    if (spec === undefined) throw new Error(`ferropool: express function ${id} is unknown to this worker`);
    return spec;
  }

  #take(message: unknown): void {
    const m = message as PortMessage;
    if (m[0] === Msg.Fn) this.fns.set(m[1], m[2]);
    else if (m[1]) this.#known.set(m[0], m[1]);
    else this.#known.delete(m[0]);
  }

  /** Reads what the pool has posted; stops early once `want` is known. */
  drain(want?: number): void {
    if (!this.#port) return;
    for (;;) {
      if (want !== undefined && this.#known.has(want)) return;
      const msg = receiveMessageOnPort(this.#port);
      if (msg === undefined) return;
      this.#take(msg.message);
    }
  }

  readonly resolve: ResolveShared = (id) => {
    this.drain(id);
    const sab = this.#known.get(id);
    if (sab === undefined) throw new Error(`ferropool: shared buffer ${id} is unknown to this thread`);
    return sab;
  };
}

/** How long an idle worker polls the doorbell before it parks (ms): the next call of a hot
 * loop is usually microseconds away, and waking a parked thread costs 40-90 µs. Only one
 * worker of a pool polls at a time (the others park at once): polling threads must never
 * outnumber the cores, and one is enough to catch a hot loop's next small call. */
const SPIN_MS = 0.5;

const IDENT = /^[A-Za-z_$][\w$]*$/;
const RESERVED = new Set(['await', 'yield', 'let', 'static', 'enum', 'implements', 'interface', 'package', 'private', 'protected', 'public', 'default', 'function', 'class', 'async']);

/** Job specs by their text: a hot loop's jobs differ only in their id. */
const parsedSpecs = new Map<string, JobSpec>();
function parseSpec(text: string): JobSpec {
  let spec = parsedSpecs.get(text);
  if (spec === undefined) {
    spec = JSON.parse(text) as JobSpec;
    if (parsedSpecs.size >= 256) parsedSpecs.delete(parsedSpecs.keys().next().value!);
    parsedSpecs.set(text, spec);
  }
  return spec;
}

/** Compiles a shipped function once per source; its own name is bound, so recursion works. */
const compiled = new Map<string, (...args: unknown[]) => unknown>();
/** The function of `spec` if it was compiled or imported already (no promise to await). */
function compiledFn(spec: FnSpec): ((...args: unknown[]) => unknown) | undefined {
  return compiled.get(spec.k === 'fn' ? spec.src : `${spec.url}#${spec.name}`);
}
async function resolveFn(spec: FnSpec): Promise<(...args: unknown[]) => unknown> {
  const key = spec.k === 'fn' ? spec.src : `${spec.url}#${spec.name}`;
  let fn = compiled.get(key);
  if (fn) return fn;
  if (spec.k === 'fn') {
    fn = compileShipped(spec);
  } else {
    const mod = (await import(spec.url)) as Record<string, unknown>;
    const value = mod[spec.name] ?? (spec.name === 'default' ? undefined : (mod.default as Record<string, unknown> | undefined)?.[spec.name]);
    if (typeof value !== 'function') {
      throw new TypeError(`task(${JSON.stringify(spec.url)}, ${JSON.stringify(spec.name)}): the module has no function export named ${JSON.stringify(spec.name)}`);
    }
    fn = value as (...args: unknown[]) => unknown;
  }
  compiled.set(key, fn);
  return fn;
}

/**
 * Compiles a shipped function's source. `currentProcess` is in scope (as if the function
 * had imported it), and so are the compiler helpers its source names (see helpers.ts). The
 * source starts on the line it has in the caller's file, which names the code
 * (`sourceURL`), so the worker's stack frames read `at fib (file:///…/app.mjs:12:9)`; when
 * the file is not known (a transpiled or another module), they read `shipped:fib:3:9` (a
 * line of the function itself).
 */
function compileShipped(spec: FnSpec & { k: 'fn' }): (...args: unknown[]) => unknown {
  const [names, values] = helpersFor(spec.src);
  const named = IDENT.test(spec.name) && !RESERVED.has(spec.name) && spec.name !== 'currentProcess' && !names.includes(spec.name);
  const params = ['currentProcess', ...names].join(', ');
  const url = (spec.file ?? `shipped:${spec.name || 'anonymous'}`).replace(/\s/g, encodeURIComponent);
  // Where the caller's file has it, the source starts on its own line and column: the wrapper
  // goes on the line before (or, for a function on line 1, before it on the same line).
  const line = spec.file !== undefined ? (spec.line ?? 1) : 1;
  const at = line > 1 ? `${'\n'.repeat(line - 2)}` : '';
  const open = line > 1 ? `\n${' '.repeat(spec.col ?? 0)}` : '';
  const code = named
    ? `${at}(function (${params}) { const ${spec.name} = (${open}${spec.src}\n);\nreturn ${spec.name}; })\n//# sourceURL=${url}`
    : `${at}(function (${params}) { return { anonymous: (${open}${spec.src}\n) }.anonymous; })\n//# sourceURL=${url}`;
  // An unnamed function gets the name `anonymous` (as new Function's do), so its frames do
  // not read `at eval`. Compiled by an indirect eval (eval called by another name runs in
  // the global scope), not new Function: eval's code starts at line 1 and column 1, so the
  // padding above puts the function at its own line and column.
  // biome-ignore lint/security/noGlobalEval: shipped functions are compiled from their source by design
  const globalEval = eval;
  const factory = globalEval(code) as (...args: unknown[]) => (...args: unknown[]) => unknown;
  return factory(currentProcess, ...values);
}

/** Turns "x is not defined" from a shipped function into the reason it happened, and adds a
 * hint to "crypto.createHash is not a function" when the name is a worker global that a
 * module import of the same name shadows on the caller's side. */
function explain(err: unknown, spec: FnSpec): { err: unknown; serialization: boolean } {
  if (spec.k === 'fn' && err instanceof ReferenceError) {
    const m = /^(\S+) is not defined$/.exec(err.message);
    if (m) {
      const e = new ReferenceError(notDefined(m[1]!, spec.name || 'the function'));
      e.name = 'TaskSerializationError';
      e.stack = `${e.name}: ${e.message}\n${(err.stack ?? '').split('\n').slice(1).join('\n')}`;
      return { err: e, serialization: true };
    }
  }
  if (spec.k === 'fn' && err instanceof TypeError) {
    const m = /^(\w+)\.(\w+) is not a function$/.exec(err.message);
    if (m && shadowsModule(m[1]!)) {
      err.message += ` (in the worker, ${m[1]} is the global ${m[1]}, not the module 'node:${m[1]}': a shipped function does not take its module's imports along. Get the module inside the function, e.g. const ${m[1]} = process.getBuiltinModule('node:${m[1]}') (Node 20.16+) or await import('node:${m[1]}'), or use task(moduleUrl, exportName).)`;
      if (typeof err.stack === 'string') err.stack = err.stack.replace(/^[^\n]*/, `${err.name}: ${err.message}`);
    }
  }
  return { err, serialization: false };
}

/** Whether `name` is a worker global that differs from the Node module of the same name
 * (`crypto`: WebCrypto, not 'node:crypto'), which a caller's import may have shadowed. */
function shadowsModule(name: string): boolean {
  if (!(name in globalThis) || !isBuiltin(`node:${name}`)) return false;
  try {
    return require(`node:${name}`) !== (globalThis as Record<string, unknown>)[name];
  } catch {
    return false;
  }
}

/** Why a shipped function's name `name` is undefined in the worker, and what to do. */
function notDefined(name: string, fnName: string): string {
  const toolchain = helperToolchain(name);
  if (toolchain !== undefined) {
    return (
      `${fnName} uses ${name}, a helper that ${toolchain} inserts when it compiles a function, and one that ferropool does not provide to shipped functions. ` +
      'Compile for a newer target (tsconfig "target": "ES2022" or later; SWC "jsc.target": "es2022"), turn the helper\'s transform off, or put the function in a module and use task(moduleUrl, exportName).'
    );
  }
  if (/^\w+_\d+$/.test(name)) {
    return (
      `${fnName} uses ${name}, which is how TypeScript compiles a module import: a shipped function cannot use its module's imports, as functions are shipped by source. ` +
      'Import inside the function (await import(...), or process.getBuiltinModule for node: modules), or put the function in a module and use task(moduleUrl, exportName).'
    );
  }
  if (isBuiltin(name)) {
    return (
      `${fnName} uses ${name}, which does not exist in the worker: functions are shipped by source, so a module imported as ${name} in the caller's file does not come along. ` +
      `Get it inside the function: const ${name} = process.getBuiltinModule('node:${name}') (Node 20.16+) or await import('node:${name}'), or use task(moduleUrl, exportName).`
    );
  }
  return (
    `${fnName} uses ${name}, which does not exist in the worker: functions are shipped by source, so they cannot capture outer variables. ` +
    `Pass ${name} as an argument, set it on globalThis in the pool's initializer, or use task(moduleUrl, exportName).`
  );
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

/**
 * `results[i] = fn(items[i])` from `from` while results are plain values (a number, for a
 * numeric `results`); returns the index of the first item that needs the careful path, or
 * `items.length`. That item's result is left in {@link pendingResult} (never computed twice).
 */
function mapSync(fn: (x: unknown) => unknown, items: Items, results: unknown[] | Float64Array, from: number, start: number, slot: Slot): number {
  const at = slot.at;
  const w = slot.worker;
  const numeric = results instanceof Float64Array;
  for (let i = from; i < items.length; i++) {
    at[w] = start + i;
    const r = fn(items[i]);
    if (numeric ? typeof r !== 'number' : isThenable(r)) {
      pendingResult.value = r;
      pendingResult.index = i;
      return i;
    }
    results[i] = r;
  }
  return items.length;
}

/** The result at which {@link mapSync} stopped, so it is not computed twice. */
const pendingResult = { index: -1, value: undefined as unknown };

/** Runs a chunk's items in order; the first that throws fails the chunk.
 * Returns `[ok, bytes]`: the encoded results, or the encoded error. */
async function runChunk(spec: JobSpec, items: Items, start: number, slot: Slot): Promise<[boolean, Buffer]> {
  let position = start;
  let results: unknown[] | Float64Array = isNumeric(items) ? new Float64Array(items.length) : new Array(items.length);
  try {
    const fn = compiledFn(spec.f) ?? (await resolveFn(spec.f));
    if (spec.fold) return await foldChunk(fn, spec.f, items, start, slot);
    for (let i = 0; i < items.length; i++) {
      // The fast path: a plain synchronous loop until a result needs more care (a promise,
      // or the first non-number in a numeric chunk).
      const stop = spec.star ? -1 : mapSync(fn, items, results, i, start, slot);
      if (stop === items.length) break;
      if (stop >= 0) i = stop;
      position = start + i;
      slot.at[slot.worker] = position;
      const item = items[i];
      let r = stop >= 0 ? pendingResult.value : spec.star ? fn(...(item as unknown[])) : fn(item);
      pendingResult.value = undefined;
      if (isThenable(r)) r = await r;
      if (results instanceof Float64Array && typeof r !== 'number') results = Array.from(results);
      results[i] = r;
    }
  } catch (thrown) {
    // The item that threw (mapSync does not update `position`); the start when the function
    // itself could not be loaded.
    position = Math.max(start, slot.at[slot.worker]!);
    const { err, serialization } = explain(thrown, spec.f);
    const partial = Array.prototype.slice.call(results, 0, position - start) as unknown[];
    return [false, encodeError(err, position, partial, serialization)];
  }
  try {
    return [true, encodeResults(results as Items)];
  } catch (err) {
    // Find the value that cannot be cloned, so the error names its input position.
    let bad = 0;
    while (bad < results.length && clonable(results[bad])) bad++;
    return [false, encodeError(uncloneable(err, start + bad), start + bad, (results as unknown[]).slice(0, bad))];
  }
}

/**
 * Runs a shared chunk: items `[start, start + count)` of the caller's typed array, results
 * written in place to its output array while they are numbers. The first result that is
 * not a number turns the chunk's results into an array sent back the ordinary way.
 */
async function runShared(spec: JobSpec, [input, output]: SharedViews, start: number, count: number, slot: Slot): Promise<[boolean, Buffer]> {
  const end = start + count;
  let spill: unknown[] | undefined;
  let position = start;
  try {
    const fn = compiledFn(spec.f) ?? (await resolveFn(spec.f));
    while (position < end) {
      // The fast path: a plain loop while the results are numbers returned synchronously.
      const stop = mapNumbers(fn, input, output, position, end, slot);
      if (stop.at === end) break;
      position = stop.at;
      let r = stop.value;
      if (isThenable(r)) r = await r;
      if (spill === undefined && typeof r === 'number') output[position] = r;
      else (spill ??= Array.from(output.subarray(start, position))).push(r);
      position++;
      if (spill !== undefined) {
        for (; position < end; position++) {
          slot.at[slot.worker] = position;
          let v = fn(input[position]);
          if (isThenable(v)) v = await v;
          spill.push(v);
        }
      }
    }
  } catch (thrown) {
    // The item that threw: the fast loop records it in the slot only.
    position = Math.max(position, slot.at[slot.worker]!);
    const { err, serialization } = explain(thrown, spec.f);
    const partial = spill ?? Array.from(output.subarray(start, position));
    return [false, encodeError(err, position, partial.slice(0, position - start), serialization)];
  }
  if (spill === undefined) return [true, encodeInOutput()];
  try {
    return [true, encodeResults(spill)];
  } catch (err) {
    let bad = 0;
    while (bad < spill.length && clonable(spill[bad])) bad++;
    return [false, encodeError(uncloneable(err, start + bad), start + bad, spill.slice(0, bad))];
  }
}

/** Where a worker records the input position it runs (read by the pool if it dies). */
interface Slot {
  readonly at: Float64Array;
  readonly worker: number;
}

const stopped = { at: 0, value: undefined as unknown };

/**
 * `output[i] = fn(input[i])` from `from` while each result is a number; returns where it
 * stopped (at `end`, or at the item whose result is not a number, with that result). A
 * throw propagates, with the slot naming the item.
 *
 * Each function gets a loop of its own (see {@link loopFor}): in one shared loop the call
 * `fn(...)` would see every function a worker ever ran, and V8 could not inline any of
 * them; in its own loop the call site sees one function, and a small one like
 * `x => x * x` is inlined into it (about 3× faster per element).
 */
function mapNumbers(fn: (x: unknown) => unknown, input: SharedViews[0], output: SharedViews[1], from: number, end: number, slot: Slot): typeof stopped {
  return loopFor(fn)(input, output, from, end, slot.at, slot.worker, stopped);
}

/** Chunks up to this long record every element's position for crash reports. */
const EXACT_SLOT_CHUNK = 4096;
/** Longer ones record it once per this many elements. */
const BLOCK = 64;

type NumberLoop = (input: SharedViews[0], output: SharedViews[1], from: number, end: number, at: Float64Array, w: number, out: typeof stopped) => typeof stopped;
const loops = new WeakMap<(x: unknown) => unknown, NumberLoop>();

/** The loop of {@link mapNumbers} made for `fn` alone (its own code, so its own feedback). */
function loopFor(fn: (x: unknown) => unknown): NumberLoop {
  let loop = loops.get(fn);
  if (loop === undefined) {
    loop = new Function(
      'fn',
      // The crash-report slot costs a store per element (40% of `x => x * x`): a long
      // chunk updates it once per block of BLOCK elements (a worker that dies reports the
      // block's first position), a short one every element; a throw records its own.
      `return function mapNumbers(input, output, from, end, at, w, out) {
        let i = from;
        try {
          if (end - from > ${EXACT_SLOT_CHUNK}) {
            while (i < end) {
              at[w] = i;
              const stop = Math.min(i + ${BLOCK}, end);
              for (; i < stop; i++) {
                const r = fn(input[i]);
                if (typeof r !== 'number') {
                  at[w] = i;
                  out.at = i;
                  out.value = r;
                  return out;
                }
                output[i] = r;
              }
            }
          } else {
            for (; i < end; i++) {
              at[w] = i;
              const r = fn(input[i]);
              if (typeof r !== 'number') {
                out.at = i;
                out.value = r;
                return out;
              }
              output[i] = r;
            }
          }
        } catch (err) {
          at[w] = i;
          throw err;
        }
        out.at = end;
        out.value = undefined;
        return out;
      };`,
    )(fn) as NumberLoop;
    loops.set(fn, loop);
  }
  return loop;
}

type SharedViews = [Float64Array | Float32Array | Int32Array, Float64Array | Float32Array];

/** Folds a chunk left to right with `fn(acc, item)` (a parallel reduce's first level). */
async function foldChunk(fn: (...args: unknown[]) => unknown, f: FnSpec, items: Items, start: number, slot: Slot): Promise<[boolean, Buffer]> {
  let acc: unknown = items[0];
  let position = start;
  try {
    for (let i = 1; i < items.length; i++) {
      position = start + i;
      slot.at[slot.worker] = position;
      acc = fn(acc, items[i]);
      if (isThenable(acc)) acc = await acc;
    }
  } catch (thrown) {
    const { err, serialization } = explain(thrown, f);
    return [false, encodeError(err, position, [], serialization)];
  }
  try {
    return [true, encodeResults([acc])];
  } catch (err) {
    return [false, encodeError(uncloneable(err, position), position, [])];
  }
}

/** Runs a chunk whose items are separate calls (batched applies): each settles alone. */
async function runIsolated(spec: JobSpec, items: Items, start: number, slot: Slot): Promise<[boolean, Buffer]> {
  const outcomes: ItemOutcome[] = new Array(items.length);
  let fn: ((...args: unknown[]) => unknown) | undefined;
  for (let i = 0; i < items.length; i++) {
    slot.at[slot.worker] = start + i;
    try {
      fn ??= compiledFn(spec.f) ?? (await resolveFn(spec.f));
      let r = spec.star ? fn(...(items[i] as unknown[])) : fn(items[i]);
      if (isThenable(r)) r = await r;
      const why = cloneError(r);
      outcomes[i] = why === undefined ? [true, r] : [false, toWireError(uncloneable(why, -1), start + i, [])];
    } catch (thrown) {
      const { err, serialization } = explain(thrown, spec.f);
      outcomes[i] = [false, toWireError(err, start + i, [], serialization)];
    }
  }
  try {
    return [true, encodeOutcomes(outcomes)];
  } catch {
    // A thrown value's own property defeated the clone: send the errors as text.
    return [true, encodeResults(outcomes.map((o) => (o[0] ? o : [false, { ...o[1], props: {} }])))];
  }
}

function clonable(value: unknown): boolean {
  return cloneError(value) === undefined;
}

/** What sending `value` back throws (V8 refusing it, or a getter of it), or undefined. */
function cloneError(value: unknown): unknown {
  if (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol') return undefined;
  try {
    encodeResults([value]);
    return undefined;
  } catch (err) {
    return err;
  }
}

/**
 * The error of a result that cannot be sent back: a TypeError naming its input position
 * (`position`; -1 for the result of an `apply`), with what went wrong as its `cause`. (One
 * rule with arguments that cannot be sent, on the calling side.)
 */
function uncloneable(cause: unknown, position: number): Error {
  const why = cause instanceof Error ? cause.message : String(cause);
  const what = position < 0 ? 'the result of the call' : `the result for input[${position}]`;
  return new TypeError(`${what} cannot be sent back from the worker: ${why} (return plain data: structured-clone values)`, { cause });
}

/**
 * Whether console output of this worker is still on its way. A worker's stdout and stderr
 * reach the main thread through a port one write at a time: each further write waits in the
 * stream until the main thread acknowledges the last one, and this thread reads that
 * acknowledgement only when its event loop turns, which a worker running chunks or parked in
 * `Atomics.wait` does not do. Without the turns below, only a task's first line printed.
 */
function outputPending(): boolean {
  return process.stdout.writableLength > 0 || process.stderr.writableLength > 0;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Views of callers' arrays made (native.boardViews) since the event loop last turned. Each
 * is an external ArrayBuffer, and Node frees an external buffer's bookkeeping in a native
 * immediate, which runs only when this thread's event loop turns: a worker that runs chunks
 * and parks in `Atomics.wait` kept them all.
 */
let viewsMade = 0;
/** Views made before the loop must turn even while chunks keep coming. */
const VIEWS_PER_TURN = 256;

async function releaseViews(): Promise<void> {
  viewsMade = 0;
  await turn();
}
const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

/** How long a worker waits for the main thread to take its output before it goes on (the
 * main thread may be busy, or polling for this very result). */
const FLUSH_MS = 2000;

/** Turns the event loop until the output has gone to the main thread, while `wait()` holds
 * (the caller stops when new work comes: the rest goes at the next idle moment), for at most
 * `ms` (the main thread may be busy). */
async function flushOutput(wait: () => boolean, ms: number): Promise<void> {
  const until = performance.now() + ms;
  await turn();
  while (outputPending() && wait() && performance.now() < until) await tick();
}

/**
 * An array made ahead, while the worker polls, for the next express call: a hot loop passes
 * arrays of one type and size, and the allocation is then off the call's path. It is made
 * like the last array argument the lane carried, and taken by the first argument it fits.
 */
let spareArg: Float64Array | Float32Array | Int32Array | undefined;
let lastArgType: ArgArrayConstructor | undefined;
let lastArgLength = 0;

const takeSpare: ArgAlloc = (Ctor, length) => {
  lastArgType = Ctor;
  lastArgLength = length;
  const spare = spareArg;
  if (spare === undefined || spare.constructor !== Ctor || spare.length !== length) return new Ctor(length);
  spareArg = undefined;
  return spare;
};

/** Makes the spare array (see {@link spareArg}) unless the one there fits. */
function makeSpare(): void {
  if (lastArgType !== undefined && (spareArg?.constructor !== lastArgType || spareArg.length !== lastArgLength)) spareArg = new lastArgType(lastArgLength);
}

async function main(init: WorkerInit): Promise<void> {
  const bell = new Int32Array(init.doorbell);
  const polling = new Int32Array(init.current);
  const pollingAt = init.worker * SLOT_STRIDE * 2 + POLLING;
  const current = new Float64Array(init.current);
  const port = parentPort!;
  setIdentity(`PoolWorker-${init.worker}`, init.worker);
  const buffers = new SharedBuffers(init.sabs, init.port);
  for (const [id, f] of init.fns) buffers.fns.set(id, f);
  const resolve = buffers.resolve;
  const lane = new Int32Array(init.express);
  if (init.initializer) {
    try {
      const fn = await resolveFn(init.initializer);
      const r = fn(...(decodeValue(init.initargs, resolve) as unknown[]));
      if (isThenable(r)) await r;
      port.postMessage([Msg.Ready] satisfies WorkerMessage); // join() after close() waits for this
    } catch (err) {
      // Report it, and exit: the pool rejects its pending calls instead of respawning
      // workers whose initializer fails (Python's Pool loops forever here).
      port.postMessage([Msg.InitError, encodeError(explain(err, init.initializer).err, -1, [])]);
      process.exit(70);
    }
  }
  const specs = new Map<number, JobSpec | null>();
  /** The caller's arrays of the shared job this worker last ran, mapped once per job. */
  const views = new Map<number, SharedViews | undefined>();
  let chunksRun = 0;
  for (;;) {
    const seen = Atomics.load(bell, Bell.Ring);
    const claim = native.boardClaim(init.pool, init.worker);
    if (claim === null || claim === undefined) {
      if (Atomics.compareExchange(bell, Bell.Spinner, 0, init.worker) === 0) {
        Atomics.store(polling, pollingAt, 1);
        // The next express call's argument buffer, while there is nothing else to do.
        makeSpare();
        pollFor(() => Atomics.load(bell, Bell.Ring) !== seen || Atomics.load(lane, X.State) === XState.Posted, SPIN_MS);
        Atomics.store(bell, Bell.Spinner, 0);
      }
      if (Atomics.load(lane, X.State) === XState.Posted && Atomics.compareExchange(lane, X.State, XState.Posted, XState.Taken) === XState.Posted) {
        Atomics.store(lane, X.Owner, init.worker);
        await runExpress(lane, buffers, port, { at: current, worker: init.worker * SLOT_STRIDE });
        current[init.worker * SLOT_STRIDE] = -1;
        if (++chunksRun >= init.maxTasksPerChild) {
          Atomics.store(polling, pollingAt, 0);
          port.postMessage([0, 0, Note.Retiring]);
          await flushOutput(() => true, FLUSH_MS);
          process.exit(0);
        }
        continue;
      }
      Atomics.store(polling, pollingAt, 0);
      if (outputPending()) {
        await flushOutput(() => Atomics.load(bell, Bell.Ring) === seen, 60_000);
        continue;
      }
      if (viewsMade > 0) {
        await releaseViews();
        continue;
      }
      if (Atomics.load(bell, Bell.Ring) === seen) {
        buffers.drain(); // idle: forget the shared buffers the pool no longer refers to
        const heap = getHeapStatistics(); // for Pool.stats()
        current[init.worker * SLOT_STRIDE + HEAP_USED] = heap.used_heap_size;
        current[init.worker * SLOT_STRIDE + HEAP_TOTAL] = heap.total_heap_size;
        Atomics.wait(bell, Bell.Ring, seen);
      }
      continue;
    }
    Atomics.store(polling, pollingAt, 0); // busy: a new job's chunks may need others woken
    const { job, index, payload } = claim;
    let spec = specs.get(job);
    if (spec === undefined) {
      const text = native.boardSpec(init.pool, job);
      spec = text === null || text === undefined ? null : parseSpec(text);
      specs.set(job, spec);
      if (specs.size > 64) {
        const oldest = specs.keys().next().value!;
        specs.delete(oldest);
        views.delete(oldest);
      }
    }
    if (spec === null) continue; // the job was dropped while we claimed
    if (spec.start && index === 0) port.postMessage([job, index, Note.Started]);
    const slot: Slot = { at: current, worker: init.worker * SLOT_STRIDE };
    const began = performance.now();
    let ok: boolean;
    let bytes: Buffer;
    let count: number;
    const shared = sharedChunk(payload);
    if (shared) {
      // Views of one job at a time: a finished job's arrays may be freed by their owner.
      if (!views.has(job)) views.clear();
      let mapped = views.get(job);
      if (mapped === undefined) {
        views.set(job, (mapped = (native.boardViews(init.pool, job) as SharedViews | null) ?? undefined));
        viewsMade++;
      }
      count = shared[1];
      [ok, bytes] = mapped ? await runShared(spec, mapped, shared[0], count, slot) : [true, encodeInOutput()];
    } else {
      const [start, items] = decodeChunk(payload, resolve);
      count = items.length;
      [ok, bytes] = spec.isolate ? await runIsolated(spec, items, start, slot) : await runChunk(spec, items, start, slot);
    }
    // What an item cost here: the pool uses it to run small calls on the caller's thread.
    const nsPerItem = ((performance.now() - began) * 1e6) / Math.max(1, count);
    current[init.worker * SLOT_STRIDE] = -1;
    // What the chunk printed reaches the main thread before its results do (as a Python
    // worker's writes reach the terminal before its result): a caller that terminates the
    // pool once the call settles must not lose the lines.
    if (outputPending()) await flushOutput(() => true, FLUSH_MS);
    const settled = native.boardComplete(init.pool, job, index, ok, bytes);
    // About to look at the board again: the pool need not wake anyone for its next job.
    Atomics.store(polling, pollingAt, 1);
    if (settled !== 0) {
      specs.delete(job);
      views.delete(job);
    }
    if (settled === 1) {
      // A caller polling for this job takes the results itself (see Bell.Waits).
      if (Atomics.compareExchange(bell, Bell.Waits, job | 0, 0) !== (job | 0)) port.postMessage([job, index, Note.JobDone, nsPerItem]);
    } else if (settled === 2) {
      port.postMessage([job, index, Note.Released]);
    } else if (settled === 3) {
      // The job is gone (dropped and released elsewhere): nobody wants this chunk.
    } else if (!ok) {
      port.postMessage([job, index, Note.ChunkFailed, nsPerItem]);
    } else if (spec.each) {
      port.postMessage([job, index, Note.ChunkDone, nsPerItem]);
    }
    if (viewsMade >= VIEWS_PER_TURN) await releaseViews();
    if (++chunksRun >= init.maxTasksPerChild) {
      Atomics.store(polling, pollingAt, 0);
      port.postMessage([0, 0, Note.Retiring]);
      await flushOutput(() => true, FLUSH_MS);
      process.exit(0);
    }
  }
}

/**
 * Runs the express lane's call (see express.ts): the function named by id, on the
 * arguments in the lane; writes the result (or the error) back, then hands it over: to the
 * polling caller, or, if it stopped polling, with a note.
 */
async function runExpress(lane: Int32Array, buffers: SharedBuffers, port: NonNullable<typeof parentPort>, slot: Slot): Promise<void> {
  const began = performance.now();
  const f64 = new Float64Array(lane.buffer, 0, 16);
  let kind: XResult;
  let bytes: Buffer | undefined;
  slot.at[slot.worker] = 0;
  let spec: FnSpec | undefined;
  try {
    spec = buffers.fn(lane[X.FnId]!);
    // Copied out of the lane, which is the caller's again once the result is handed over.
    const args = decodeArgs(new Uint8Array(lane.buffer, X.Data, lane[X.ArgLen]!), takeSpare)[1][0]!;
    if (lane[X.Call] === XCall.Map) {
      // A small map: the same loop as a shared chunk's, writing its numbers straight into
      // the lane (the input was copied out above).
      const input = args[0] as Float64Array | Float32Array | Int32Array;
      const n = input.length;
      const output = input instanceof Float32Array ? new Float32Array(lane.buffer, X.Data, n) : new Float64Array(lane.buffer, X.Data, n);
      const [ok, out] = await runShared({ f: spec, star: false, each: false, start: false }, [input, output], 0, n, slot);
      if (ok && out.equals(IN_OUTPUT_BYTES)) {
        kind = XResult.Numbers;
        lane[X.ResultLen] = n;
      } else {
        kind = ok ? XResult.Value : XResult.Error; // results as a chunk's (encodeResults), or its error
        bytes = out;
      }
    } else {
      const fn = compiledFn(spec) ?? (await resolveFn(spec));
      let r = fn(...args);
      if (isThenable(r)) r = await r;
      if (typeof r === 'number') {
        kind = XResult.Number;
        f64[X.NumberF64] = r;
      } else {
        try {
          bytes = encodeAny(r);
          kind = XResult.Value;
        } catch (err) {
          kind = XResult.Error;
          bytes = encodeError(uncloneable(err, -1), 0, []);
        }
      }
    }
  } catch (thrown) {
    const { err, serialization } = spec ? explain(thrown, spec) : { err: thrown, serialization: false };
    kind = XResult.Error;
    bytes = encodeError(err, 0, [], serialization);
  }
  f64[X.NsF64] = (performance.now() - began) * 1e6;
  // The call's output first (see main()); a caller polling the lane stops polling after
  // a while, takes the output, and gets the result as a note.
  if (outputPending()) await flushOutput(() => true, FLUSH_MS);
  let posted: Buffer | undefined;
  if (bytes !== undefined && bytes.length > lane.byteLength - X.Data) {
    posted = bytes;
    lane[X.ResultLen] = kind === XResult.Error ? -1 : 0;
    kind = XResult.Posted;
  } else if (bytes !== undefined) {
    new Uint8Array(lane.buffer, X.Data, bytes.length).set(bytes);
    lane[X.ResultLen] = bytes.length;
  }
  lane[X.ResultKind] = kind;
  if (posted !== undefined || Atomics.compareExchange(lane, X.State, XState.Taken, XState.Done) !== XState.Taken) {
    // The caller stopped polling (or the result is too large for the lane): a note.
    Atomics.store(lane, X.State, XState.Done);
    port.postMessage([Msg.Express, posted] satisfies WorkerMessage);
  }
}

/** What a shared chunk's results encode to when they are all in the output. */
const IN_OUTPUT_BYTES = encodeInOutput();

/** A {@link Process}'s thread: run the target once, report what it threw, end. */
async function runProcess(init: ProcessInit): Promise<void> {
  setIdentity(init.name, 0);
  try {
    const fn = await resolveFn(init.f);
    const r = fn(...(decodeValue(init.args, new SharedBuffers(init.sabs).resolve) as unknown[]));
    if (isThenable(r)) await r;
    // One turn of the event loop, so a promise the target rejected without handling it is
    // reported (as an uncaught error: exit code 1) rather than lost.
    await new Promise((resolve) => setImmediate(resolve));
  } catch (thrown) {
    const { err, serialization } = explain(thrown, init.f);
    parentPort!.postMessage([Msg.ProcessError, encodeError(err, -1, [], serialization)] satisfies ProcessMessage);
    process.exit(1);
  }
  process.exit(0);
}

const data = workerData as { ferropool?: WorkerInit; ferropoolProcess?: ProcessInit } | undefined;
if (parentPort && data?.ferropool) {
  main(data.ferropool).catch((err: unknown) => {
    // The loop itself failed (a bug, not a task's error): exit so the pool sees a crash
    // and replaces this worker; the chunk it held fails with WorkerCrashedError.
    process.stderr.write(`ferropool worker: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(71);
  });
} else if (parentPort && data?.ferropoolProcess) {
  void runProcess(data.ferropoolProcess);
}
