/**
 * Argument lists of numbers and typed arrays as raw bytes (see {@link encodeArgs}), and
 * large typed arrays as parts of their own: what a task's numeric arguments cost is then
 * about one copy on each side.
 * @internal
 */
import { TYPED_ARRAYS, typedKind } from '../util/typed-arrays';

/** The first byte of an argument-list payload. */
export const TAG_ARGS = 6;
const HEADER = 16;
const ARG_NUMBER = 0;
/** The kinds an argument can have (its index), after a number. The first three travel
 * inline (the express lane too); any of them travels as a part when large. */
const ARG_KINDS = [undefined, ...TYPED_ARRAYS, DataView] as const;
const ARG_DATAVIEW = ARG_KINDS.length - 1;
/** The kinds that travel inline (the numeric arrays of `apply(fn, [row])` in a hot loop). */
const INLINE_KINDS = 4;
/** Added to a kind: its bytes are the payload's next part, not inline. */
const IN_PART = 0x80;
/** Raw encoding is for short argument lists; anything longer goes through V8's serialiser. */
const MAX_RAW_ARGS = 16;
/**
 * A typed array at least this large travels as a part of its own (when the payload can have
 * parts), lent to the board while the call is made: a worker that claims the chunk then copies
 * it straight from the caller's array into a buffer of its own, which becomes the task's array
 * as it is (one copy in all); the caller copies the parts of chunks no worker claimed yet into
 * the board (then one copy each side). Inline bytes cost two, into the payload and out of it.
 */
export const PART_BYTES = 16 * 1024;

/** A numeric array type an argument can have inline. */
export type ArgArrayConstructor = Float64ArrayConstructor | Float32ArrayConstructor | Int32ArrayConstructor;

/** The kind of `x` (see {@link ARG_KINDS}), -1 when it cannot be an argument here, or a
 * view over shared memory (that is shared, not copied). */
function argKind(x: unknown): number {
  if (typeof x === 'number') return ARG_NUMBER;
  if (typeof x !== 'object' || x === null || !ArrayBuffer.isView(x)) return -1;
  let kind: number;
  if (x instanceof Float64Array) kind = 1;
  else if (x instanceof Float32Array) kind = 2;
  else if (x instanceof Int32Array) kind = 3;
  else {
    // Other kinds only as they are (a Buffer is a Uint8Array that structured clone
    // would not give back as a Buffer: V8's serialiser keeps it one).
    const typed = typedKind(x);
    if (typed >= 0) kind = typed + 1;
    else if (Object.getPrototypeOf(x) === DataView.prototype) kind = ARG_DATAVIEW;
    else return -1;
  }
  return x.buffer instanceof SharedArrayBuffer ? -1 : kind;
}

/** The bytes of a typed array or DataView. */
function bytesOf(x: ArrayBufferView): Uint8Array {
  return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
}

/** A view's length as it is written: elements, or bytes for a DataView. */
function lengthOf(x: ArrayBufferView): number {
  return x instanceof DataView ? x.byteLength : (x as Uint8Array).length;
}

/**
 * Where {@link encodeArgsInto} writes again and again (the express lane's memory): its
 * bytes, a DataView of them, and a view of them for each inline array kind, made once, so a
 * call's arguments are written with no view made per call. Its memory must be 8-byte aligned.
 */
export class ArgTarget {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly f64: Float64Array;
  readonly f32: Float32Array;
  readonly i32: Int32Array;

  constructor(bytes: Uint8Array) {
    const { buffer, byteOffset, byteLength } = bytes;
    this.bytes = bytes;
    this.view = new DataView(buffer, byteOffset, byteLength);
    this.f64 = new Float64Array(buffer, byteOffset, byteLength >> 3);
    this.f32 = new Float32Array(buffer, byteOffset, byteLength >> 2);
    this.i32 = new Int32Array(buffer, byteOffset, byteLength >> 2);
  }
}

/**
 * Argument lists of numbers and typed arrays as raw bytes, 8-byte aligned: after the
 * header (the tag, then `start` as a float64 at offset 8), the number of lists; per list its
 * length; per argument a kind and a length (two uint32) and its data (a float64, or the
 * array's elements padded to 8 bytes, or nothing for an array in a part). Undefined when
 * the lists hold anything else.
 *
 * With `parts`, arrays of {@link PART_BYTES} or more (of any typed-array kind, or a
 * DataView) are not copied here but pushed there as views of the caller's memory, for the
 * addon to copy once (see `boardSubmit`); without, only Float64Array, Float32Array and
 * Int32Array arguments can be sent.
 */
export function encodeArgs(start: number, lists: readonly unknown[], parts?: Uint8Array[]): Buffer | undefined {
  const size = encodedSize(lists, parts);
  if (size < 0) return undefined;
  const bytes = Buffer.allocUnsafe(size);
  writeArgs(bytes, new DataView(bytes.buffer, bytes.byteOffset, size), undefined, start, lists, parts);
  return bytes;
}

/** {@link encodeArgs} written at the start of `target` (no parts): the bytes written, or
 * undefined when the lists hold anything else or do not fit. */
export function encodeArgsInto(start: number, lists: readonly unknown[], target: ArgTarget): number | undefined {
  const size = encodedSize(lists, undefined);
  if (size < 0 || size > target.bytes.length) return undefined;
  writeArgs(target.bytes, target.view, target, start, lists, undefined);
  return size;
}

