/**
 * The loop every pool worker runs: claim a chunk from the pool's task board (in the Rust
 * core), run the shipped function over its items, store the results back, say so, repeat;
 * serve the express lane while it polls; park in `Atomics.wait` on the pool's doorbell when
 * there is nothing to do (a native wait would keep `terminate()` and `process.exit()` from
 * interrupting it). (A `Process` runs process-worker.ts instead.)
 * @internal
 */
import { parentPort, workerData } from 'node:worker_threads';
import { getHeapStatistics } from 'node:v8';
import { SharedBuffers } from '../wire/buffers';
import { compiledFn, explain, resolveFn } from './compile';
import { ExpressServer } from './lane';
import { setIdentity } from '../util/identity';
import { native } from '../util/native';
import { JobState } from '../../native/index';
import { Bell, HEAP_TOTAL, HEAP_USED, type JobSpec, Msg, Note, POLLING, SLOT_STRIDE, type WorkerInit, type WorkerMessage } from '../wire/protocol';
import { X, XState } from '../wire/lane';
import { IN_OUTPUT, runChunk, runIsolated, runShared, type SharedViews, type Slot } from './run';
import { pollFor } from '../util/spin';
import { FLUSH_MS, flushOutput, outputPending, turn } from './stdio';
import { isThenable } from '../util/thenable';
import { Lru } from '../util/lru';
import { decodeCallArgs, decodeChunk, decodeValue, sharedChunk } from '../wire/payloads';
import { encodeError } from '../wire/errors';

/** How long an idle worker polls the doorbell before it parks (ms): the next call of a hot
 * loop is usually microseconds away, and waking a parked thread costs far more. Only one
 * worker of a pool polls at a time (the others park at once): polling threads must never
 * outnumber the cores, and one is enough to catch a hot loop's next small call. */
const SPIN_MS = 0.5;

/** Job specs by their text: a hot loop's jobs differ only in their id. */
const parsedSpecs = new Lru<string, JobSpec>(256);
function parseSpec(text: string): JobSpec {
  let spec = parsedSpecs.get(text);
  if (spec === undefined) {
    spec = JSON.parse(text) as JobSpec;
    // A spec with a call's arguments is that call's alone (decoded once per job).
    if (spec.a === undefined) parsedSpecs.set(text, spec);
  }
  return spec;
}

/**
 * Views of callers' arrays made (native.boardViews) since the event loop last turned. Each
 * is an external ArrayBuffer, and Node frees an external buffer's bookkeeping in a native
 * immediate, which runs only when this thread's event loop turns: a worker that runs chunks
 * and parks in `Atomics.wait` kept them all.
 */
let viewsMade = 0;
/** Views made before the loop must turn even while chunks keep coming. */
const VIEWS_PER_TURN = 256;

async function releaseViews(): Promise<void> {
  viewsMade = 0;
  await turn();
}

/** What a worker holds of a job whose chunks it runs. */
interface JobHere {
  /** The job's spec (null: the job was dropped before this worker read it). */
  spec: JobSpec | null;
  /** The call's `opts.args`, decoded once per job here: each job (each call) gets its own
   * copies, as Python unpickles a partial's arguments per task. */
  args?: unknown[];
  /** The least an item cost here, over the job's chunks this worker ran (what its notes
   * report). A chunk's own figure counts the time the thread was not running: on a machine
   * with no spare core, one that shared its core with the caller's thread for a scheduler
   * slice read several times too high, and the pool then cut that function's next calls
   * into far too many chunks. */
  cheapest: number;
}

