/**
 * The plain-data codec: what most payloads are (numbers, strings, booleans, null, undefined,
 * arrays and plain objects of them) in a compact binary form, written and read in JS.
 *
 * Why not V8's serialiser (`v8.serialize`, `DefaultSerializer`) for these: every serialiser
 * and deserialiser Node makes is a native object that holds at least one 8 KiB zone segment
 * of malloc'd memory until the garbage collector finalises its JS wrapper, which V8 is not
 * told about and so is in no hurry to do. A pool moving four payloads a call (items, results,
 * both ways) made four of them a call; their segments, freed late and in bulk on the main
 * thread and the workers, fragmented glibc's per-thread arenas, and RSS grew with every
 * call for as long as the pool ran (a loop of `v8.serialize` + `v8.deserialize` alone grows
 * a process several times as much as the same data through JSON; docs/performance.md). This
 * codec allocates nothing native: one reused scratch buffer, and the bytes it hands back.
 *
 * Typed arrays travel too, when structured clone's copy is just their elements: a view of a
 * whole, fixed-length, unshared `ArrayBuffer` of its own, of one of the standard kinds.
 * Anything it cannot write exactly as structured clone would (other views, Dates, Maps,
 * class instances, shared memory, bigints, an object met twice, …), and anything over
 * 256 KiB, makes
 * {@link encodePlain} return undefined, and the caller uses V8's serialiser for that
 * payload. Decoding gives what structured clone gives: fresh arrays and plain objects,
 * holes kept, `-0` kept, strings exact (lone surrogates too: they travel as UTF-16).
 * @internal
 */
import { deserializeOwn, serializeClone } from './clone';
import { kindOfPrototype, TYPED_ARRAYS, type TypedArray } from './typed-arrays';

/** The first byte of a payload this codec wrote (V8's serialiser always writes 0xFF). */
export const TAG_PLAIN = 8;

const enum T {
  Undefined = 0,
  Null = 1,
  False = 2,
  True = 3,
  Int32 = 4,
  Float64 = 5,
  /** A string of code units below 256, one byte each. */
  Latin1 = 6,
  /** Any other string, as UTF-16LE code units. */
  Utf16 = 7,
  Array = 8,
  Object = 9,
  /** A hole in a sparse array. */
  Hole = 10,
  /** A typed array: its kind (an index of {@link TYPED_ARRAYS}), its length, its bytes. */
  Typed = 11,
}

/** Writes typed array `a` (of kind `kind`), or throws NOT_PLAIN when structured clone would
 * give more than its elements: a view of part of a buffer, or of a buffer met before (clone
 * keeps the sharing), a resizable or shared buffer, or an empty (perhaps detached) one. */
function writeTyped(a: TypedArray, kind: number): void {
  const buffer = a.buffer as ArrayBuffer & { resizable?: boolean };
  const bytes = a.byteLength;
  if (bytes === 0 || a.byteOffset !== 0 || bytes !== buffer.byteLength || !(buffer instanceof ArrayBuffer) || buffer.resizable === true || seen.has(buffer)) throw NOT_PLAIN;
  seen.add(buffer);
  room(6 + bytes);
  scratch[at] = T.Typed;
  scratch[at + 1] = kind;
  view.setUint32(at + 2, a.length, true);
  scratch.set(new Uint8Array(buffer, 0, bytes), at + 6);
  at += 6 + bytes;
}

/** Nesting deeper than this goes through V8's serialiser (it has its own limit). */
const MAX_DEPTH = 256;

/** Thrown (and caught here) when a value is not plain data. */
const NOT_PLAIN: unique symbol = Symbol('not plain');

let scratch = Buffer.allocUnsafeSlow(16 * 1024);
let view = new DataView(scratch.buffer, scratch.byteOffset, scratch.byteLength);
let at = 0;
/** The arrays and objects of the value being written: one met twice is not plain (structured
 * clone keeps the sharing; this codec does not). */