/** The bytes {@link encodeArgs} writes for `lists`, or -1 when they cannot be. */
function encodedSize(lists: readonly unknown[], parts: Uint8Array[] | undefined): number {
  let size = HEADER + 8;
  for (const list of lists) {
    if (!Array.isArray(list) || list.length > MAX_RAW_ARGS) return -1;
    size += 8;
    for (const x of list) {
      const kind = argKind(x);
      if (kind < 0) return -1;
      if (kind === ARG_NUMBER) size += 16;
      else if (parts !== undefined && (x as ArrayBufferView).byteLength >= PART_BYTES) size += 8;
      else if (kind >= INLINE_KINDS) return -1;
      else size += 8 + (((x as ArrayBufferView).byteLength + 7) & ~7);
    }
  }
  return size;
}

/** Writes `lists` (measured by {@link encodedSize}) into `bytes`; a `target`'s own views
 * copy the inline arrays. */
function writeArgs(bytes: Uint8Array, view: DataView, target: ArgTarget | undefined, start: number, lists: readonly unknown[], parts: Uint8Array[] | undefined): void {
  bytes.fill(0, 0, HEADER);
  bytes[0] = TAG_ARGS;
  view.setFloat64(8, start, true);
  view.setUint32(HEADER, lists.length, true);
  view.setUint32(HEADER + 4, 0, true);
  let at = HEADER + 8;
  for (const list of lists as unknown[][]) {
    view.setUint32(at, list.length, true);
    view.setUint32(at + 4, 0, true);
    at += 8;
    for (const x of list) {
      const kind = argKind(x);
      if (kind === ARG_NUMBER) {
        view.setUint32(at, kind, true);
        view.setUint32(at + 4, 0, true);
        view.setFloat64(at + 8, x as number, true);
        at += 16;
        continue;
      }
      const a = x as ArrayBufferView;
      view.setUint32(at + 4, lengthOf(a), true);
      if (parts !== undefined && a.byteLength >= PART_BYTES) {
        view.setUint32(at, kind | IN_PART, true);
        parts.push(bytesOf(a));
        at += 8;
      } else {
        view.setUint32(at, kind, true);
        if (target === undefined) bytes.set(bytesOf(a), at + 8);
        else if (kind === 1) target.f64.set(a as Float64Array, (at + 8) >> 3);
        else if (kind === 2) target.f32.set(a as Float32Array, (at + 8) >> 2);
        else target.i32.set(a as Int32Array, (at + 8) >> 2);
        const end = at + 8 + a.byteLength;
        at += 8 + ((a.byteLength + 7) & ~7);
        bytes.fill(0, end, at);
      }
    }
  }
}

/** The array an argument of `length` elements is copied into (by default a new one), or
 * undefined for a view of `bytes` itself (which must then be aligned for `Ctor`). */
export type ArgAlloc = (Ctor: ArgArrayConstructor, length: number) => Float64Array | Float32Array | Int32Array | undefined;

const newArg: ArgAlloc = (Ctor, length) => new Ctor(length);

/** A part as the memory of an argument of its own: its buffer when the part is the whole
 * of it (as the addon hands them over), else a copy. */
function ownBuffer(part: Uint8Array): ArrayBuffer {
  if (part.byteOffset === 0 && part.buffer.byteLength === part.byteLength && !(part.buffer instanceof SharedArrayBuffer)) return part.buffer as ArrayBuffer;
  return part.slice().buffer as ArrayBuffer;
}

/**
 * Decodes raw argument lists. Each array is copied into an `ArrayBuffer` of its own (offset
 * 0, exactly its size), as structured clone would give it: a task may use its `.buffer`
 * (`new Uint8Array(x.buffer)`, a DataView, a transfer) and must find only its own elements
 * there, not the payload's header or the other arguments. `bytes` may be unaligned, or the
 * express lane's shared memory. An array in a part takes that part's memory (see
 * {@link ownBuffer}): `parts` are the payload's, each of its own.
 */
export function decodeArgs(bytes: Uint8Array, alloc: ArgAlloc = newArg, parts?: readonly Uint8Array[]): [number, unknown[][]] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lists: unknown[][] = new Array(view.getUint32(HEADER, true));
  let at = HEADER + 8;
  let part = 0;
  for (let l = 0; l < lists.length; l++) {
    const list: unknown[] = new Array(view.getUint32(at, true));
    at += 8;
    for (let i = 0; i < list.length; i++) {
      const kind = view.getUint32(at, true);
      if (kind === ARG_NUMBER) {
        list[i] = view.getFloat64(at + 8, true);
        at += 16;
      } else if (kind & IN_PART) {
        const memory = parts?.[part++];
        if (memory === undefined) throw new Error('ferropool: an argument payload lacks its parts');
        const Ctor = ARG_KINDS[kind & ~IN_PART]! as new (b: ArrayBuffer) => ArrayBufferView;
        list[i] = new Ctor(ownBuffer(memory));
        at += 8;
      } else {
        const Ctor = ARG_KINDS[kind] as ArgArrayConstructor;
        const length = view.getUint32(at + 4, true);
        const copy = alloc(Ctor, length);
        if (copy === undefined) list[i] = new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset + at + 8, length);
        else new Uint8Array(copy.buffer, copy.byteOffset, copy.byteLength).set(bytes.subarray(at + 8, at + 8 + copy.byteLength));
        list[i] ??= copy;
        at += 8 + ((length * Ctor.BYTES_PER_ELEMENT + 7) & ~7);
      }
    }
    lists[l] = list;
  }
  return [view.getFloat64(8, true), lists];
}
