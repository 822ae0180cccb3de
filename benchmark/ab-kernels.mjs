// A/B of addon builds on the kernel rows W3a and W4, in one process, interleaved with the
// C/OpenMP reference: a change to the kernels is judged on the same machine state as what it
// is compared with (bench.mjs runs one build, and its C reference after the JS rounds).
//
//   cp native/ferropool.*.node /tmp/before.node    # then rebuild (npm run build:native)
//   node benchmark/ab-kernels.mjs [--rounds N] [--threads N] /tmp/before.node native/ferropool.*.node
//
// Every build is loaded side by side (each has its own native pool; an idle pool parks its
// threads). Per round: the C reference (into a reused and a fresh output), then each build,
// in an order that rotates between rounds, on W3a into out (square 10M doubles into a
// preallocated Float64Array), W3a fresh (into an output allocated as the facade does) and
// W4 (2,000 successive sums of Math.sqrt over 1,000 doubles, per call). Prints medians,
// lower quartiles and minima: on a shared machine the spread is wide. For W3a it also
// prints the CPU time a call took over all threads, which other processes' load barely
// moves (it leaves out the time the pool's threads wait for a core).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? Number(args.splice(args.indexOf(name), 2)[1]) : fallback);
const ROUNDS = option('--rounds', 15);
const THREADS = option('--threads', os.availableParallelism());
const builds = args.map((p) => path.resolve(p));
if (builds.length === 0) throw new Error('usage: node benchmark/ab-kernels.mjs [--rounds N] [--threads N] a.node [b.node ...]');
const addons = builds.map((file) => {
  const module = { exports: {} };
  process.dlopen(module, file);
  return module.exports;
});

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
mkdirSync(here('./.build'), { recursive: true });
const refBinary = here('./.build/ref');
const built = spawnSync('gcc', ['-O3', '-march=native', '-fopenmp', '-o', refBinary, here('./native/ref.c'), '-lm'], { encoding: 'utf8' });
const ref = built.status === 0 ? () => JSON.parse(execFileSync(refBinary, ['square', '10000000', String(THREADS), '2'], { encoding: 'utf8' })) : undefined;

const n = 10_000_000;
const input = new Float64Array(n).map((_, i) => i % 1000);
const out = new Float64Array(n);
const row = new Float64Array(1000).map((_, i) => i % 1000);
const SQUARE = 0; // MapKernelOp.Square
const SQRT = 1; // MapKernelOp.Sqrt
const SUM = 0; // ReduceKernelOp.Sum
const FLOAT64 = 0; // FloatArrayKind.Float64
let id = 1;
/** Wall time of `run`, in ms; with `cpu`, also pushes the CPU time of the whole process
 * (every thread, the pool's spin after the call included) to `cpu`. */
const timed = async (run, cpu) => {
  const [t, c] = [performance.now(), process.cpuUsage()];
  await run();
  const wall = performance.now() - t;
  if (cpu) {
    await new Promise((resolve) => setTimeout(resolve, 2));
    const used = process.cpuUsage(c);
    cpu.push((used.user + used.system) / 1000);
  }
  return wall;
};
const rows = {
  'W3a into out (ms)': (k, cpu) => timed(() => k.mapKernel(id++, SQUARE, 0, 0, input, out, 0, THREADS), cpu),
  'W3a fresh (ms)': (k, cpu) => timed(() => k.mapKernel(id++, SQUARE, 0, 0, input, k.allocOutput(FLOAT64, n) ?? new Float64Array(n), 0, THREADS), cpu),
  'W4 (µs a call)': async (k) => {
    const ms = await timed(async () => {
      for (let c = 0; c < 2000; c++) await k.reduceKernel(id++, SUM, SQRT, 0, 0, row, null, 0, THREADS);
    });
    return ms / 2;
  },
};
const samples = Object.fromEntries(Object.keys(rows).map((r) => [r, builds.map(() => [])]));
const cpuSamples = Object.fromEntries(Object.keys(rows).map((r) => [r, builds.map(() => [])]));
const refSamples = { 'W3a into out (ms)': [], 'W3a fresh (ms)': [] };
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

for (let warm = 0; warm < 2; warm++) for (const k of addons) for (const run of Object.values(rows)) await run(k);
for (let round = 0; round < ROUNDS; round++) {
  if (ref) {
    const r = ref();
    refSamples['W3a into out (ms)'].push(...r.reused);
    refSamples['W3a fresh (ms)'].push(...r.fresh);
  }
  const order = addons.map((_, i) => (i + round) % addons.length); // each build in every position
  for (const [name, run] of Object.entries(rows)) {
    for (const i of order) {
      await settle();
      samples[name][i].push(await run(addons[i], cpuSamples[name][i]));
    }
  }
}

const sorted = (xs) => [...xs].sort((a, b) => a - b);
const quantile = (xs, q) => sorted(xs)[Math.floor((xs.length - 1) * q)];
const median = (xs) => {
  const s = sorted(xs);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const stats = (xs) => ({ median: median(xs), p25: quantile(xs, 0.25), min: Math.min(...xs) });
const fmt = (s, base) => ['median', 'p25', 'min'].map((k) => `${k} ${s[k].toFixed(3)}${base ? ` (${(s[k] / base[k]).toFixed(2)}x C)` : ''}`).join(', ');
console.log(`${ROUNDS} rounds, ${THREADS} threads, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
for (const name of Object.keys(rows)) {
  const base = ref && refSamples[name] ? stats(refSamples[name]) : undefined;
  console.log(name);
  if (base) console.log(`  native C/OpenMP: ${fmt(base)}`);
  for (const [i, file] of builds.entries()) {
    console.log(`  ${file}: ${fmt(stats(samples[name][i]), base)}`);
    const cpu = cpuSamples[name][i];
    if (cpu.length) console.log(`    CPU time, all threads (ms): ${fmt(stats(cpu))}`);
  }
}
