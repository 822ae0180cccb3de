/**
 * The life of one call, the same for every method: its registration among the pool's
 * pending calls (which `terminate()` cancels and `join()` waits for), its abort signal, its
 * timeout, its progress reports, and settling it exactly once. Each kind of call (a kernel
 * call, a job of the task board, a batch of applies, an express call waiting for its note,
 * a stream) is a subclass that says how its work stops and how it settles.
 * @internal
 */
import { AbortError, TimeoutError } from './errors';
import type { CallOptions } from './options';

/** A call in flight that `terminate()` must be able to stop. */
export interface PendingCall {
  /** Rejects the call now with `error` and stops its work. */
  cancel(error: Error): void;
  /** Settles once the call's work no longer runs. */
  readonly drained: Promise<unknown>;
}

/** The abort reason of an imap/imapUnordered iterator closed before its end: its calls skip
 * what has not started, and what runs finishes on its own. */
export const ITERATOR_CLOSED = new AbortError('the iterator was closed');

/** The error of a call whose `timeout` (ms) ran out: one message for every method. */
export function timeoutError(ms: number): TimeoutError {
  return new TimeoutError(`the call did not finish within its timeout of ${ms} ms`);
}

/** The error of a call whose signal aborted (a timeout of a whole stream passes through). */
export function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof TimeoutError ? signal.reason : new AbortError('The operation was aborted', { cause: signal.reason });
}

const NO_OPTIONS: CallOptions = {};

function expire(call: Call): void {
  call.fail(timeoutError(call.options.timeout!), true);
}

/**
 * One call's lifecycle. A subclass starts its work, then calls {@link begin}; it settles
 * the call with {@link succeed}, {@link fail}, {@link reject} or {@link end}, whichever comes
 * first (the others are then no-ops), and implements {@link stop}, {@link resolved} and
 * {@link rejected}.
 */
export abstract class Call implements PendingCall {
  readonly options: CallOptions;
  /** Elements the call has in all (for progress reports). */
  readonly total: number;
  readonly drained: Promise<unknown>;
  #markDrained: (() => void) | undefined;
  #settled = false;
  #failure: Error | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ticker: NodeJS.Timeout | undefined;
  /** The pool's pending calls; undefined for a call that is not one of them (a stream: its
   * chunks' calls are). */
  readonly #calls: Set<PendingCall> | undefined;
  /** A stream this call is a chunk of: it fails with it. */
  readonly #parent: Call | undefined;
  #children: Set<Call> | undefined;

  /**
   * @param calls - Where the call registers (by {@link begin}) until it settles, or until
   *   `drained` settles when that is given.
   * @param drained - Settles once the work no longer runs, when that is after the call
   *   settles (a kernel call's native promise); by default, when the call settles.
   */
  constructor(calls: Set<PendingCall> | undefined, o: CallOptions | undefined, total: number, parent?: Call, drained?: Promise<unknown>) {
    this.#calls = calls;
    this.options = o ?? NO_OPTIONS;
    this.total = total;
    this.#parent = parent;
    this.drained = drained ?? new Promise<void>((r) => (this.#markDrained = r));
  }

  /** Why a call with options `o` (a chunk of `parent`) must not start: its signal aborted, or
   * its stream failed; undefined when it may. */
  static refusal(o: CallOptions | undefined, parent?: Call): Error | undefined {
    const signal = o?.signal;
    if (signal?.aborted) return abortError(signal);
    return parent === undefined ? undefined : parent.#failure;
  }

  /** Whether the call has settled. */
  get settled(): boolean {
    return this.#settled;
  }

  /** What the call failed with, once it failed. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /**
   * The call's work has started: registers it, listens to its signal, and with `timed`
   * starts its timeout now (else {@link startTimer} does, when its work starts).
   */
  protected begin(timed: boolean): void {
    const calls = this.#calls;
    if (calls !== undefined) {
      calls.add(this);
      if (this.#markDrained === undefined) void this.drained.then(() => calls.delete(this));
    }
    if (this.#parent !== undefined) (this.#parent.#children ??= new Set()).add(this);
    const signal = this.options.signal;
    if (signal !== undefined) {
      if (signal.aborted) {
        this.handleEvent();
        return;
      }
      signal.addEventListener('abort', this, { once: true });
    }
    if (timed) this.startTimer();
  }

  /** Starts the timeout, if the call has one: counted from when its work starts, or from
   * `since` (a `performance.now()` time) for a call that continues an earlier one (the job
   * that combines a reduce's chunks runs within what is left of the call's time). */
  startTimer(since?: number): void {
    const ms = this.options.timeout;
    if (ms === undefined || ms === Infinity || this.#timer !== undefined || this.#settled) return;
    this.#timer = setTimeout(expire, since === undefined ? ms : Math.max(0, ms - (performance.now() - since)), this);
  }

  /** Reports `fraction()` of the work as done every `ms` while the call runs (kernels on the
   * pool, whose progress is read from the addon). */
  protected watchProgress(fraction: () => number, ms: number): void {
    const report = this.options.onProgress;
    if (report === undefined || this.#settled) return;
    let reported = 0;
    const total = this.total;
    this.#ticker = setInterval(() => {
      const done = Math.floor(total * fraction());
      if (done > reported && done < total) report((reported = done), total);
    }, ms);
    this.#ticker.unref();
  }

  /** Reports progress (`done` of `total` elements). */
  progress(done: number, total: number): void {
    this.options.onProgress?.(done, total);
  }

  /** The signal aborted: a user's abort stops the work running (an endless loop must end);
   * a closed imap only skips what has not started. */
  handleEvent(): void {
    const signal = this.options.signal!;
    this.fail(abortError(signal), signal.reason !== ITERATOR_CLOSED);
  }

  /** `terminate()`, or the initializer failed: rejects now and stops the work. */
  cancel(error: Error): void {
    this.fail(error, true);
  }

  /** Rejects with `error` and stops the work (with `running`, also what runs now), and that
   * of the calls that are chunks of this one. */
  fail(error: Error, running: boolean): void {
    if (this.#settled) return;
    this.#failure = error;
    this.stop(running);
    const children = this.#children;
    this.#end();
    if (children !== undefined) for (const child of children) child.fail(error, running);
    this.rejected(error);
  }

  /** Rejects with `error`; the work has stopped already (it failed). */
  reject(error: Error): void {
    if (this.#settled) return;
    this.#failure = error;
    this.#end();
    this.rejected(error);
  }

  /** Resolves with `value`, after the final progress report. */
  succeed(value: unknown): void {
    if (this.#settled) return;
    this.#end();
    try {
      this.options.onProgress?.(this.total, this.total);
    } finally {
      this.resolved(value);
    }
  }

  /** Settles without a value (a batch whose calls settled one by one, a stream). */
  end(): void {
    if (!this.#settled) this.#end();
  }

  #end(): void {
    this.#settled = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#ticker !== undefined) clearInterval(this.#ticker);
    this.options.signal?.removeEventListener('abort', this);
    if (this.#parent !== undefined) this.#parent.#children?.delete(this);
    if (this.#markDrained !== undefined) {
      this.#calls?.delete(this);
      this.#markDrained();
    }
  }

  /** Stops the call's work: what has not started, and with `running` what runs now. */
  protected abstract stop(running: boolean): void;
  /** Settles the call's promise with its value. */
  protected abstract resolved(value: unknown): void;
  /** Settles the call's promise with its error. */
  protected abstract rejected(error: Error): void;
}
