/**
 * V8's serialiser and deserialiser with structured clone's semantics: its errors (a value
 * that cannot be cloned throws a `DOMException` named `DataCloneError`, as `postMessage` and
 * `structuredClone` do, not Node's plain `Error`) and its copies (see {@link OwnBuffers}).
 * @internal
 */
import { DefaultDeserializer, DefaultSerializer } from 'node:v8';

/** Node's serialiser, throwing structured clone's `DataCloneError`. (`_getDataCloneError`
 * is Node's documented overridable hook; @types/node omits it.) */
export class CloneSerializer extends DefaultSerializer {
  _getDataCloneError(message: string): Error {
    return new DOMException(message, 'DataCloneError');
  }
}

/** `v8.serialize(value)`, throwing what structured clone throws for what it cannot clone
 * (its message says where, see {@link explainCloneError}). */
export function serializeClone(value: unknown): Buffer {
  const s = new CloneSerializer();
  try {
    s.writeHeader();
    s.writeValue(value);
  } catch (err) {
    throw explainCloneError(err, value);
  }
  return s.releaseBuffer();
}

/** Where in a value the part that cannot be cloned is, for {@link cloneMessage}. */
interface CloneSite {
  /** The path from the value to `what`: '' (the value itself), '.a[1]', … */
  readonly path: string;
  /** What is there: 'a Socket', 'a function (onEnd)', … */
  readonly what: string;
  /** Within it, what cannot be cloned ('' when it is `what` itself). */
  readonly detail: string;
}
const sites = new WeakMap<object, CloneSite>();

/**
 * The `DataCloneError` of a value that cannot be cloned, saying which part of it is to
 * blame and what it is. V8 names only the innermost thing it refused, which is rarely what
 * the caller passed: a `net.Socket` argument was reported as the source of a Node-internal
 * function it holds (`function onReadableStreamEnd() {…} could not be cloned`). The outermost
 * class instance on the way to it is named instead (`a Socket`), with the part inside it.
 * Any other error is returned as it is. (Given one it made, it describes the part anew, as
 * seen from `value`.)
 */
export function explainCloneError(err: unknown, value: unknown): unknown {
  if (!(err instanceof DOMException) || err.name !== 'DataCloneError') return err;
  const found = findUncloneable(value);
  if (found === undefined) return err;
  const { path, what, detail } = found;
  const e = new DOMException(`${what}${path ? ` at ${path}` : ''} could not be cloned${detail}`, 'DataCloneError');
  sites.set(e, found);
  return e;
}

/**
 * The message of a value named `name` (`args[0]`, `input[3]`) that could not be sent, with
 * `cause` (what encoding it threw): `args[0] (a Socket) could not be cloned: its
 * _events.end is a function (onReadableStreamEnd)`, or `name: <cause's message>` when the
 * cause does not say where. `named`: the message it goes in names the value already.
 */
export function cloneMessage(name: string, cause: unknown, named = false): string {
  const site = typeof cause === 'object' && cause !== null ? sites.get(cause) : undefined;
  const message = cause instanceof Error ? cause.message : String(cause);
  if (site === undefined) return named ? message : `${name}: ${message}`;
  // Where the message names the value already ("input[2] cannot be sent: …"), the value
  // itself is not named again.
  if (named && site.path === '') return message;
  return `${name}${site.path} (${site.what}) could not be cloned${site.detail}`;
}

/** Objects structured clone copies whole (or refuses whole): not looked into. */
const LEAVES = [Date, RegExp, ArrayBuffer, SharedArrayBuffer, Error, Boolean, Number, String, BigInt, Blob].filter((c) => typeof c === 'function') as Array<abstract new (...a: never[]) => unknown>;
/** Objects structured clone refuses. */
const REFUSED = [WeakMap, WeakSet, WeakRef, Promise, ...(typeof FinalizationRegistry === 'function' ? [FinalizationRegistry] : [])] as Array<abstract new (...a: never[]) => unknown>;

function kind(value: unknown): string {
  if (typeof value === 'function') {
    const name = (value as { name?: unknown }).name;
    return typeof name === 'string' && name ? `a function (${name})` : 'an anonymous function';
  }
  if (typeof value === 'symbol') return `a symbol (${String(value.description)})`;
  const ctor = (value as object).constructor as { name?: unknown } | undefined;
  const name = typeof ctor?.name === 'string' && ctor.name ? ctor.name : 'object';
  return `${/^[AEIOUaeiou]/.test(name) ? 'an' : 'a'} ${name}`;
}

