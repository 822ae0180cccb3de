// Where a k-means step's time goes (row K1): a starmap over one range of points per worker,
// the points on sharedArray and the centroids in `opts.args`, each task ~4 ms. Each step is
// timed in four stretches: the caller's JS up to the board submit, from there to the first
// task's start (read on the worker's clock: performance.timeOrigin + now(), one clock for
// every thread), from the last task's end to the caller taking the results, and from there
// to the step's `await` resuming. The submit and the take are seen by wrapping the addon's
// functions, which the facade looks up at each call.
//
//   node benchmark/k1-step.mjs [--steps 300] [--threads N]
//
// Prints the median of each stretch over the steps after the first 100, and the work itself
// (the first task's start to the last task's end).
import { createRequire } from 'node:module';
import os from 'node:os';
import { Pool, sharedArray, task } from '../dist/index.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const STEPS = Number(option('--steps', 300));
const THREADS = Number(option('--threads', os.availableParallelism()));
const { native } = createRequire(import.meta.url)('../dist/util/native.js');
const now = () => performance.timeOrigin + performance.now();
let submitted = 0;
let taken = 0;
const submit = native.boardSubmit;
native.boardSubmit = (...a) => {
  submitted = now();
  return submit(...a);
};
const take = native.boardTake;
native.boardTake = (...a) => {
  taken ||= now();
  return take(...a);
};

const n = 200_000;
const k = 8;
const points = sharedArray(Float64Array, 2 * n);
for (let i = 0; i < 2 * n; i++) points[i] = ((i * 7919) % 1000) / 10;
const ranges = Array.from({ length: THREADS }, (_, t) => [Math.floor((t * n) / THREADS), Math.floor(((t + 1) * n) / THREADS)]);
/** K1's task (benchmark/peers/loops.cjs, the loop of bench.mjs's row K1), with its start and
 * end on the worker's clock after the k × 3 sums. */
const rangeSums = task(new URL('./peers/loops.cjs', import.meta.url), 'rangeSumsTimed');

const pool = new Pool(THREADS);
const rows = [];
for (let s = 0; s < STEPS; s++) {
  const centroids = Float64Array.from({ length: 2 * k }, (_, j) => j * 5 + (s % 3));
  taken = 0;
  const called = now();
  const parts = await pool.starmap(rangeSums, ranges, { args: [points, centroids] });
  const resumed = now();
  const first = Math.min(...parts.map((p) => p[3 * k]));
  const last = Math.max(...parts.map((p) => p[3 * k + 1]));
  if (s >= 100) rows.push([submitted - called, first - submitted, last - first, taken - last, resumed - taken]);
}
await pool.close();
await pool.join();
const median = (i) => {
  const v = rows.map((r) => r[i]).sort((a, b) => a - b);
  return (v[v.length >> 1] * 1000).toFixed(0);
};
console.log(`K1 step, ${THREADS} workers, median of ${rows.length} steps (µs):`);
console.log(`  the caller's JS up to the board submit   ${median(0)}`);
console.log(`  submit → the first task starts           ${median(1)}`);
console.log(`  the work (first start → last end)        ${median(2)}`);
console.log(`  the last task ends → results taken       ${median(3)}`);
console.log(`  results taken → the await resumes        ${median(4)}`);