const seen = new Set<object>();
/** Whether an encoding is under way (see {@link encodePlain}). */
let encoding = false;

/**
 * Payloads larger than this go through V8's serialiser: its native copying outruns this
 * codec on bulk data (three times on long strings), and one serialiser's zone segment is
 * little beside a payload this size. The codec is for the many small payloads of hot loops.
 */
const MAX_PLAIN_BYTES = 256 * 1024;

function room(n: number): void {
  if (at + n <= scratch.length) return;
  if (at + n > MAX_PLAIN_BYTES) throw NOT_PLAIN;
  let size = scratch.length * 2;
  while (size < at + n) size *= 2;
  const bigger = Buffer.allocUnsafeSlow(size);
  scratch.copy(bigger, 0, 0, at);
  scratch = bigger;
  view = new DataView(bigger.buffer, bigger.byteOffset, bigger.byteLength);
}

function writeLength(n: number): void {
  room(4);
  view.setUint32(at, n, true);
  at += 4;
}

/** A code unit that does not fit a byte. */
const WIDE = /[\u0100-\uffff]/;

function writeString(s: string): void {
  const n = s.length;
  room(5 + n * 2);
  const base = at + 5;
  if (n < 32) {
    // Short strings (keys, most values): copied here, in one pass while they fit bytes.
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff) break;
      scratch[base + i] = c;
    }
    if (i === n) {
      scratch[at] = T.Latin1;
      view.setUint32(at + 1, n, true);
      at = base + n;
      return;
    }
  } else if (!WIDE.test(s)) {
    scratch[at] = T.Latin1;
    view.setUint32(at + 1, n, true);
    at = base + scratch.write(s, base, n, 'latin1');
    return;
  }
  scratch[at] = T.Utf16;
  view.setUint32(at + 1, n, true);
  at = base + scratch.write(s, base, n * 2, 'utf16le');
}

function write(value: unknown, depth: number): void {
  switch (typeof value) {
    case 'number':
      room(9);
      if ((value | 0) === value && !(value === 0 && 1 / value < 0)) {
        scratch[at] = T.Int32;
        view.setInt32(at + 1, value, true);
        at += 5;
      } else {
        scratch[at] = T.Float64;
        view.setFloat64(at + 1, value, true);
        at += 9;
      }
      return;
    case 'string':
      writeString(value);
      return;
    case 'boolean':
      room(1);
      scratch[at++] = value ? T.True : T.False;
      return;
    case 'undefined':
      room(1);
      scratch[at++] = T.Undefined;
      return;
    case 'object':
      break;
    default:
      throw NOT_PLAIN; // bigint, symbol, function
  }
  if (value === null) {
    room(1);
    scratch[at++] = T.Null;
    return;
  }
  if (depth > MAX_DEPTH || seen.has(value)) throw NOT_PLAIN;
  const proto = Object.getPrototypeOf(value);
  if (proto === Array.prototype) {
    seen.add(value);
    const list = value as unknown[];
    const n = list.length;
    room(1);
    scratch[at++] = T.Array;
    writeLength(n);
    for (let i = 0; i < n; i++) {
      const x = list[i];
      if (x === undefined && !(i in list)) {
        room(1);
        scratch[at++] = T.Hole;
      } else {
        write(x, depth + 1);
      }
    }
    return;
  }
  if (proto !== Object.prototype && proto !== null) {
    const kind = kindOfPrototype(proto);
    if (kind < 0) throw NOT_PLAIN;
    seen.add(value);
    writeTyped(value as TypedArray, kind);
    return;
  }
  seen.add(value);
  const keys = Object.keys(value);
  room(1);
  scratch[at++] = T.Object;
  writeLength(keys.length);
  for (const key of keys) {
    writeString(key);
    write((value as Record<string, unknown>)[key], depth + 1);
  }
}

/**
 * `value` as plain-data bytes (a new Buffer, first byte {@link TAG_PLAIN}), or undefined
 * when it is not plain data. An error thrown while reading it (a getter) propagates.
 */
