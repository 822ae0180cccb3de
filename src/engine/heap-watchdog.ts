/**
 * The watchdog of a pool whose workers run under `resourceLimits`: it turns a worker that
 * ran past its heap limit and was not stopped into a crash, so that its call settles.
 *
 * Node stops a worker that reaches its heap limit from V8's near-heap-limit callback: it
 * asks the isolate to terminate and raises the limit by 16 MiB to let it get there. That is
 * best effort, and on Node 24 a worker allocating without end is sometimes never stopped:
 * it goes on allocating (the process grows without bound), `worker.terminate()` never settles,
 * and without this watchdog its call would never settle either.
 *
 * While the pool has work pending, the watchdog asks every busy worker for its heap
 * statistics once a second (`worker.getHeapStatistics()`, Node 22.16+, answered between two
 * JavaScript steps of the worker). A worker that answers while its heap holds more than its
 * limits allow, at three probes in a row, is stuck and given up as crashed: Node raises a
 * stuck worker's limit at each collection, and such a worker may answer between two of
 * them (a worker that reaches its limit normally is stopped by Node long before three
 * probes). A worker that does not answer within three seconds is given up too once the
 * process's RSS is far past what the workers' limits allow (see {@link MemoryWatchdog}); a
 * silent worker while RSS is not may be waiting on a `Lock` or a `Queue`. Any other worker
 * that answers is running JavaScript, and its memory is its own business (ArrayBuffers are
 * outside the limits).
 * Node 20 cannot ask, and RSS alone cannot tell a stuck worker from a process that holds
 * large arrays elsewhere: there the watchdog gives nothing up (the hang was not seen on
 * Node 20: `npm run soak -- --oom`).
 * @internal
 */
import type { ResourceLimits, Worker } from 'node:worker_threads';

const MiB = 2 ** 20;

/** The watchdog's timing and margin (the defaults, except in tests). */
export interface WatchdogTuning {
  /** How often it reads RSS while work is pending (ms). */
  tickMs: number;
  /** How long a worker has to answer a probe (ms). */
  probeMs: number;
  /** RSS over the process's RSS when the pool was made that is "far past" the limits;
   * by default four times what every worker may hold, and at least 256 MiB. */
  marginBytes?: number;
}
const DEFAULT_TUNING: WatchdogTuning = { tickMs: 1000, probeMs: 3000 };

/** A worker as the watchdog sees it. */
export interface WatchedWorker {
  readonly worker: Worker;
}

export interface WatchdogHost<W extends WatchedWorker> {
  /** The pool's workers that are running a task now. */
  busy(): Iterable<W>;
  /** Whether the pool has work pending (else the watchdog sleeps until {@link MemoryWatchdog.arm}). */
  pending(): boolean;
  /** `worker` ran past its limits and does not stop: settle its work as a crash. */
  stuck(worker: W, rssBytes: number): void;
}

export class MemoryWatchdog<W extends WatchedWorker> {
  readonly #host: WatchdogHost<W>;
  /** RSS above this is "far past" the workers' limits. */
  readonly #limit: number;
  readonly #tuning: WatchdogTuning;
  #timer: NodeJS.Timeout | undefined;
  /** A probe is under way (one at a time). */
  #probing = false;
  /** A worker's heap past this (bytes) is past its limits. */
  readonly #heapCap: number;
  /** The workers found past their limits at the last probes, and how many probes in a row. */
  #strikes = new Map<W, number>();

  /**
   * @param limits - The workers' `resourceLimits`.
   * @param workers - How many workers the pool runs.
   */
  constructor(host: WatchdogHost<W>, limits: ResourceLimits, workers: number, tuning = DEFAULT_TUNING) {
    this.#host = host;
    this.#tuning = tuning;
    // What one worker may hold: its old generation, three semi-spaces of its young one and
    // its code space (V8's defaults where unset), plus what an isolate needs besides.
    const old = limits.maxOldGenerationSizeMb ?? 2048;
    const young = limits.maxYoungGenerationSizeMb ?? 48;
    const code = limits.codeRangeSizeMb ?? 64;
    const perWorker = (old + 3 * young + code + 32) * MiB;
    this.#heapCap = (old + 3 * young) * MiB;
    // Far past: four times what every worker may hold, over the process's RSS when the pool
    // was made, and never less than 256 MiB over it.
    this.#limit = process.memoryUsage.rss() + (tuning.marginBytes ?? Math.max(256 * MiB, 4 * workers * perWorker));
  }

  /** Work is pending: watch until there is none. */
  arm(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#tick(), this.#tuning.tickMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    if (!this.#host.pending()) {
      this.stop();
      return;
    }
    if (this.#probing) return;
    const busy = [...this.#host.busy()];
    if (busy.length === 0) return;
    this.#probing = true;
    void Promise.all(busy.map((w) => usedHeap(w.worker, this.#tuning.probeMs))).then((used) => {
      this.#probing = false;
      const rss = process.memoryUsage.rss();
      const strikes = new Map<W, number>();
      busy.forEach((w, i) => {
        const bytes = used[i];
        if (bytes === NO_ANSWER) {
          // Silent: stuck if the process is far past the limits (else it may be waiting
          // on a Lock or a Queue, where a worker does not answer either).
          if (rss > this.#limit) this.#host.stuck(w, rss);
        } else if (bytes > this.#heapCap) {
          const n = (this.#strikes.get(w) ?? 0) + 1;
          if (n >= STRIKES) this.#host.stuck(w, rss);
          else strikes.set(w, n);
        }
      });
      this.#strikes = strikes;
    });
  }
}

/** Probes in a row that find a worker's heap past its limits before it is given up. */
const STRIKES = 3;
const NO_ANSWER = -1;

/** The heap `worker` uses (bytes), {@link NO_ANSWER} when it does not answer within `ms`,
 * or 0 where Node cannot ask (before 22.16) or the worker exited meanwhile (its exit
 * settles its work). */
function usedHeap(worker: Worker, ms: number): Promise<number> {
  const probe = (worker as Worker & { getHeapStatistics?: () => Promise<{ used_heap_size?: number }> }).getHeapStatistics;
  if (typeof probe !== 'function') return Promise.resolve(0);
  // A worker that has not answered the last request (one waiting on a Lock for an hour) is
  // not sent another: its requests would pile up until it answers.
  let asked = inFlight.get(worker);
  if (asked === undefined) {
    asked = probe.call(worker).then(
      (stats) => Number(stats?.used_heap_size) || 0,
      () => 0,
    );
    inFlight.set(worker, asked);
    void asked.then(() => inFlight.delete(worker));
  }
  const answer = asked;
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms, NO_ANSWER);
    void answer.then((used) => {
      clearTimeout(timer);
      resolve(used);
    });
  });
}

/** The heap-statistics requests sent and not answered yet, by worker. */
const inFlight = new WeakMap<Worker, Promise<number>>();
