/**
 * Running a chunk on a worker thread: the items of an ordinary chunk, a shared chunk (the
 * caller's typed arrays, read and written in place), a reduce's fold, or a batch of applies
 * (each item its own call); results and errors encoded for the way back.
 * @internal
 */
import { compiledFn, explain, resolveFn } from './compile';
import type { FnSpec, ItemOutcome, Items, JobSpec } from '../wire/protocol';
import { isThenable } from '../util/thenable';
import { encodeInOutput, encodeOutcomes, encodeResults, isNumeric } from '../wire/payloads';
import { encodeError, toWireError, uncloneable } from '../wire/errors';
import { explainCloneError } from '../util/clone';

/** A shared chunk's outcome when its results are all in the output: one buffer for all
 * (the board copies what it is given; the express lane compares it by identity). */
export const IN_OUTPUT: Buffer = encodeInOutput();

/**
 * `results[i] = fn(items[i])` from `from` while results are plain values (a number, for a
 * numeric `results`); returns the index of the first item that needs the careful path, or
 * `items.length`. That item's result is left in {@link pendingResult} (never computed twice).
 */
function mapSync(fn: (...x: unknown[]) => unknown, items: Items, results: unknown[] | Float64Array, from: number, start: number, slot: Slot, args: readonly unknown[] | undefined): number {
  const at = slot.at;
  const w = slot.worker;
  const numeric = results instanceof Float64Array;
  for (let i = from; i < items.length; i++) {
    at[w] = start + i;
    const r = args === undefined ? fn(items[i]) : fn(items[i], ...args);
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

/** Runs a chunk's items in order; the first that throws fails the chunk. `args` (the call's
 * `opts.args`) are passed after each item's own arguments.
 * Returns `[ok, bytes]`: the encoded results, or the encoded error. */
export async function runChunk(spec: JobSpec, items: Items, start: number, slot: Slot, args?: readonly unknown[]): Promise<[boolean, Buffer]> {
  let position = start;
  let results: unknown[] | Float64Array = isNumeric(items) ? new Float64Array(items.length) : new Array(items.length);
  try {
    const fn = compiledFn(spec.f) ?? (await resolveFn(spec.f));
    if (spec.fold) return await foldChunk(fn, spec.f, items, start, slot);
    for (let i = 0; i < items.length; i++) {
      // The fast path: a plain synchronous loop until a result needs more care (a promise,
      // or the first non-number in a numeric chunk).
      const stop = spec.star ? -1 : mapSync(fn, items, results, i, start, slot, args);
      if (stop === items.length) break;
      if (stop >= 0) i = stop;
      position = start + i;
      slot.at[slot.worker] = position;
      const item = items[i];
      let r = stop >= 0 ? pendingResult.value : spec.star ? (args === undefined ? fn(...(item as unknown[])) : fn(...(item as unknown[]), ...args)) : args === undefined ? fn(item) : fn(item, ...args);
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
    return [false, encodeError(uncloneable(cloneError(results[bad]) ?? err, start + bad), start + bad, (results as unknown[]).slice(0, bad))];
  }
}

/** A chunk's outcome: `[ok, bytes]`, the encoded results (or {@link IN_OUTPUT}) or error. */
export type Outcome = [boolean, Buffer];

/**
 * Runs a shared chunk: items `[start, start + count)` of the caller's typed array, results
 * written in place to its output array while they are numbers. The first result that is
 * not a number turns the chunk's results into an array sent back the ordinary way.
 *
 * The outcome comes at once when the function was compiled here already and returned a
 * number for every item (a hot loop's small map through the express lane pays no promise),
 * else in a promise.
 */
export function runShared(spec: JobSpec, views: SharedViews, start: number, count: number, slot: Slot, args?: readonly unknown[]): Outcome | Promise<Outcome> {
  const fn = compiledFn(spec.f);
  if (fn === undefined) {
    return resolveFn(spec.f).then(
      (f) => sharedWith(f, spec, views, start, count, slot, args),
      (thrown: unknown) => sharedFailed(spec, thrown, start, start, undefined, views[1]),
    );
  }
  return sharedWith(fn, spec, views, start, count, slot, args);
}

function sharedWith(fn: (...x: unknown[]) => unknown, spec: JobSpec, views: SharedViews, start: number, count: number, slot: Slot, args: readonly unknown[] | undefined): Outcome | Promise<Outcome> {
  const end = start + count;
  let stop: number;
  try {
    stop = mapNumbers(fn, views[0], views[1], start, end, slot, args);
  } catch (thrown) {
    // The item that threw: the fast loop records it in the slot only.
    return sharedFailed(spec, thrown, start, Math.max(start, slot.at[slot.worker]!), undefined, views[1]);
  }
  return stop === end ? [true, IN_OUTPUT] : sharedRest(fn, spec, views, start, end, stop, slot, args);
}

/** A shared chunk from `position`, the first item whose result was not a number (left in
 * {@link stopped}): awaited if a promise, then the rest. */
async function sharedRest(fn: (...x: unknown[]) => unknown, spec: JobSpec, [input, output]: SharedViews, start: number, end: number, position: number, slot: Slot, args: readonly unknown[] | undefined): Promise<Outcome> {
  let spill: unknown[] | undefined;
  try {
    for (;;) {
      let r = stopped.value;
      stopped.value = undefined;
      if (isThenable(r)) r = await r;
      if (spill === undefined && typeof r === 'number') output[position] = r;
      else (spill ??= Array.from(output.subarray(start, position))).push(r);
      position++;
      if (spill !== undefined) {
        for (; position < end; position++) {
          slot.at[slot.worker] = position;
          let v = args === undefined ? fn(input[position]) : fn(input[position], ...args);
          if (isThenable(v)) v = await v;
          spill.push(v);
        }
        break;
      }
      if (position === end) break;
      // The fast path again: a plain loop while the results are numbers returned synchronously.
      position = mapNumbers(fn, input, output, position, end, slot, args);
      if (position === end) break;
    }
  } catch (thrown) {
    return sharedFailed(spec, thrown, start, Math.max(position, slot.at[slot.worker]!), spill, output);
  }
  if (spill === undefined) return [true, IN_OUTPUT];
  try {
    return [true, encodeResults(spill)];
  } catch (err) {
    let bad = 0;
    while (bad < spill.length && clonable(spill[bad])) bad++;
    return [false, encodeError(uncloneable(cloneError(spill[bad]) ?? err, start + bad), start + bad, spill.slice(0, bad))];
  }
}

/** A shared chunk that threw at `position`: its error, with the results before it. */
function sharedFailed(spec: JobSpec, thrown: unknown, start: number, position: number, spill: unknown[] | undefined, output: SharedViews[1]): Outcome {
  const { err, serialization } = explain(thrown, spec.f);
  const partial = spill ?? Array.from(output.subarray(start, position));
  return [false, encodeError(err, position, partial.slice(0, position - start), serialization)];
}

/** Where a worker records the input position it runs (read by the pool if it dies). */
export interface Slot {
  readonly at: Float64Array;
  readonly worker: number;
}

/** The result at which a {@link mapNumbers} loop stopped (not a number), so it is not
 * computed twice. */
const stopped = { value: undefined as unknown };

/**
 * `output[i] = fn(input[i])` from `from` while each result is a number; returns where it
 * stopped: `end`, or the item whose result is not a number (that result is left in
 * {@link stopped}). A throw propagates, with the slot naming the item.
 *
 * Each function gets a loop of its own (see {@link loopFor}): in one shared loop the call
 * `fn(...)` would see every function a worker ever ran, and V8 could not inline any of
 * them; in its own loop the call site sees one function, and a small one like
 * `x => x * x` is inlined into it (much faster per element).
 */
function mapNumbers(fn: (...x: unknown[]) => unknown, input: SharedViews[0], output: SharedViews[1], from: number, end: number, slot: Slot, args: readonly unknown[] | undefined): number {
  return loopFor(fn, args?.length ?? 0)(input, output, from, end, slot.at, slot.worker, stopped, args);
}

/** Chunks up to this long record every element's position for crash reports. */
const EXACT_SLOT_CHUNK = 4096;
/** Longer ones record it once per this many elements. */
const BLOCK = 64;

type NumberLoop = (input: SharedViews[0], output: SharedViews[1], from: number, end: number, at: Float64Array, w: number, out: typeof stopped, args: readonly unknown[] | undefined) => number;
/** By function, then by the number of its extra arguments (`opts.args`). */
const loops = new WeakMap<(...x: unknown[]) => unknown, NumberLoop[]>();
/** Extra arguments up to this many are passed one by one (locals the JIT sees as
 * constants for the loop); more are spread. */
const NAMED_ARGS = 8;

/** The loop of {@link mapNumbers} made for `fn` alone (its own code, so its own feedback),
 * passing `argc` extra arguments after each element. */
function loopFor(fn: (...x: unknown[]) => unknown, argc: number): NumberLoop {
  let byArgc = loops.get(fn);
  if (byArgc === undefined) loops.set(fn, (byArgc = []));
  const key = argc > NAMED_ARGS ? NAMED_ARGS + 1 : argc;
  let loop = byArgc[key];
  if (loop === undefined) {
    const names = Array.from({ length: Math.min(argc, NAMED_ARGS) }, (_, k) => `a${k}`);
    const locals = argc === 0 || argc > NAMED_ARGS ? '' : `const ${names.map((a, k) => `${a} = args[${k}]`).join(', ')};`;
    const extra = argc === 0 ? '' : argc > NAMED_ARGS ? ', ...args' : `, ${names.join(', ')}`;
    loop = new Function(
      'fn',
      // The crash-report slot costs a store per element (a large share of `x => x * x`): a long
      // chunk updates it once per block of BLOCK elements (a worker that dies reports the
      // block's first position), a short one every element; a throw records its own. It
      // returns a number, and writes `out` only on the rare way out: a long chunk runs in
      // code compiled on the stack (OSR) before the code after the loop ever ran, and a
      // property store there, with no type feedback, deoptimized the loop on every chunk.
      `return function mapNumbers(input, output, from, end, at, w, out, args) {
        ${locals}
        let i = from;
        try {
          if (end - from > ${EXACT_SLOT_CHUNK}) {
            while (i < end) {
              at[w] = i;
              const stop = Math.min(i + ${BLOCK}, end);
              for (; i < stop; i++) {
                const r = fn(input[i]${extra});
                if (typeof r !== 'number') {
                  at[w] = i;
                  out.value = r;
                  return i;
                }
                output[i] = r;
              }
            }
          } else {
            for (; i < end; i++) {
              at[w] = i;
              const r = fn(input[i]${extra});
              if (typeof r !== 'number') {
                out.value = r;
                return i;
              }
              output[i] = r;
            }
          }
        } catch (err) {
          at[w] = i;
          throw err;
        }
        return end;
      };`,
    )(fn) as NumberLoop;
    byArgc[key] = loop;
  }
  return loop;
}

export type SharedViews = [Float64Array | Float32Array | Int32Array, Float64Array | Float32Array];

/** Folds a chunk left to right with `fn(acc, item)` (a parallel reduce's first level). */
export async function foldChunk(fn: (...args: unknown[]) => unknown, f: FnSpec, items: Items, start: number, slot: Slot): Promise<[boolean, Buffer]> {
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
    return [false, encodeError(uncloneable(cloneError(acc) ?? err, position), position, [])];
  }
}

/** Runs a chunk whose items are separate calls (batched applies): each settles alone. */
export async function runIsolated(spec: JobSpec, items: Items, start: number, slot: Slot): Promise<[boolean, Buffer]> {
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
    return explainCloneError(err, value);
  }
}
