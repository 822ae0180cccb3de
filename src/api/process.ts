/**
 * `Process`: Python's `multiprocessing.Process`, one function on a thread of its own.
 * @module
 */
import * as path from 'node:path';
import { type ResourceLimits, Worker } from 'node:worker_threads';
import { PoolStateError } from '../engine/errors';
import { rebuildError } from '../engine/remote';
import { describe } from '../util/describe';
import { type ModuleTask, shipFunction } from './task';
import type { SharedRefs } from '../wire/payloads';
import { decodeError } from '../wire/errors';
import { checkProcessOptions, optionalArray, optionalBoolean, optionalObject, optionalString, sendableArgs } from '../engine/options';
import { type FnSpec, Msg, type ProcessInit } from '../wire/protocol';
import { trimAfterThreadExit } from '../util/native';

/**
 * Options of {@link Process}.
 * @typeParam A - The arguments of `target`.
 * @example
 * ```ts
 * const p = new Process({
 *   target: (q, n) => { for (let i = 0; i < n; i++) q.put(i); },
 *   args: [queue, 3],
 *   name: 'producer',
 *   daemon: true,
 *   resourceLimits: { maxOldGenerationSizeMb: 256 },
 * });
 * ```
 */
export interface ProcessOptions<A extends readonly unknown[] = unknown[]> {
  /** The function to run: self-contained (shipped by source, like a pool's tasks) or a {@link task}. */
  target: ((...args: A) => unknown) | ModuleTask;
  /** Its arguments: structured-clone values; Lock, Value, Queue and SharedArrayBuffers are shared. */
  args?: A;
  /** Its name (default `'Process-<n>'`), which `currentProcess().name` returns inside it. */
  name?: string;
  /** A daemon does not keep the program alive (Python's `daemon=True`). Default false. */
  daemon?: boolean;
  /** Memory limits of its thread (Node's `Worker` `resourceLimits`). */
  resourceLimits?: ResourceLimits;
}


const WORKER_SCRIPT = path.join(__dirname, '..', 'worker', 'process-entry.js');
/** Python's exit code for a process stopped by `terminate()` (-SIGTERM). */
const TERMINATED = -15;
let started = 0;

/**
 * Python's `multiprocessing.Process`: runs `target(...args)` once on a thread of its own.
 * `start()` starts it, `join()` waits for it and gives its exit code: 0 when `target`
 * returned (or its promise resolved), 1 when it threw — the error is printed to stderr, as
 * Python prints the traceback, and kept in `error` — or the code it passed to
 * `process.exit()`. Its thread ends when `target` is done.
 *
 * @example
 * ```ts
 * const p = new Process({ target: (name) => console.log(`hello ${name}`), args: ['world'] });
 * p.start();
 * await p.join(); // 0
 * ```
 * @typeParam A - The arguments of `target`.
 */
export class Process<A extends readonly unknown[] = unknown[]> {
  /** Its name: `'Process-<n>'` unless given. */
  readonly name: string;
  /** Whether it lets the program exit while it runs. */
  readonly daemon: boolean;
  readonly #spec: FnSpec;
  readonly #args: Buffer;
  readonly #refs: SharedRefs = new Map();
  readonly #limits: ResourceLimits | undefined;
  #worker: Worker | undefined;
  #threadId: number | undefined;
  #exited: Promise<void> | undefined;
  #exitCode: number | null = null;
  #error: Error | undefined;
  #terminating = false;

  /**
   * A process that will run `options.target(...options.args)`; {@link Process.start} starts it.
   * @example
   * ```ts
   * const p = new Process({ target: (a, b) => console.log(a + b), args: [1, 2], name: 'adder' });
   * ```
   */
  constructor(options: ProcessOptions<A>) {
    checkProcessOptions(options);
    this.#spec = shipFunction(options.target, 'Process: target');
    const args = options.args ?? [];
    optionalArray(args, 'Process: args');
    this.#args = sendableArgs(args, 'Process: args cannot be sent to a thread', 'args', this.#refs);
    started++;
    optionalString(options.name, 'Process: name');
    this.name = options.name ?? `Process-${started}`;
    optionalBoolean(options.daemon, 'Process: daemon');
    this.daemon = options.daemon ?? false;
    optionalObject(options.resourceLimits, 'Process: resourceLimits');
    this.#limits = options.resourceLimits;
  }

