/**
 * A worker thread's console output on its way to the main thread: a worker flushes it
 * before it hands a result over, so no line printed by a task is lost.
 * @internal
 */

/**
 * Whether console output of this worker is still on its way. A worker's stdout and stderr
 * reach the main thread through a port one write at a time: each further write waits in the
 * stream until the main thread acknowledges the last one, and this thread reads that
 * acknowledgement only when its event loop turns, which a worker running chunks or parked in
 * `Atomics.wait` does not do. Without the turns below, only a task's first line printed.
 */
export function outputPending(): boolean {
  return process.stdout.writableLength > 0 || process.stderr.writableLength > 0;
}

export const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

/** How long a worker waits for the main thread to take its output before it goes on (the
 * main thread may be busy, or polling for this very result). */
export const FLUSH_MS = 2000;

/** Turns the event loop until the output has gone to the main thread, while `wait()` holds
 * (the caller stops when new work comes: the rest goes at the next idle moment), for at most
 * `ms` (the main thread may be busy). */
export async function flushOutput(wait: () => boolean, ms: number): Promise<void> {
  const until = performance.now() + ms;
  await turn();
  while (outputPending() && wait() && performance.now() < until) await tick();
}
