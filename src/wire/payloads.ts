/**
 * How what travels between threads is encoded: chunk payloads and results, arguments, and
 * values that refer to shared memory (errors are errors.ts's; the messages and types
 * themselves are in protocol.ts).
 * @internal
 */
import { CloneSerializer, cloneMessage, deserializeOwn, explainCloneError, serializeClone } from '../util/clone';
import { decodeAny, decodePlain, encodeAny, encodePlain } from '../util/codec';
import type { ItemOutcome, Items, NumericItems } from './protocol';
import { fromState, isShared } from '../shared/state';
import { decodeArgs, encodeArgs, TAG_ARGS } from './args';

export { type ArgAlloc, type ArgArrayConstructor, ArgTarget, decodeArgs, encodeArgs, encodeArgsInto } from './args';

/*
 * Chunks and results of numbers travel as raw bytes: a 16-byte header (a tag byte, then the
 * chunk's start position as a float64 at offset 8) and the elements, so neither side pays
 * for V8's serialiser and the receiver reads them through a view, without copying. Anything
 * else is V8's structured-clone serialisation, whose first byte is always 0xFF.
 */
const HEADER = 16;
const TAG_F64 = 1;
const TAG_F32 = 2;
const TAG_I32 = 3;
const TYPED: Record<number, Float64ArrayConstructor | Float32ArrayConstructor | Int32ArrayConstructor> = {
  [TAG_F64]: Float64Array,
  7: Float64Array, // TAG_OUTCOMES: decoded by decodeResults, not as items
  [TAG_F32]: Float32Array,
  [TAG_I32]: Int32Array,
};

function encodeTyped(start: number, items: NumericItems): Buffer {
  // Pooled allocation is fine: the addon copies what it is given.
  const bytes = Buffer.allocUnsafe(HEADER + items.byteLength);
  bytes[0] = items instanceof Float64Array ? TAG_F64 : items instanceof Float32Array ? TAG_F32 : TAG_I32;
  bytes.writeDoubleLE(start, 8);
  bytes.set(new Uint8Array(items.buffer, items.byteOffset, items.byteLength), HEADER);
  return bytes;
}

function decodeTyped(bytes: Uint8Array): NumericItems {
  const Ctor = TYPED[bytes[0]!]!;
  const offset = bytes.byteOffset + HEADER;
  const length = (bytes.byteLength - HEADER) / Ctor.BYTES_PER_ELEMENT;
  if (offset % Ctor.BYTES_PER_ELEMENT === 0) return new Ctor(bytes.buffer as ArrayBuffer, offset, length);
  return new Ctor(bytes.slice(HEADER).buffer as ArrayBuffer, 0, length);
}

export function isNumeric(items: unknown): items is NumericItems {
  return items instanceof Float64Array || items instanceof Float32Array || items instanceof Int32Array;
}

/** A chunk whose items are read from, and whose results are written to, the caller's typed
 * arrays in place (mapped into the worker): only its position and length travel. */
const TAG_SHARED = 4;

/** What a shared chunk's results decode to: "they are in the output array". */
export const IN_OUTPUT: Items = Object.freeze([]) as Items;

export function encodeSharedChunk(start: number, count: number): Buffer {
  const bytes = Buffer.alloc(HEADER + 8);
  bytes[0] = TAG_SHARED;
  bytes.writeDoubleLE(start, 8);
  bytes.writeDoubleLE(count, HEADER);
  return bytes;
}

/** `[start, count]` of a shared chunk, or undefined for any other payload. */
export function sharedChunk(bytes: Uint8Array): [number, number] | undefined {
  if (bytes[0] !== TAG_SHARED) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return [view.getFloat64(8, true), view.getFloat64(HEADER, true)];
}

/** The results of a shared chunk whose every result is a number, written in place. */
export function encodeInOutput(): Buffer {
  const bytes = Buffer.alloc(HEADER);
  bytes[0] = TAG_SHARED;
  return bytes;
}

/** Encodes a chunk: its first item's input position and its items (a view is fine).
 * Shared memory among the items (see {@link encodeValue}) is added to `refs`. With
 * `parts`, large typed arrays among argument lists are pushed there (views of the caller's
 * memory, for the addon to copy once: see encodeArgs). */
export function encodeChunk(start: number, items: Items, refs?: SharedRefs, parts?: Uint8Array[]): Uint8Array {
  if (isNumeric(items)) return encodeTyped(start, items);
  return encodeArgs(start, items, parts) ?? encodeValue([start, items], refs);
}

