// Model-based fault sequences: random sequences of calls on one pool — kernels and JS
// functions, map / imap / imapUnordered / apply / applyAsync / reduce — mixed with faults
// (a task that throws, calls process.exit, runs out of memory, loops forever under a
// timeout, is aborted before or during its run) and with close() / terminate() at random
// points. The model predicts each call's outcome class; every call must settle with that
// class before a deadline (a hang is a failure), and a pool that was not terminated must
// answer a correct map afterwards. Used by __test__/soak.test.mjs (a few sequences in
// `npm test`) and scripts/soak.mjs (`npm run soak`: 1,000, seeded, reproducible).
import fc from 'fast-check';
import { AbortError, Pool, PoolStateError, TimeoutError, WorkerCrashedError, kernels } from '../../dist/index.mjs';

/** Each step: what to call, and the outcome class the model expects while the pool runs. */
const STEPS = {
  mapJs: { weight: 5, expect: 'ok' },
  mapKernel: { weight: 3, expect: 'ok' },
  apply: { weight: 5, expect: 'ok' },
  applyAsync: { weight: 2, expect: 'ok' },
  imap: { weight: 2, expect: 'ok' },
  imapUnordered: { weight: 2, expect: 'ok' },
  reduce: { weight: 2, expect: 'ok' },
  reduceKernel: { weight: 1, expect: 'ok' },
  throws: { weight: 3, expect: 'RangeError' },
  exit: { weight: 2, expect: 'WorkerCrashedError' },
  oom: { weight: 1, expect: 'WorkerCrashedError' },
  endless: { weight: 1, expect: 'TimeoutError' },
  abortBefore: { weight: 1, expect: 'AbortError' },
  abortDuring: { weight: 1, expect: 'AbortError' },
  close: { weight: 1, expect: 'control' },
  terminate: { weight: 1, expect: 'control' },
};

/** A sequence: steps with a size, and whether to await each before the next. */
export const sequenceArb = fc.array(
  fc.record({
    kind: fc.constantFrom(...Object.entries(STEPS).flatMap(([k, v]) => Array(v.weight).fill(k))),
    n: fc.integer({ min: 0, max: 300 }),
    awaitIt: fc.boolean(),
  }),
  { minLength: 1, maxLength: 12 },
);

/** What a call did: its outcome class, and whether its value was right. */
/** Whether a worker of this process was given up by the heap watchdog (Node 24: a worker
 * spinning in garbage collection past its limits, whose thread can never be joined, so the
 * process cannot exit by itself). */
let givenUp = false;
export const workerGivenUp = () => givenUp;

async function outcome(promise, check) {
  try {
    const value = await promise;
    return check(value) ? 'ok' : `wrong value: ${JSON.stringify(value).slice(0, 80)}`;
  } catch (err) {
    if (err instanceof WorkerCrashedError && /given up/.test(err.message)) givenUp = true;
    for (const C of [WorkerCrashedError, TimeoutError, AbortError, PoolStateError]) if (err instanceof C) return C.name;
    return err?.name ?? String(err);
  }
}

const range = (n) => Array.from({ length: n }, (_, i) => i);
const sumTo = (n) => (n * (n - 1)) / 2;