async function main(init: WorkerInit): Promise<void> {
  const bell = new Int32Array(init.doorbell);
  const polling = new Int32Array(init.current);
  const pollingAt = init.worker * SLOT_STRIDE * 2 + POLLING;
  const current = new Float64Array(init.current);
  /** Every message to the pool is a {@link WorkerMessage} (checked here, at no cost). */
  const port: { postMessage(message: WorkerMessage): void } = parentPort!;
  setIdentity(`PoolWorker-${init.worker}`, init.worker);
  const buffers = new SharedBuffers(init.sabs, init.port);
  for (const [id, f] of init.fns) buffers.fns.set(id, f);
  const resolve = buffers.resolve;
  const lane = new Int32Array(init.express);
  const slot: Slot = { at: current, worker: init.worker * SLOT_STRIDE };
  const express = new ExpressServer(init.express, init.worker, buffers, port, {
    fn: (spec) => compiledFn(spec) ?? resolveFn(spec),
    map: (spec, input, output, extra) => runShared({ f: spec, star: false, each: false, start: false }, [input, output], 0, input.length, slot, extra),
    explain,
  });
  if (init.initializer) {
    try {
      const fn = await resolveFn(init.initializer);
      const r = fn(...(decodeValue(init.initargs, resolve) as unknown[]));
      if (isThenable(r)) await r;
      port.postMessage([Msg.Ready]); // join() after close() waits for this
    } catch (err) {
      // Report it, and exit: the pool rejects its pending calls instead of respawning
      // workers whose initializer fails (Python's Pool loops forever here).
      port.postMessage([Msg.InitError, encodeError(explain(err, init.initializer).err, -1, [])]);
      process.exit(70);
    }
  }
  /**
   * What this worker holds of each job it is running chunks of: kept while it has chunks in
   * a row, dropped when the job settles or the board has no chunk left for it.
   */
  const jobs = new Map<number, JobHere>();
  /** The caller's arrays of the shared job whose chunks this worker ran last (null: the job
   * is gone), mapped once per job. Views of one job at a time: a finished job's arrays may
   * be freed by their owner. */
  let mapped: { of: JobHere; views: SharedViews | null } | undefined;
  let chunksRun = 0;
  /** The doorbell's count when the board last had no chunk for this worker (NaN: it had
   * one). Every job is queued before the count goes up, so while the count stays there the
   * board has none still, and a loop that serves the express lane asks it no more. */
  let emptyAt = Number.NaN;
  for (;;) {
    const seen = Atomics.load(bell, Bell.Ring);
    const claim = seen === emptyAt ? null : native.boardClaim(init.pool, init.worker);
    if (claim === null || claim === undefined) {
      emptyAt = seen;
      // No chunk left to claim: what the jobs run so far needed is not needed again.
      if (jobs.size > 0) {
        jobs.clear();
        mapped = undefined;
      }
      if (Atomics.compareExchange(bell, Bell.Spinner, 0, init.worker) === 0) {
        Atomics.store(polling, pollingAt, 1);
        // The next express call's argument buffer, while there is nothing else to do.
        express.prepare();
        pollFor(() => Atomics.load(bell, Bell.Ring) !== seen || Atomics.load(lane, X.State) === XState.Posted, SPIN_MS);
        Atomics.store(bell, Bell.Spinner, 0);
      }
      if (express.take()) {
        // Awaited even when it was served synchronously: what the call queued as microtasks
        // runs now, as after any task (a hot loop's calls would otherwise pile them up).
        await express.serve(current, init.worker * SLOT_STRIDE);
        current[init.worker * SLOT_STRIDE] = -1;
        if (++chunksRun >= init.maxTasksPerChild) {
          Atomics.store(polling, pollingAt, 0);
          port.postMessage([0, 0, Note.Retiring]);
          await flushOutput(() => true, FLUSH_MS);
          process.exit(0);
        }
        continue;
      }
      Atomics.store(polling, pollingAt, 0);
      if (outputPending()) {
        await flushOutput(() => Atomics.load(bell, Bell.Ring) === seen, 60_000);
        continue;
      }
      if (viewsMade > 0) {
        await releaseViews();
        continue;
      }
      if (Atomics.load(bell, Bell.Ring) === seen) {
        buffers.drain(); // idle: forget the shared buffers the pool no longer refers to
        const heap = getHeapStatistics(); // for Pool.stats()
        current[init.worker * SLOT_STRIDE + HEAP_USED] = heap.used_heap_size;
        current[init.worker * SLOT_STRIDE + HEAP_TOTAL] = heap.total_heap_size;
        Atomics.wait(bell, Bell.Ring, seen);
      }
      continue;
    }
    emptyAt = Number.NaN;
    Atomics.store(polling, pollingAt, 0); // busy: a new job's chunks may need others woken
    const { job, index, payload, parts } = claim;
    let here = jobs.get(job);
    if (here === undefined) {
      const text = native.boardSpec(init.pool, job);
      here = { spec: text === null || text === undefined ? null : parseSpec(text), cheapest: Number.POSITIVE_INFINITY };
      jobs.set(job, here);
      if (jobs.size > 64) {
        const oldest = jobs.keys().next().value!;
        if (mapped?.of === jobs.get(oldest)) mapped = undefined;
        jobs.delete(oldest);
      }
    }
    const spec = here.spec;
    if (spec === null) continue; // the job was dropped while we claimed
    if (spec.a !== undefined && here.args === undefined) here.args = decodeCallArgs(spec.a, resolve);
    const args = here.args;
    if (spec.start && index === 0) port.postMessage([job, index, Note.Started]);
    const began = performance.now();
    let ok: boolean;
    let bytes: Buffer;
    let count: number;
    const shared = sharedChunk(payload);
    if (shared) {
      if (mapped?.of !== here) {
        mapped = { of: here, views: (native.boardViews(init.pool, job) as SharedViews | null) ?? null };
        viewsMade++;
      }
      const views = mapped.views;
      count = shared[1];
      // (Awaited even when it ran synchronously: what the chunk's calls queued as microtasks
      // runs now, as after every chunk.)
      [ok, bytes] = views ? await runShared(spec, views, shared[0], count, slot, args) : [true, IN_OUTPUT];
    } else {
      const [start, items] = decodeChunk(payload, resolve, parts ?? undefined);
      count = items.length;
      [ok, bytes] = spec.isolate ? await runIsolated(spec, items, start, slot) : await runChunk(spec, items, start, slot, args);
    }
    // What an item cost here: the pool uses it to cut calls into chunks and to run small
    // ones on the caller's thread.
    const nsPerItem = Math.min(((performance.now() - began) * 1e6) / Math.max(1, count), here.cheapest);
    here.cheapest = nsPerItem;
    current[init.worker * SLOT_STRIDE] = -1;
    // What the chunk printed reaches the main thread before its results do (as a Python
    // worker's writes reach the terminal before its result): a caller that terminates the
    // pool once the call settles must not lose the lines.
    if (outputPending()) await flushOutput(() => true, FLUSH_MS);
    const settled = native.boardComplete(init.pool, job, index, ok, bytes);
    // About to look at the board again: the pool need not wake anyone for its next job.
    Atomics.store(polling, pollingAt, 1);
    if (settled !== JobState.Open) {
      jobs.delete(job);
      if (mapped?.of === here) mapped = undefined;
    }
    if (settled === JobState.Complete) {
      // A caller polling for this job takes the results itself (see Bell.Waits).
      if (Atomics.compareExchange(bell, Bell.Waits, job | 0, 0) !== (job | 0)) port.postMessage([job, index, Note.JobDone, nsPerItem]);
    } else if (settled === JobState.Released) {
      port.postMessage([job, index, Note.Released]);
    } else if (settled === JobState.Gone) {
      // The job is gone (dropped and released elsewhere): nobody wants this chunk.
    } else if (!ok) {
      port.postMessage([job, index, Note.ChunkFailed, nsPerItem]);
    } else if (spec.each) {
      port.postMessage([job, index, Note.ChunkDone, nsPerItem]);
    }
    if (viewsMade >= VIEWS_PER_TURN) await releaseViews();
    if (++chunksRun >= init.maxTasksPerChild) {
      Atomics.store(polling, pollingAt, 0);
      port.postMessage([0, 0, Note.Retiring]);
      await flushOutput(() => true, FLUSH_MS);
      process.exit(0);
    }
  }
}

/** Runs the loop, in a pool's worker thread (pool-entry.ts calls it). */
export function start(): void {
  const init = (workerData as { ferropool?: WorkerInit } | undefined)?.ferropool;
  if (!parentPort || !init) return;
  main(init).catch((err: unknown) => {
    // The loop itself failed (a bug, not a task's error): exit so the pool sees a crash
    // and replaces this worker; the chunk it held fails with WorkerCrashedError.
    process.stderr.write(`ferropool worker: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(71);
  });
}