/** Decodes a chunk, with the parts it was submitted with (see {@link encodeChunk}). */
export function decodeChunk(bytes: Uint8Array, resolve?: ResolveShared, parts?: readonly Uint8Array[]): [number, Items] {
  if (TYPED[bytes[0]!]) {
    return [new DataView(bytes.buffer, bytes.byteOffset, HEADER).getFloat64(8, true), decodeTyped(bytes)];
  }
  if (bytes[0] === TAG_ARGS) return decodeArgs(bytes, undefined, parts);
  return decodeValue(bytes, resolve) as [number, Items];
}

/*
 * Shared memory in arguments. Structured clone (V8's serialiser) cannot carry a
 * SharedArrayBuffer through bytes, so an argument that holds one (a Lock, Value or Queue, a
 * SharedArrayBuffer, a typed array over one) travels as a stand-in naming the buffer by a
 * process-wide id, and the buffer itself is posted to the workers once. Arguments without
 * shared memory pay nothing: the plain serialiser runs first and only stops if it meets one.
 */

/** The SharedArrayBuffers a payload refers to, by id. */
export type SharedRefs = Map<number, SharedArrayBuffer>;
/** A worker's way to find a SharedArrayBuffer by id. */
export type ResolveShared = (id: number) => SharedArrayBuffer;

/** Marks a payload with shared-memory stand-ins (followed by V8's bytes). */
const TAG_REFS = 5;
/** The same, in the plain-data codec (see codec.ts; its first byte is replaced by this tag). */
const TAG_REFS_PLAIN = 9;
const SAB_KEY = '\u0000ferropool.sab';
const VIEW_KEY = '\u0000ferropool.view';
const SHARED_SEEN = Symbol('shared memory');

/** V8's serialiser (Node's, which writes typed arrays itself), stopping at shared memory.
 * (The two hooks are Node's documented overridable methods; @types/node omits them.) */
const writeHostObject = (CloneSerializer.prototype as unknown as { _writeHostObject(o: object): void })._writeHostObject;
class SharedSpotter extends CloneSerializer {
  _getSharedArrayBufferId(): never {
    throw SHARED_SEEN;
  }
  _writeHostObject(object: object): void {
    if (ArrayBuffer.isView(object) && object.buffer instanceof SharedArrayBuffer) throw SHARED_SEEN;
    writeHostObject.call(this, object);
  }
}

const ids = new WeakMap<SharedArrayBuffer, number>();
let nextId = 1;

function idOf(sab: SharedArrayBuffer, refs: SharedRefs): number {
  let id = ids.get(sab);
  if (id === undefined) ids.set(sab, (id = nextId++));
  refs.set(id, sab);
  return id;
}

type Ctor = new (b: SharedArrayBuffer, o: number, n: number) => ArrayBufferView;
const VIEWS: Record<string, Ctor> = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView,
};

/** A copy of `value` whose shared memory is replaced by stand-ins (arrays and plain
 * objects are copied; shared objects travel as their state). */
