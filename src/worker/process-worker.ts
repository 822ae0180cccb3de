/**
 * The thread of a {@link Process}: run the target once, report what it threw, end. (A
 * pool's workers run pool-worker.ts instead.)
 * @internal
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SharedBuffers } from '../wire/buffers';
import { explain, resolveFn } from './compile';
import { setIdentity } from '../util/identity';
import { Msg, type ProcessInit, type ProcessMessage } from '../wire/protocol';
import { isThenable } from '../util/thenable';
import { decodeValue } from '../wire/payloads';
import { encodeError } from '../wire/errors';

/** A {@link Process}'s thread: run the target once, report what it threw, end. */
async function main(init: ProcessInit): Promise<void> {
  setIdentity(init.name, 0);
  try {
    const fn = await resolveFn(init.f);
    const r = fn(...(decodeValue(init.args, new SharedBuffers(init.sabs).resolve) as unknown[]));
    if (isThenable(r)) await r;
    // One turn of the event loop, so a promise the target rejected without handling it is
    // reported (as an uncaught error: exit code 1) rather than lost.
    await new Promise((resolve) => setImmediate(resolve));
  } catch (thrown) {
    const { err, serialization } = explain(thrown, init.f);
    parentPort!.postMessage([Msg.ProcessError, encodeError(err, -1, [], serialization)] satisfies ProcessMessage);
    process.exit(1);
  }
  process.exit(0);
}

/** Runs the target, in a {@link Process}'s thread (process-entry.ts calls it). */
export function start(): void {
  const init = (workerData as { ferropoolProcess?: ProcessInit } | undefined)?.ferropoolProcess;
  if (parentPort && init) void main(init);
}
