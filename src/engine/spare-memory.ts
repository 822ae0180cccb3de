/**
 * Shared memory that a terminated pool hands on to the next pool made: its express lane
 * (256 KiB) and its workers' slots (64 KiB). Left to the garbage collector, a loop that makes
 * and terminates pools keeps every dead pool's 320 KiB until the main isolate's next full
 * collection, which with a large young generation comes only after many pools; the C
 * allocator then keeps all that is freed at once inside its heap (glibc returns memory by
 * itself only from the heap's top, above its trim threshold), and RSS moves up and down by
 * that much.
 * Handed on, the same few buffers serve every pool. A buffer is handed on only once every
 * worker that could touch it has exited, and is zeroed before it is used again, as a new
 * one would be.
 * @internal
 */

/** Spare buffers by size; a few of each, enough for the pools a program makes at a time. */
const spares = new Map<number, SharedArrayBuffer[]>();
const KEEP = 4;

/** A zero-filled SharedArrayBuffer of `bytes`: a spare one when there is one. */
export function sharedMemory(bytes: number): SharedArrayBuffer {
  const sab = spares.get(bytes)?.pop();
  if (sab === undefined) return new SharedArrayBuffer(bytes);
  new Uint8Array(sab).fill(0);
  return sab;
}

/** Keeps `sab` for the next {@link sharedMemory} of its size. Its owner drops every view of
 * it (WorkerGroup and ExpressLane do so as they hand it on), and no other thread may hold it. */
export function handOn(sab: SharedArrayBuffer): void {
  let list = spares.get(sab.byteLength);
  if (list === undefined) spares.set(sab.byteLength, (list = []));
  if (list.length < KEEP && !list.includes(sab)) list.push(sab);
}
