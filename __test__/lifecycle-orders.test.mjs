// Every order of close(), join(), terminate() and `await using` on one pool while another
// pool has calls in flight, express-lane calls included. A stopped pool hands its lane and
// worker slots on to the next pool made (spare-memory.ts); a second close of the first pool
// once wrote into the lane the second pool was using, and the process died.
import test from 'ava';
import { Pool, PoolStateError } from '../dist/index.mjs';

const f = (x) => x * 2;
/** A function new to the pool each time (the pool learns a function's cost: one known to
 * be slow is not sent through the lane), slow at -1. */
let made = 0;
const slowAtMinusOne = () => new Function('x', `/* ${made++} */ if (x === -1) { const end = Date.now() + 100; while (Date.now() < end); } return x * 2;`);
const small = (first, base = 0) => Float64Array.from({ length: 8 }, (_, i) => (i === 0 ? first : base + i));
const doubled = (input) => Float64Array.from(input, (x) => x * 2);

const ops = {
  close: (pool) => pool.close(),
  join: (pool) => pool.join(),
  terminate: (pool) => pool.terminate(),
  dispose: (pool) => pool[Symbol.asyncDispose](),
};

/** Every sequence of three steps that starts by stopping the pool (join first is refused). */
const sequences = [];
for (const a of ['close', 'terminate', 'dispose']) for (const b of Object.keys(ops)) for (const c of Object.keys(ops)) sequences.push([a, b, c]);

/** Runs `pool`'s work: a larger map (the task board), then small ones (the express lane). */
async function work(t, pool, base) {
  const wide = Float64Array.from({ length: 2000 }, (_, i) => base + i);
  t.deepEqual(await pool.map(f, wide), doubled(wide));
  for (let i = 0; i < 4; i++) t.deepEqual(await pool.map(f, small(base + i, base)), doubled(small(base + i, base)));
}

test('every order of close, join, terminate and await using, with another pool in flight', async (t) => {
  t.timeout(120_000);
  let inLane = 0;
  // Three runs at once, one for each first step: pools of one run take the memory that
  // pools of another hand on, too.
  const run = async (first) => { for (const steps of sequences.filter((s) => s[0] === first)) {
    const a = new Pool(1);
    await work(t, a, 1);
    await ops[steps[0]](a);
    // The next pool made takes the first one's memory once the first has stopped.
    const b = new Pool(1);
    await work(t, b, 2);
    // A small map in the lane, its caller waiting for the worker's note (a worker that was
    // parked may miss the lane's short poll, and the call then goes on the board: again).
    let laneCall;
    for (let tries = 0; tries < 20; tries++) {
      const g = slowAtMinusOne();
      t.deepEqual(await b.map(g, small(5)), doubled(small(5)));
      laneCall = b.map(g, small(-1));
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (b.stats().pendingCalls === 0) {
        inLane++;
        break;
      }
      await laneCall;
    }
    for (const step of steps.slice(1)) await ops[step](a);
    // Another small map finds the lane busy (unless a's stop wrote into it), and board calls.
    const inFlight = [laneCall, b.map(f, small(100, 100)), b.apply(f, [21]), b.map(f, Float64Array.from({ length: 3000 }, (_, i) => i))];
    const [lane, after, apply, board] = await Promise.all(inFlight);
    t.deepEqual(lane, doubled(small(-1)), steps.join(', '));
    t.deepEqual(after, doubled(small(100, 100)));
    t.is(apply, 42);
    t.deepEqual(board, doubled(Float64Array.from({ length: 3000 }, (_, i) => i)));
    t.not(a.state, 'running');
    await t.throwsAsync(a.map(f, [1]), { instanceOf: PoolStateError });
    await work(t, b, 3);
    await b.terminate();
  } };
  await Promise.all(['close', 'terminate', 'dispose'].map(run));
  // Whether a worker takes a lane call depends on its being awake (on a busy machine it may
  // be parked when the call is posted, and the call goes on the board): most sequences must
  // have run with the lane in use (40 of 48 with two busy loops beside the suite on 2 cores).
  t.log(`${inLane} of ${sequences.length} sequences had a call in the lane`);
  t.true(inLane >= sequences.length / 2, `${inLane} of ${sequences.length} sequences had a call in the lane`);
});

test('join() twice and terminate() during a graceful join settle once, with every result', async (t) => {
  const pool = new Pool({ processes: 2, initializer: () => { const end = Date.now() + 200; while (Date.now() < end); } });
  const calls = [pool.map(f, [1, 2, 3]), pool.apply(f, [4])];
  pool.close();
  const joins = [pool.join(), pool.join()];
  await Promise.all(joins);
  await pool.terminate();
  await pool.join();
  t.deepEqual(await Promise.all(calls), [[2, 4, 6], 8]);

  const other = new Pool({ processes: 1, initializer: () => { const end = Date.now() + 300; while (Date.now() < end); } });
  other.close();
  const graceful = other.join();
  await other.terminate(); // does not wait for the initializer
  await graceful;
  t.is(other.state, 'terminated');
});
