// The floors of the per-call rows W4 (JS fn) and W4m: the least any pool of worker threads can
// take for them on this machine, measured beside ferropool in one process, interleaved.
//
// The floor is a bare round trip between two polling threads over a SharedArrayBuffer, with
// nothing of a pool around it: the caller writes the 1,000 doubles where a worker that spins
// on a shared word reads them, the worker runs the loop (W4m: writes each Math.sqrt into the
// shared memory; W4: copies them into an array of the function's own, made before the call,
// and sums them), and the caller, spinning too, sees it done and takes the
// result (W4m: a new Float64Array of the results, as every map must return, then the sum
// that the workload asks for). A pool adds to that what a pool is: checking the call,
// finding the function, its promise, and a worker that does not spin when nothing comes.
//
//   node benchmark/floors.mjs [--rounds 9] [--calls 2000] [--only W4m,W4,K1o] [--dist dist/index.mjs]
//
// K1o is what a pool adds to a k-means step (row K1) beside its loop: the step's call with
// tasks that return at once (a starmap over one range per thread, the points and centroids in
// `opts.args`; piscina's `run()` per range, as K1 drives it), with 0.2 ms of the caller's own
// work between steps (K1 recomputes its centroids there), so the workers wait between calls
// as they do in K1.
//
// Prints, per workload, each contender's median µs a call over the rounds (a round: the
// median of its calls), its spread, and ferropool's ratio to the floor (K1o: to piscina). The
// serial loop runs the same work on the caller's thread.
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args.splice(args.indexOf(name), 2)[1] : fallback);
const ROUNDS = Number(option('--rounds', 9));
const CALLS = Number(option('--calls', 2000));
const ONLY = option('--only', 'W4m,W4,K1o').split(',');
const DIST = option('--dist', new URL('../dist/index.mjs', import.meta.url).pathname);
const { Pool, sharedArray } = await import(pathToFileURL(path.resolve(DIST)).href);
const N = 1000;

// The shared words: [0] the call's sequence number (the caller's), [1] what to run (0: the
// map, 1: the sum, 2: stop), [2] the sequence number the worker finished, [3] 1 while the
// worker sleeps.
const sab = new SharedArrayBuffer(16 + 2 * 8 * N);
const ctl = new Int32Array(sab, 0, 4);
const lane = new Float64Array(sab, 16, N);
const back = new Float64Array(sab, 16 + 8 * N, N);
const worker = new Worker(
  `const { workerData: sab } = require('node:worker_threads');
  const ctl = new Int32Array(sab, 0, 4);
  const x = new Float64Array(sab, 16, ${N});
  const out = new Float64Array(sab, 16 + ${8 * N}, ${N});
  let seen = 0;
  let spare = new Float64Array(${N});
  for (;;) {
    let seq;
    // Spins for a while, then sleeps (word 3 set) until the next call: idle, it leaves the
    // cores to the rest of the benchmark, as a pool's worker does.
    for (let t0 = Date.now(); (seq = Atomics.load(ctl, 0)) === seen; ) {
      if (Date.now() - t0 < 2) continue;
      Atomics.store(ctl, 3, 1);
      Atomics.wait(ctl, 0, seen);
      Atomics.store(ctl, 3, 0);
    }
    seen = seq;
    const mode = Atomics.load(ctl, 1);
    if (mode === 2) break;
    if (mode === 0) {
      for (let i = 0; i < ${N}; i++) out[i] = Math.sqrt(x[i]);
    } else {
      // The function gets an array of its own (it may keep it), made before the call came.
      const a = spare;
      a.set(x);
      let s = 0;
      for (let i = 0; i < ${N}; i++) s += Math.sqrt(a[i]);
      out[0] = s;
    }
    Atomics.store(ctl, 2, seq);
    if (mode === 1) spare = new Float64Array(${N});
  }`,
  { eval: true, workerData: sab },
);
let seq = 0;
function bare(mode, x) {
  lane.set(x);
  Atomics.store(ctl, 1, mode);
  Atomics.store(ctl, 0, ++seq);
  if (Atomics.load(ctl, 3) === 1) Atomics.notify(ctl, 0);
  const result = mode === 0 ? new Float64Array(N) : undefined; // made while the worker works
  while (Atomics.load(ctl, 2) !== seq) {}
  if (mode === 1) return back[0];
  result.set(back);
  let s = 0;
  for (let i = 0; i < N; i++) s += result[i];
  return s;
}