function swapOut(value: unknown, refs: SharedRefs, depth: number): unknown {
  if (typeof value !== 'object' || value === null || depth > 64) return value;
  if (value instanceof SharedArrayBuffer) return { [SAB_KEY]: idOf(value, refs) };
  if (ArrayBuffer.isView(value)) {
    if (!(value.buffer instanceof SharedArrayBuffer)) return value;
    const length = value instanceof DataView ? value.byteLength : (value as unknown as { length: number }).length;
    return { [VIEW_KEY]: [value.constructor.name, idOf(value.buffer, refs), value.byteOffset, length] };
  }
  if (Array.isArray(value)) return value.map((v) => swapOut(v, refs, depth + 1));
  const proto = Object.getPrototypeOf(value);
  // Other objects (a Map, a class instance) go as they are: structured clone refuses the
  // shared memory inside them with its own error.
  if (proto !== Object.prototype && proto !== null && !isShared(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = swapOut((value as Record<string, unknown>)[key], refs, depth + 1);
  return out;
}

function swapIn(value: unknown, resolve: ResolveShared, depth: number): unknown {
  if (typeof value !== 'object' || value === null || depth > 64) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = swapIn(value[i], resolve, depth + 1);
    return value;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const o = value as Record<string, unknown>;
  if (typeof o[SAB_KEY] === 'number') return resolve(o[SAB_KEY]);
  const view = o[VIEW_KEY] as [string, number, number, number] | undefined;
  if (Array.isArray(view)) return new VIEWS[view[0]]!(resolve(view[1]), view[2], view[3]);
  for (const key of Object.keys(o)) o[key] = swapIn(o[key], resolve, depth + 1);
  return fromState(o);
}

/**
 * V8's structured clone of `value`; shared memory in it (a SharedArrayBuffer, a typed
 * array over one, a Lock, Value or Queue) is shared, not copied, and its buffers are added
 * to `refs` for the caller to post to the workers. Without `refs`, shared memory is refused.
 */
export function encodeValue(value: unknown, refs?: SharedRefs): Buffer {
  const plain = encodePlain(value);
  if (plain !== undefined) return plain;
  if (refs !== undefined) {
    // Plain data once its shared memory is swapped for stand-ins (a Lock, Value or Queue
    // argument): the plain codec still, not V8's serialiser (see codec.ts).
    const swapped = encodePlain(swapOut(value, refs, 0));
    if (swapped !== undefined) {
      swapped[0] = TAG_REFS_PLAIN;
      return swapped;
    }
  }
  const s = new SharedSpotter();
  try {
    s.writeHeader();
    s.writeValue(value);
    return s.releaseBuffer();
  } catch (err) {
    if (err !== SHARED_SEEN) throw explainCloneError(err, value);
  }
  if (refs === undefined) throw new TypeError('#<SharedArrayBuffer> could not be cloned.');
  return Buffer.concat([Buffer.of(TAG_REFS), serializeClone(swapOut(value, refs, 0))]);
}

/** Decodes what {@link encodeValue} wrote, finding shared buffers with `resolve`. */
export function decodeValue(bytes: Uint8Array, resolve?: ResolveShared): unknown {
  const tag = bytes[0];
  if (tag !== TAG_REFS && tag !== TAG_REFS_PLAIN) return decodeAny(bytes);
  if (!resolve) throw new Error('ferropool: a payload with shared memory reached a thread that cannot resolve it');
  return swapIn(tag === TAG_REFS ? deserializeOwn(bytes.subarray(1)) : decodePlain(bytes), resolve, 0);
}

export function encodeResults(results: Items): Buffer {
  return isNumeric(results) ? encodeTyped(0, results) : encodeAny(results);
}

export function decodeResults(bytes: Uint8Array): Items {
  if (bytes[0] === TAG_SHARED) return IN_OUTPUT;
  if (bytes[0] === TAG_OUTCOMES) return Array.from(decodeTyped(bytes), (v): ItemOutcome => [true, v]);
  return TYPED[bytes[0]!] ? decodeTyped(bytes) : (decodeAny(bytes) as Items);
}

/** The outcomes of an `isolate` chunk whose every call returned a number: raw float64s. */
const TAG_OUTCOMES = 7;

/** Encodes an `isolate` chunk's outcomes. */
export function encodeOutcomes(outcomes: ItemOutcome[]): Buffer {
  for (const o of outcomes) if (!o[0] || typeof o[1] !== 'number') return encodeAny(outcomes);
  const bytes = encodeTyped(0, Float64Array.from(outcomes, (o) => o[1] as number));
  bytes[0] = TAG_OUTCOMES;
  return bytes;
}

/**
 * A call's `opts.args`, encoded once for every job of the call: `text` is the bytes of
 * {@link encodeValue} in base64 (they travel in the job's spec, which each worker reads
 * once per job), `refs` the shared memory they name. An argument that cannot be sent is a
 * TypeError naming `opts.args[i]`, with what went wrong as its `cause`.
 */
export interface CallArgs {
  readonly list: readonly unknown[];
  readonly text: string;
  readonly refs: SharedRefs;
}

export function encodeCallArgs(args: readonly unknown[], method: string): CallArgs {
  const refs: SharedRefs = new Map();
  let bytes: Buffer;
  try {
    bytes = encodeValue(args, refs);
  } catch (err) {
    for (let i = 0; i < args.length; i++) {
      try {
        encodeValue(args[i], new Map());
      } catch (cause) {
        throw new TypeError(`${method}: opts.args[${i}] cannot be sent to a worker: ${cloneMessage(`opts.args[${i}]`, cause, true)} (send structured-clone values; typed arrays on sharedArray(), Lock, Value and Queue are shared)`, { cause });
      }
    }
    throw new TypeError(`${method}: opts.args cannot be sent to a worker: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return { list: args, text: bytes.toString('base64'), refs };
}

/** Decodes what {@link encodeCallArgs} wrote (on a worker). */
export function decodeCallArgs(text: string, resolve?: ResolveShared): unknown[] {
  return decodeValue(Buffer.from(text, 'base64'), resolve) as unknown[];
}
