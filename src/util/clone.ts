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

/** `v8.serialize(value)`, throwing what structured clone throws for what it cannot clone. */
export function serializeClone(value: unknown): Buffer {
  const s = new CloneSerializer();
  s.writeHeader();
  s.writeValue(value);
  return s.releaseBuffer();
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