/** Whether `value` is a class instance (not a plain object or array): what a caller passes. */
function isInstance(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto !== null && proto !== Object.prototype && proto !== Array.prototype;
}

const key = (k: string): string => (/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : /^\d+$/.test(k) ? `[${k}]` : `[${JSON.stringify(k)}]`);

/** The first part of `root` that structured clone refuses, found the way it walks (own
 * enumerable properties, array items, Map and Set entries), within a bounded number of
 * steps; undefined when none is found (a host object V8 refuses, a getter that throws). */
function findUncloneable(root: unknown): CloneSite | undefined {
  const seen = new Set<object>();
  let budget = 100_000;
  // The path so far, and the outermost class instance on it (its index in `trail`).
  const trail: Array<{ step: string; value: unknown }> = [];
  const visit = (value: unknown): boolean => {
    if (--budget < 0) return false;
    const t = typeof value;
    if (t === 'function' || t === 'symbol') return true;
    if (t !== 'object' || value === null) return false;
    const obj = value as object;
    if (seen.has(obj)) return false;
    seen.add(obj);
    if (REFUSED.some((c) => obj instanceof c)) return true;
    if (ArrayBuffer.isView(obj) || LEAVES.some((c) => obj instanceof c)) return false;
    const children: Array<[string, unknown]> = [];
    try {
      if (obj instanceof Map) {
        let i = 0;
        for (const [k, v] of obj) {
          children.push([`<Map key ${i}>`, k], [`.get(${typeof k === 'string' ? JSON.stringify(k) : `<key ${i}>`})`, v]);
          i++;
        }
      } else if (obj instanceof Set) {
        let i = 0;
        for (const v of obj) children.push([`<Set item ${i++}>`, v]);
      }
      for (const k of Object.keys(obj)) children.push([key(k), (obj as Record<string, unknown>)[k]]);
    } catch {
      return false;
    }
    for (const [step, child] of children) {
      trail.push({ step, value: child });
      if (visit(child)) return true;
      trail.pop();
    }
    return false;
  };
  trail.push({ step: '', value: root });
  if (!visit(root)) return undefined;
  const steps = (from: number, to: number): string =>
    trail
      .slice(from, to)
      .map((s) => s.step)
      .join('');
  const last = trail.length - 1;
  const leaf = trail[last]!.value;
  const owner = trail.findIndex((s) => typeof s.value === 'object' && s.value !== null && isInstance(s.value));
  // No class instance on the way to it (or the part is one, a WeakMap): name the part itself.
  if (owner < 0 || owner === last) return { path: steps(1, last + 1), what: kind(leaf), detail: '' };
  return { path: steps(1, owner + 1), what: kind(trail[owner]!.value), detail: `: its ${steps(owner + 1, last + 1).replace(/^\./, '')} is ${kind(leaf)}` };
}

/**
 * `v8.deserialize`, except that every typed array, Buffer and DataView in the value gets an
 * `ArrayBuffer` of its own (offset 0, exactly its size), as structured clone gives it.
 * Node's own returns views of the payload it decodes, or of its 8 KiB Buffer pool: a task
 * or caller reading an array's `.buffer` found the payload's other bytes there, even stale
 * data of other allocations.
 */
class OwnBuffers extends DefaultDeserializer {
  _readHostObject(): unknown {
    const view = readHostObject.call(this);
    const own = new Uint8Array(view.byteLength);
    own.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
    if (Buffer.isBuffer(view)) return Buffer.from(own.buffer);
    if (view instanceof DataView) return new DataView(own.buffer);
    return new (view.constructor as new (buffer: ArrayBuffer) => ArrayBufferView)(own.buffer);
  }
}
const readHostObject = (DefaultDeserializer.prototype as unknown as { _readHostObject(this: DefaultDeserializer): ArrayBufferView })._readHostObject;

/** Decodes a value `v8.serialize` wrote; see {@link OwnBuffers}. */
export function deserializeOwn(bytes: Uint8Array): unknown {
  const d = new OwnBuffers(bytes as Buffer);
  d.readHeader();
  return d.readValue();
}
