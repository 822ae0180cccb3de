/**
 * The SharedArrayBuffers that arguments refer to, by id, on both ends. The pool's end
 * ({@link BufferRegistry}) gives each worker every buffer an argument has referred to (at
 * its start, or posted later on its port) and tells them to forget one once nothing on the
 * pool's side holds it; a worker's end ({@link SharedBuffers}) reads its port when a payload
 * names a buffer it lacks. The port also carries the express lane's function names.
 * @internal
 */
import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import { type FnSpec, Msg, type PortMessage } from './protocol';
import type { ResolveShared, SharedRefs } from './payloads';

/** The pool's end: every buffer posted to the workers, by id. */
export class BufferRegistry {
  /** Held weakly: once no job and no code of the caller holds one, the workers are told to
   * forget it. */
  readonly #sabs = new Map<number, WeakRef<SharedArrayBuffer>>();
  /** Those the pool's `initargs` refer to: held for the pool's life. */
  readonly pinned: SharedRefs = new Map();
  readonly #broadcast: (message: PortMessage) => void;
  readonly #gone = new FinalizationRegistry<number>((id) => {
    this.#sabs.delete(id);
    this.#broadcast([id, null]);
  });

  /** @param broadcast - Posts a message to every worker's port. */
  constructor(broadcast: (message: PortMessage) => void) {
    this.#broadcast = broadcast;
  }

  /** Posts to every worker the buffers of `refs` they have not seen yet (before the job
   * that refers to them is queued). */
  register(refs: SharedRefs): void {
    for (const [ref, sab] of refs) {
      if (this.#sabs.has(ref) || this.pinned.has(ref)) continue;
      this.#sabs.set(ref, new WeakRef(sab));
      this.#gone.register(sab, ref);
      this.#broadcast([ref, sab]);
    }
  }

  /** What a new worker starts with: the pinned buffers and those posted that still exist. */
  initial(): Array<[number, SharedArrayBuffer]> {
    const out: Array<[number, SharedArrayBuffer]> = [...this.pinned];
    for (const [id, ref] of this.#sabs) {
      const sab = ref.deref();
      if (sab) out.push([id, sab]);
    }
    return out;
  }

  clear(): void {
    this.#sabs.clear();
    this.pinned.clear();
  }
}

/**
 * The worker's end: the SharedArrayBuffers this thread knows by id: those it started with, then those the
 * pool posts on `port` (`[id, buffer]`, or `[id, null]`: forget it, nobody refers to it any
 * more). The pool posts a buffer before it queues a job that refers to it.
 */
export class SharedBuffers {
  readonly #known: Map<number, SharedArrayBuffer>;
  readonly #port: MessagePort | undefined;
  /** Functions named by the express lane (posted as `['fn', id, spec]`; `['fn', id, null]`:
   * forget it). */
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
    if (m[0] === Msg.Fn) {
      if (m[2] === null) this.fns.delete(m[1]);
      else this.fns.set(m[1], m[2]);
    } else if (m[1]) this.#known.set(m[0], m[1]);
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