  /**
   * Starts the thread. A process starts once (Python raises the same way).
   * @example
   * ```ts
   * p.start();
   * p.start(); // throws PoolStateError: a process can be started only once
   * ```
   */
  start(): void {
    if (this.#worker) throw new PoolStateError(`${this.name}: a process can be started only once`, 'ERR_PROCESS_STATE');
    const init: ProcessInit = { f: this.#spec, args: this.#args, sabs: [...this.#refs], name: this.name };
    const worker = new Worker(WORKER_SCRIPT, { workerData: { ferropoolProcess: init }, resourceLimits: this.#limits, stdout: false, stderr: false });
    this.#worker = worker;
    this.#threadId = worker.threadId;
    if (this.daemon) worker.unref();
    worker.on('message', (msg: unknown) => {
      if (!Array.isArray(msg) || msg[0] !== Msg.ProcessError) return;
      const wire = decodeError(msg[1] as Uint8Array);
      const err = rebuildError(wire) as Error & { index?: number };
      err.stack = wire.stack ?? `${wire.name}: ${wire.message}`;
      delete err.index;
      this.#error ??= err;
    });
    // An error the target did not catch on its own (an unhandled rejection, out of memory).
    worker.on('error', (err) => {
      this.#error ??= err;
    });
    this.#exited = new Promise((resolve) => {
      worker.once('exit', (code) => {
        trimAfterThreadExit();
        this.#exitCode = this.#terminating ? TERMINATED : code;
        if (this.#error && !this.#terminating) {
          process.stderr.write(`Process ${this.name} failed: ${this.#error.stack ?? String(this.#error)}\n`);
        }
        resolve();
      });
    });
  }

  /**
   * Waits for the thread to end and gives its exit code; with `timeout` (ms), gives `null`
   * if it is still running then (Python's `join(timeout)`; check `exitCode`).
   * @example
   * ```ts
   * p.start();
   * const code = await p.join(1000); // null if it is still running after 1 s
   * if (code === null) await p.terminate();
   * ```
   */
  async join(timeout?: number): Promise<number | null> {
    if (timeout !== undefined && (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0)) {
      throw new RangeError(`${this.name}.join: timeout must be a number of milliseconds >= 0, got ${describe(timeout)}`);
    }
    if (!this.#exited) throw new PoolStateError(`${this.name}.join: the process was not started (call start() first)`, 'ERR_PROCESS_STATE');
    if (timeout === undefined) {
      await this.#exited;
    } else {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#exited, new Promise<void>((r) => (timer = setTimeout(r, timeout)))]);
      clearTimeout(timer);
    }
    return this.#exitCode;
  }

  /**
   * Stops the thread now (its `exitCode` becomes -15, as Python's SIGTERM).
   * @example
   * ```ts
   * const p = new Process({ target: () => { for (;;); } });
   * p.start();
   * await p.terminate();
   * p.exitCode; // -15
   * ```
   */
  async terminate(): Promise<void> {
    if (!this.#worker || this.#exitCode !== null) return;
    this.#terminating = true;
    await this.#worker.terminate();
    await this.#exited;
  }

  /**
   * Whether it was started and has not ended.
   * @example
   * ```ts
   * p.start();
   * p.isAlive(); // true
   * await p.join();
   * p.isAlive(); // false
   * ```
   */
  isAlive(): boolean {
    return this.#worker !== undefined && this.#exitCode === null;
  }

  /**
   * The exit code: `null` until it ends; 0 when `target` finished, 1 when it threw.
   * @example
   * ```ts
   * await p.join();
   * if (p.exitCode !== 0) console.error(`${p.name} failed with ${p.exitCode}`);
   * ```
   */
  get exitCode(): number | null {
    return this.#exitCode;
  }

  /**
   * What `target` threw (or rejected with), once it has ended; undefined otherwise.
   * @example
   * ```ts
   * const p = new Process({ target: () => { throw new Error('boom'); } });
   * p.start();
   * await p.join(); // 1
   * p.error?.message; // 'boom'
   * ```
   */
  get error(): Error | undefined {
    return this.#exitCode === null ? undefined : this.#error;
  }

  /**
   * Its thread's id (`worker_threads.threadId`), once started.
   * @example
   * ```ts
   * p.start();
   * console.log(p.threadId); // what currentProcess().threadId says inside it
   * ```
   */
  get threadId(): number | undefined {
    return this.#threadId;
  }

  /**
   * The OS process id once started (every thread shares the program's).
   * @example
   * ```ts
   * p.start();
   * p.pid === process.pid; // true
   * ```
   */
  get pid(): number | undefined {
    return this.#worker ? process.pid : undefined;
  }
}