const x = Float64Array.from({ length: N }, (_, i) => i + 0.5);
let want = 0;
for (let i = 0; i < N; i++) want += Math.sqrt(x[i]);
const close = (v) => Math.abs(v - want) <= 1e-9 * want;
const sumSqrt = (a) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.sqrt(a[i]);
  return s;
};
const pool = new Pool();
const threads = os.availableParallelism();
const points = sharedArray(Float64Array, 2 * 200_000);
const ranges = Array.from({ length: threads }, (_, t) => [t * 100, (t + 1) * 100]);
const emptySums = (_start, _end, _pts, cen) => new Float64Array((cen.length / 2) * 3);
const step = async (run, s) => {
  const cen = new Float64Array(16).fill(s);
  const parts = await run(cen);
  const t0 = performance.now();
  while (performance.now() - t0 < 0.2) {} // the caller's own work between steps
  return parts.length === threads && parts[0].length === 24 ? want : Number.NaN;
};
let piscina;
try {
  const { Piscina } = createRequire(import.meta.url)('piscina');
  piscina = new Piscina({ filename: new URL('./peers/piscina-worker.cjs', import.meta.url).pathname, minThreads: threads, maxThreads: threads });
} catch {
  // piscina is a devDependency: K1o runs without it
}
let steps = 0;
const contenders = {
  W4m: {
    floor: async () => bare(0, x),
    ferropool: async () => {
      const r = await pool.map((v) => Math.sqrt(v), x);
      let s = 0;
      for (let i = 0; i < r.length; i++) s += r[i];
      return s;
    },
    serial: async () => {
      const r = x.map((v) => Math.sqrt(v));
      let s = 0;
      for (let i = 0; i < r.length; i++) s += r[i];
      return s;
    },
  },
  W4: {
    floor: async () => bare(1, x),
    ferropool: () => pool.apply(sumSqrt, [x]),
    serial: async () => sumSqrt(x),
  },
  K1o: {
    ferropool: () => step((cen) => pool.starmap(emptySums, ranges, { args: [points, cen] }), steps++),
    ...(piscina && {
      piscina: () => step((cen) => Promise.all(ranges.map(([start, end]) => piscina.run({ points: points.buffer, centroids: cen, start, end }, { name: 'kmeansRanges' }))), steps++),
    }),
  },
};

const median = (a) => {
  const s = [...a].sort((p, q) => p - q);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
/** µs a call: the median of `CALLS` calls, each checked. */
async function time(name, run) {
  const each = new Array(CALLS);
  for (let c = 0; c < CALLS; c++) {
    const t0 = process.hrtime.bigint();
    const v = await run();
    each[c] = Number(process.hrtime.bigint() - t0) / 1e3;
    if (!close(v)) throw new Error(`${name} gave ${v}, not ${want}`);
  }
  return median(each);
}

const figures = {};
for (let r = -2; r < ROUNDS; r++) {
  for (const [id, set] of Object.entries(contenders)) {
    if (!ONLY.includes(id)) continue;
    const names = Object.keys(set);
    if (r % 2) names.reverse();
    for (const name of names) {
      const us = await time(`${id} ${name}`, set[name]);
      if (r >= 0) ((figures[id] ??= {})[name] ??= []).push(us); // two warm-up rounds
    }
  }
}
Atomics.store(ctl, 1, 2);
Atomics.store(ctl, 0, ++seq);
Atomics.notify(ctl, 0);
await worker.terminate();
await piscina?.destroy();
await pool.close();
await pool.join();

console.log(`µs a call, ${CALLS} calls a round, median of ${ROUNDS} rounds (range); ferropool: Pool(${pool.processes})`);
for (const [id, set] of Object.entries(figures)) {
  for (const [name, a] of Object.entries(set)) {
    console.log(`${id.padEnd(4)} ${name.padEnd(10)} ${median(a).toFixed(2).padStart(7)}  (${Math.min(...a).toFixed(2)}-${Math.max(...a).toFixed(2)})`);
  }
  const base = set.floor ? 'floor' : 'piscina';
  if (set[base]) console.log(`${id.padEnd(4)} ferropool / ${base}: ${(median(set.ferropool) / median(set[base])).toFixed(2)}×`);
}