function start(pool, step) {
  const { kind, n } = step;
  const xs = range(n + 1);
  switch (kind) {
    case 'mapJs':
      return outcome(pool.map((x) => x * 3, xs), (r) => r.length === xs.length && r.every((v, i) => v === i * 3));
    case 'mapKernel':
      return outcome(pool.map(kernels.square, Float64Array.from(xs)), (r) => r.length === xs.length && r.every((v, i) => v === i * i));
    case 'apply':
      return outcome(pool.apply((a, b) => a * b + 1, [n, 2]), (r) => r === n * 2 + 1);
    case 'applyAsync':
      return outcome(pool.applyAsync((a) => a - 1, [n]), (r) => r === n - 1);
    case 'imap':
      return outcome((async () => { const out = []; for await (const r of pool.imap((x) => x + 1, xs, { chunksize: 7 })) out.push(r); return out; })(), (r) => r.length === xs.length && r.every((v, i) => v === i + 1));
    case 'imapUnordered':
      return outcome((async () => { const out = []; for await (const r of pool.imapUnordered((x) => x * 2, xs, { chunksize: 5 })) out.push(r); return out; })(), (r) => r.length === xs.length && [...r].sort((a, b) => a - b).every((v, i) => v === i * 2));
    case 'reduce':
      return outcome(pool.reduce((a, b) => a + b, xs), (r) => r === sumTo(xs.length));
    case 'reduceKernel':
      return outcome(pool.reduce(kernels.sum, Float64Array.from(xs)), (r) => r === sumTo(xs.length));
    case 'throws':
      return outcome(pool.map((x) => { if (x === 3) throw new RangeError('three'); return x; }, range(Math.max(4, n)), { chunksize: 2 }), () => false);
    case 'exit':
      return outcome(pool.apply((code) => process.exit(code), [3 + (n % 5)]), () => false);
    case 'oom':
      return outcome(pool.apply(() => { const keep = []; for (;;) keep.push(new Array(10_000).fill(0)); }), () => false);
    case 'endless':
      return outcome(pool.apply(() => { for (;;); }, [], { timeout: 50 }), () => false);
    case 'abortBefore': {
      const ac = new AbortController();
      ac.abort();
      return outcome(pool.map((x) => x, xs, { signal: ac.signal }), () => false);
    }
    case 'abortDuring': {
      const ac = new AbortController();
      const p = pool.apply(() => { const end = Date.now() + 5_000; while (Date.now() < end); return 1; }, [], { signal: ac.signal });
      setTimeout(() => ac.abort(), 20);
      return outcome(p, () => false);
    }
    default:
      throw new Error(`unknown step ${kind}`);
  }
}

/**
 * Runs one sequence on a fresh pool; returns counts, or throws describing the first call
 * that settled with the wrong class or not before `deadlineMs`.
 */
export async function runSequence(steps, { deadlineMs = 20_000 } = {}) {
  const pool = new Pool({ processes: 2, resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 } });
  let state = 'running';
  const pending = [];
  const counts = { calls: 0, faults: 0, controls: 0 };
  try {
    for (const [i, step] of steps.entries()) {
      if (step.kind === 'close' || step.kind === 'terminate') {
        counts.controls++;
        if (step.kind === 'terminate') {
          // Unfinished calls reject with PoolStateError: the model says so for the pending.
          for (const p of pending) if (p.expect !== 'control') p.expect = `${p.expect}|PoolStateError`;
          await pool.terminate();
          state = 'terminated';
        } else if (state === 'running') {
          pool.close();
          state = 'closed';
        }
        continue;
      }
      counts.calls++;
      if (STEPS[step.kind].expect !== 'ok') counts.faults++;
      const expect = state === 'running' ? STEPS[step.kind].expect : 'PoolStateError';
      const entry = { i, step, expect, result: start(pool, step) };
      pending.push(entry);
      if (step.awaitIt) await settleWithin(entry, deadlineMs);
    }
    for (const entry of pending) await settleWithin(entry, deadlineMs);
    if (state === 'running') {
      const r = await withDeadline(pool.map((x) => x + 1, [1, 2, 3]), deadlineMs, 'the map after the sequence');
      if (JSON.stringify(r) !== '[2,3,4]') throw new Error(`the pool answered ${JSON.stringify(r)} after the sequence`);
    }
    return counts;
  } finally {
    await withDeadline(pool.terminate(), deadlineMs, 'terminate() after the sequence');
  }
}

async function settleWithin(entry, deadlineMs) {
  if (entry.checked) return;
  entry.checked = true;
  const got = await withDeadline(entry.result, deadlineMs, `step ${entry.i} (${entry.step.kind})`);
  const allowed = entry.expect.split('|');
  // A call that raced a close() may also have been refused by it.
  if (!allowed.includes(got)) throw new Error(`step ${entry.i} (${entry.step.kind}, n=${entry.step.n}) settled as ${got}, the model expected ${entry.expect}`);
}

function withDeadline(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`HANG: ${what} did not settle within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
