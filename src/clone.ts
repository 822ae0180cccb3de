/**
 * Decoding values with the copy semantics of structured clone.
 * @internal
 */
import { DefaultDeserializer } from 'node:v8';

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
