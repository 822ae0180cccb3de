// The leak soak (npm run soak -- --leaks, or node scripts/leaks.mjs [--calls N] [--replacements N]):
// N small kernel calls, N small JS-function calls (the express lane and the small-job path),
// and M worker replacements (maxTasksPerChild: 1), sampling RSS, V8 heap, external memory,
// threads and file descriptors after each tenth. Passes when every measure after the
// warm-up (two tenths; half of the replacements) stays within ±5% (or a small absolute
// slack for tiny numbers) of its first post-warm-up sample; prints the curve.
import { readdirSync, readFileSync } from 'node:fs';
import { Pool, kernels } from '../dist/index.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const CALLS = opt('--calls', 1_000_000);
const REPLACEMENTS = opt('--replacements', 10_000);
const MiB = 1 << 20;

function sample() {
  global.gc?.();
  const m = process.memoryUsage();
  const status = readFileSync('/proc/self/status', 'utf8');
  return {
    rssMiB: m.rss / MiB,
    heapMiB: m.heapUsed / MiB,
    externalMiB: (m.external + m.arrayBuffers) / MiB,
    threads: Number(/Threads:\s+(\d+)/.exec(status)?.[1] ?? 0),
    fds: readdirSync('/proc/self/fd').length,
  };
}

/** Runs `total` steps of `step` in tenths, sampling after each; returns the samples. */
async function phase(name, total, step) {
  const samples = [];
  const tenth = Math.max(1, Math.floor(total / 10));
  for (let done = 0; done < total; ) {
    const n = Math.min(tenth, total - done);
    await step(n);
    done += n;
    await new Promise((r) => setTimeout(r, 50)); // let finalizers and notes run
    const s = sample();
    samples.push({ done, ...s });
    process.stderr.write(`${name}: ${done.toLocaleString('en')} — RSS ${s.rssMiB.toFixed(1)} MiB, heap ${s.heapMiB.toFixed(1)}, external ${s.externalMiB.toFixed(1)}, threads ${s.threads}, fds ${s.fds}\n`);
  }
  return samples;
}

/** Compares every sample after the first `warmup` with the first one after them: what grew
 * (a leak only grows). (Worker replacements warm up for half the run: each new isolate's
 * thread gets a malloc arena, and RSS climbs while the arenas fill — 90 → 117 MiB over the
 * first 6,000 here — then stays.) `inFlight` workers may be between exit and start at a
 * sample: one thread and four descriptors each, there one moment and gone the next. */
function flat(samples, warmup = 2, inFlight = 0) {
  const base = samples[warmup] ?? samples.at(-1);
  const slack = { rssMiB: 8, heapMiB: 4, externalMiB: 4, threads: inFlight, fds: 4 * inFlight };
  const worst = {};
  for (const key of Object.keys(slack)) {
    let drift = 0;
    for (const s of samples.slice(warmup)) drift = Math.max(drift, s[key] - base[key]);
    worst[key] = { base: +base[key].toFixed(2), maxDrift: +drift.toFixed(2), ok: drift <= Math.max(0.05 * base[key], slack[key]) };
  }
  return worst;
}

const report = {};
const pool = new Pool(2);
const row = Float64Array.from({ length: 64 }, (_, i) => i);
const sum = (a) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
};
const want = sum(row);

report.kernelCalls = flat(await phase('kernel calls', CALLS, async (n) => {
  for (let i = 0; i < n; i++) if ((await pool.reduce(kernels.sum, row)) !== want) throw new Error('wrong kernel sum');
}));
report.jsCalls = flat(await phase('JS-function calls', CALLS, async (n) => {
  for (let i = 0; i < n; i++) if ((await pool.apply(sum, [row])) !== want) throw new Error('wrong JS sum');
}));
await pool.terminate();

const recycling = new Pool({ processes: 2, maxTasksPerChild: 1 });
report.workerReplacements = flat(await phase('worker replacements', REPLACEMENTS, async (n) => {
  const r = await recycling.map((x) => x + 1, Array.from({ length: n }, (_, i) => i), { chunksize: 1 });
  if (r.length !== n || r[n - 1] !== n) throw new Error('wrong map result');
}), 5, 2);
await recycling.terminate();

const ok = Object.values(report).every((r) => Object.values(r).every((m) => m.ok));
console.log(JSON.stringify({ calls: CALLS, replacements: REPLACEMENTS, ok, report }, null, 2));
process.exit(ok ? 0 : 1);
