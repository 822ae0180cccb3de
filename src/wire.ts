/**
 * What travels between the pool's thread and its workers, through the task board:
 * job specs, chunk payloads and results, and errors.
 * @internal
 */
import { deserialize, serialize } from 'node:v8';

/** What a job runs: a shipped function's source, or a module's export. */
export type FnSpec = { k: 'fn'; src: string; name: string } | { k: 'mod'; url: string; name: string };

/** A job's description, as the board stores it (JSON). */
export interface JobSpec {
  /** The function. */
  f: FnSpec;
  /** Spread each item as the arguments (starmap, apply). */
  star: boolean;
  /** Fold each chunk with `fn(acc, item)` (reduce): a chunk's result is `[acc]`. */
  fold?: boolean;
  /** Post a message for every finished chunk (imap, onProgress), not only for the job. */
  each: boolean;
  /** Post a message when the first chunk starts (for a timeout counted from the start). */
  start: boolean;
  /** Each item is its own call (batched applies): an item that throws fails alone; a
   * chunk's results are `[true, value]` or `[false, WireError]` per item. */
  isolate?: boolean;
}

/** One item's outcome in an `isolate` job. */
export type ItemOutcome = [true, unknown] | [false, WireError];

/** The messages a worker posts to the pool's thread: `[job, chunk, kind]`. */
export const enum Note {
  /** The whole job has settled. */
  JobDone = 0,
  /** A job its caller dropped has no running chunk any more: its arrays may go. */
  Released = 5,
  /** One chunk has settled (jobs with `each`). */
  ChunkDone = 1,
  /** A chunk failed. */
  ChunkFailed = 2,
  /** The job's first chunk started (jobs with `start`). */
  Started = 3,
  /** The worker is retiring after `maxTasksPerChild` chunks. */
  Retiring = 4,
}

/** A chunk's items: numbers travel as one typed array, anything else as an array. */
/** Numbers travel in a typed array: Float64Array, Float32Array, or Int32Array when every
 * number of a plain array is a small integer (so the worker computes on integers, as the
 * caller's engine would, not on doubles). */
export type NumericItems = Float64Array | Float32Array | Int32Array;
export type Items = readonly unknown[] | NumericItems;

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
  [TAG_F32]: Float32Array,
  [TAG_I32]: Int32Array,
};

function encodeTyped(start: number, items: NumericItems): Buffer {
  const bytes = Buffer.allocUnsafeSlow(HEADER + items.byteLength);
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

/** Encodes a chunk: its first item's input position and its items (a view is fine). */
export function encodeChunk(start: number, items: Items): Buffer {
  return isNumeric(items) ? encodeTyped(start, items) : serialize([start, items]);
}

export function decodeChunk(bytes: Uint8Array): [number, Items] {
  if (TYPED[bytes[0]!]) {
    return [new DataView(bytes.buffer, bytes.byteOffset, HEADER).getFloat64(8, true), decodeTyped(bytes)];
  }
  return deserialize(bytes);
}

export function encodeResults(results: Items): Buffer {
  return isNumeric(results) ? encodeTyped(0, results) : serialize(results);
}

export function decodeResults(bytes: Uint8Array): Items {
  if (bytes[0] === TAG_SHARED) return IN_OUTPUT;
  return TYPED[bytes[0]!] ? decodeTyped(bytes) : deserialize(bytes);
}

/** An error as it crosses a thread: enough to rebuild it with its class, props and stack. */
export interface WireError {
  name: string;
  message: string;
  stack: string | undefined;
  props: Record<string, unknown>;
  /** The input position of the item that threw. */
  index: number;
  /** The results of the chunk's items before the one that threw (for imap). */
  partial: Items;
  /** Set when the function could not be shipped or compiled. */
  serialization?: boolean;
}

/** What a task threw at input position `index`, as a cloneable object. */
export function toWireError(err: unknown, index: number, partial: Items, serialization = false): WireError {
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as Record<string, unknown>;
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(e)) {
    if (key === 'message' || key === 'stack' || key === 'name') continue;
    try {
      props[key] = deserialize(serialize(e[key]));
    } catch {
      props[key] = String(e[key]);
    }
  }
  return {
    name: typeof e.name === 'string' ? e.name : err instanceof Error ? err.name : 'Error',
    message: typeof e.message === 'string' ? e.message : String(err),
    stack: typeof e.stack === 'string' ? e.stack : undefined,
    props,
    index,
    partial,
    serialization,
  };
}

/** Serialises what a task threw at input position `index`. */
export function encodeError(err: unknown, index: number, partial: Items, serialization = false): Buffer {
  const wire = toWireError(err, index, partial, serialization);
  try {
    return serialize(wire);
  } catch {
    return serialize({ ...wire, partial: [] });
  }
}

export function decodeError(bytes: Uint8Array): WireError {
  return deserialize(bytes);
}