export function encodePlain(value: unknown): Buffer | undefined {
  // A getter of the value may itself send something (a pool call): that inner encoding
  // must not reuse the scratch buffer this one is writing.
  if (encoding) return undefined;
  encoding = true;
  at = 0;
  room(1);
  scratch[at++] = TAG_PLAIN;
  try {
    write(value, 0);
  } catch (err) {
    if (err === NOT_PLAIN) return undefined;
    throw err;
  } finally {
    seen.clear();
    encoding = false;
  }
  const out = Buffer.allocUnsafe(at);
  scratch.copy(out, 0, 0, at);
  return out;
}

/** Whether `value` is plain data (see {@link encodePlain}); reads every property. */
export function isPlain(value: unknown): boolean {
  return encodePlain(value) !== undefined;
}

class Reader {
  readonly bytes: Buffer;
  readonly view: DataView;
  at = 1;

  constructor(bytes: Uint8Array) {
    this.bytes = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  length(): number {
    const n = this.view.getUint32(this.at, true);
    this.at += 4;
    return n;
  }

  string(kind: number): string {
    const n = this.length();
    const b = this.bytes;
    const start = this.at;
    if (kind === T.Latin1) {
      this.at += n;
      if (n < 16) {
        let s = '';
        for (let i = start; i < start + n; i++) s += String.fromCharCode(b[i]!);
        return s;
      }
      return b.toString('latin1', start, start + n);
    }
    this.at += n * 2;
    return b.toString('utf16le', start, start + n * 2);
  }

  value(): unknown {
    const kind = this.bytes[this.at++];
    switch (kind) {
      case T.Undefined:
        return undefined;
      case T.Null:
        return null;
      case T.False:
        return false;
      case T.True:
        return true;
      case T.Int32: {
        const v = this.view.getInt32(this.at, true);
        this.at += 4;
        return v;
      }
      case T.Float64: {
        const v = this.view.getFloat64(this.at, true);
        this.at += 8;
        return v;
      }
      case T.Latin1:
      case T.Utf16:
        return this.string(kind);
      case T.Array: {
        const n = this.length();
        const list: unknown[] = new Array(n);
        for (let i = 0; i < n; i++) {
          if (this.bytes[this.at] === T.Hole) this.at++;
          else list[i] = this.value();
        }
        return list;
      }
      case T.Object: {
        const n = this.length();
        const o: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) {
          const key = this.string(this.bytes[this.at++]!);
          const v = this.value();
          // An own "__proto__" (JSON.parse makes them) stays an own property.
          if (key === '__proto__') Object.defineProperty(o, key, { value: v, writable: true, enumerable: true, configurable: true });
          else o[key] = v;
        }
        return o;
      }
      case T.Typed: {
        const Ctor = TYPED_ARRAYS[this.bytes[this.at]!];
        if (Ctor === undefined) break;
        const n = this.view.getUint32(this.at + 1, true);
        const start = this.at + 5;
        const a = new Ctor(n);
        const bytes = n * Ctor.BYTES_PER_ELEMENT;
        new Uint8Array(a.buffer, 0, bytes).set(this.bytes.subarray(start, start + bytes));
        this.at = start + bytes;
        return a;
      }
    }
    throw new Error(`ferropool: corrupt plain-data payload (kind ${kind} at byte ${this.at - 1})`);
  }
}

/** Decodes what {@link encodePlain} wrote. */
export function decodePlain(bytes: Uint8Array): unknown {
  return new Reader(bytes).value();
}

/** `value` in the plain-data codec when it is plain data, else serialised by V8. */
export function encodeAny(value: unknown): Buffer {
  return encodePlain(value) ?? serializeClone(value);
}

/** Decodes what {@link encodeAny} wrote (or `v8.serialize`). */
export function decodeAny(bytes: Uint8Array): unknown {
  return bytes[0] === TAG_PLAIN ? decodePlain(bytes) : deserializeOwn(bytes);
}
