// `npm run bench`: ferropool against a serial JS loop, a native C/OpenMP reference, the
// pure-JS pools (piscina, tinypool, workerpool, poolifier) and Python's multiprocessing.Pool,
// on the workloads of ../shared/BENCHMARKS.md, side by side in one process run.
//
// The runner is written here rather than taken from tinybench: the targets are ratios, and a
// ratio is only fair when its two sides share the machine's state, so every round runs every
// contender of a workload once, in a rotating order (interleaved), and we report medians.
// tinybench runs one task's samples after another.
//
//   node benchmark/bench.mjs [--quick] [--json] [--only W1,W3a,W4m,W7,W8,E1,E2,E3,K1,K2,A1] [--threads N]
//   node benchmark/bench.mjs --cluster [--quick] [--json]   (C1: see cluster.mjs)
//   --dist <another build's dist/index.mjs> times that build (benchmark/ab-main.mjs uses it)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { peers } from './peers/index.mjs';

const args = process.argv.slice(2);
if (args.includes('--cluster')) {
  // C1, cluster mode: its own runner (a Redis server and worker host processes), see cluster.mjs.
  await (await import('./cluster.mjs')).runCluster(args);
  process.exit(0);
}
const DIST = args.includes('--dist') ? pathToFileURL(path.resolve(args[args.indexOf('--dist') + 1])).href : '../dist/index.mjs';
const { Pool, kernels, sharedArray } = await import(DIST);
const QUICK = args.includes('--quick');
const JSON_OUT = args.includes('--json');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : undefined;
const THREADS = args.includes('--threads') ? Number(args[args.indexOf('--threads') + 1]) : os.availableParallelism();
const ROUNDS = QUICK ? 3 : 7;
const SETTLE_MS = 25;
/** Untimed runs of every contender first: JIT tiers, worker start-up, caches. */
const WARMUP = 3;
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
// K1's and K2's loops: one definition, run by the serial loop, ferropool and piscina alike.
const { rangeSums, blurRows } = createRequire(import.meta.url)('./peers/loops.cjs');
const log = (...m) => process.stderr.write(`${m.join(' ')}\n`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
let lastStep = 'start';
const progress = (text) => {
  if (text) lastStep = text;
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${text}`);
};
// Node 20 exits with 13, silently, when a top-level await never settles: say where.
let finished = false;
process.on('exit', () => finished || log(`\nbenchmark stopped before the end, at: ${lastStep}`));

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    threads: THREADS,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
  };
}

/** Builds the C reference; undefined (with a note) when there is no gcc. */
function buildNative() {
  const prebuilt = process.env.FERROPOOL_NATIVE_REF; // a ref built elsewhere (a machine without gcc)
  if (prebuilt) return (mode, ...rest) => JSON.parse(execFileSync(prebuilt, [mode, ...rest.map(String)], { encoding: 'utf8' }));
  const out = here('./.build/ref');
  mkdirSync(here('./.build'), { recursive: true });
  const r = spawnSync('gcc', ['-O3', '-march=native', '-fopenmp', '-o', out, here('./native/ref.c'), '-lm'], { encoding: 'utf8' });
  if (r.status !== 0) {
    log(`note: no native reference (gcc -fopenmp failed: ${(r.stderr || r.error?.message || '').trim().split('\n')[0]})`);
    return undefined;
  }
  return (mode, ...rest) => JSON.parse(execFileSync(out, [mode, ...rest.map(String)], { encoding: 'utf8' }));
}

/**
 * Runs `contenders` (name → async () => check value) interleaved for `rounds` rounds after
 * `warmup` untimed runs each; `verify(name, value)` guards every result. Returns name → samples (ms).
 */
async function interleave(label, contenders, rounds, verify, warmup = WARMUP) {
  const names = Object.keys(contenders);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let w = 0; w < warmup; w++) for (const n of names) verify(n, await contenders[n]());
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const n = names[(k + r) % names.length];
      progress(`${label}: round ${r + 1}/${rounds} ${n}`);
      // Let the previous contender's threads finish their after-work (GC, parking) so no
      // contender is timed against another pool's leftovers.
      await new Promise((res) => setTimeout(res, SETTLE_MS));
      const t = performance.now();
      const value = await contenders[n]();
      samples[n].push(performance.now() - t);
      verify(n, value);
    }
  }
  progress('');
  return samples;
}

function check(cond, what) {
  if (!cond) throw new Error(`benchmark result check failed: ${what}`);
}

function split(n, parts) {
  const step = Math.ceil(n / parts);
  return Array.from({ length: parts }, (_, i) => [i * step, Math.min(n, (i + 1) * step)]).filter(([a, b]) => a < b);
}

const results = { machine: machine(), workloads: {}, notes: [] };
const native = buildNative();
const pool = new Pool(THREADS);
const inlineOn = new Pool({ processes: THREADS, inline: true });
const peerPools = Object.fromEntries(Object.entries(peers).map(([name, make]) => [name, make(THREADS)]));
// Every pool's threads up before the first workload: 12-16 workers starting take both cores
// for about a second, and a workload run alone (--only) would be timed against that.
await Promise.all([
  pool.map((x) => x, [1, 2, 3, 4], { chunksize: 1 }),
  inlineOn.map((x) => x, [1, 2, 3, 4], { chunksize: 1 }),
  ...Object.values(peerPools).flatMap((p) => Array.from({ length: 2 * THREADS }, () => p.run('noop', 0))),
]);
await new Promise((r) => setTimeout(r, 1000));

function record(id, title, samples, unit = 'ms', extra = {}) {
  const medians = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
  results.workloads[id] = { title, unit, medians, samples, ...extra };
  return medians;
}

const wanted = (id) => !only || only.includes(id);

// W1: map(x => x * x) over an Array of 100,000 numbers.
if (wanted('W1')) {
  const data = Array.from({ length: 100_000 }, (_, i) => i);
  const chunks = split(data.length, 4 * THREADS).map(([a, b]) => data.slice(a, b));
  const sum = data.reduce((s, x) => s + x * x, 0);
  const contenders = {
    'serial Array.map': async () => data.map((x) => x * x),
    ferropool: () => pool.map((x) => x * x, data),
    'ferropool (inline: true)': () => inlineOn.map((x) => x * x, data),
  };
  for (const [name, p] of Object.entries(peerPools)) {
    contenders[`${name} hand-chunked`] = async () => (await Promise.all(chunks.map((c) => p.run('squareChunk', c)))).flat();
  }
  // More warm-up than elsewhere: a call this small is dominated by JIT tiers (ours and the
  // peers' workers), and a hot loop runs far more than ten of them.
  const s = await interleave('W1', contenders, ROUNDS, (n, r) => check(r.length === data.length && r.reduce((a, x) => a + x, 0) === sum, `W1 ${n}`), 12);
  if (!QUICK) {
    for (const [name, p] of Object.entries(peerPools)) {
      progress(`W1: ${name} per-item`);
      const t = performance.now();
      const r = await Promise.all(data.map((x) => p.run('square', x)));
      s[`${name} per-item`] = [performance.now() - t];
      check(r[99_999] === 99_999 ** 2, `W1 ${name} per-item`);
    }
  }
  record('W1', 'map(x => x * x) over 100,000 numbers', s);
}

// W2: map(fib) over 2,000 copies of 24.
if (wanted('W2')) {
  const data = new Array(QUICK ? 400 : 2000).fill(24);
  const chunks = split(data.length, 4 * THREADS).map(([a, b]) => data.slice(a, b));
  function fibNamed(n) {
    return n < 2 ? n : fibNamed(n - 1) + fibNamed(n - 2);
  }
  const want = fibNamed(24) * data.length;
  const contenders = {
    // The same function declaration the workers run (an arrow bound to a const is a
    // different, slower piece of code for V8: it made the baseline swing by 40%).
    serial: async () => data.map(fibNamed),
    ferropool: () => pool.map(fibNamed, data),
  };
  for (const [name, p] of Object.entries(peerPools)) {
    contenders[`${name} hand-chunked`] = async () => (await Promise.all(chunks.map((c) => p.run('fibChunk', c)))).flat();
    contenders[`${name} per-item`] = () => Promise.all(data.map((n) => p.run('fib', n)));
  }
  const s = await interleave('W2', contenders, QUICK ? 2 : 3, (n, r) => check(r.reduce((a, x) => a + x, 0) === want, `W2 ${n}`));
  if (native) {
    // The machine's own ceiling for CPU-bound scaling: C fib on 1 thread and on all.
    const one = native('fib', data.length, 1, QUICK ? 1 : 3);
    const all = native('fib', data.length, THREADS, QUICK ? 1 : 3);
    s[`native C fib (1 thread)`] = one.ms;
    s[`native C fib (${THREADS} threads)`] = all.ms;
  }
  const m = record('W2', `map(fib) over ${data.length} copies of 24`, s);
  results.workloads.W2.speedup = m.serial / m.ferropool;
  if (native) {
    const ceiling = m['native C fib (1 thread)'] / m[`native C fib (${THREADS} threads)`];
    results.workloads.W2.ratios = {
      [`speedup over serial (target ≥ 0.93 × ${THREADS} = ${(0.93 * THREADS).toFixed(2)})`]: m.serial / m.ferropool,
      [`native C speedup on ${THREADS} threads (the machine's ceiling)`]: ceiling,
      'ferropool speedup / native speedup': m.serial / m.ferropool / ceiling,
    };
  }
}

// W3a / W3b: square 10,000,000 doubles, built-in kernel and JS function.
if (wanted('W3a') || wanted('W3b')) {
  const n = QUICK ? 2_000_000 : 10_000_000;
  const input = new Float64Array(n).map((_, i) => i % 1000);
  const out = new Float64Array(n);
  const sab = new SharedArrayBuffer(n * 8);
  new Float64Array(sab).set(input);
  const sabOut = new SharedArrayBuffer(n * 8);
  const last = input[n - 1] ** 2;
  const slices = split(n, THREADS);
  const contenders = {
    'ferropool kernel (fresh output)': () => pool.map(kernels.square, input),
    'ferropool kernel (into out)': () => pool.map(kernels.square, input, { out }),
    'ferropool JS fn': () => pool.map((x) => x * x, input),
    // The peers write into a preallocated output too: the like-for-like comparison.
    'ferropool JS fn (into out)': () => pool.map((x) => x * x, input, { out }),
    'serial JS loop (fresh output)': async () => {
      const o = new Float64Array(n);
      for (let i = 0; i < n; i++) o[i] = input[i] * input[i];
      return o;
    },
  };
  for (const [name, p] of Object.entries(peerPools)) {
    contenders[`${name} SAB slices`] = async () => {
      await Promise.all(slices.map(([start, end]) => p.run('squareSlice', { input: sab, output: sabOut, start, end })));
      return new Float64Array(sabOut);
    };
  }
  const s = await interleave('W3', contenders, ROUNDS, (name, r) => check(r.length === n && r[n - 1] === last && r[1] === 1, `W3 ${name}`));
  if (native) {
    const ref = native('square', n, THREADS, ROUNDS);
    check(ref.check > 0, 'native W3');
    s['native C/OpenMP (fresh output)'] = ref.fresh;
    s['native C/OpenMP (into out)'] = ref.reused;
  }
  const m = record('W3', `square ${n.toLocaleString('en')} doubles (Float64Array)`, s);
  const ratios = {};
  if (native) {
    ratios['W3a kernel / native (fresh)'] = m['ferropool kernel (fresh output)'] / m['native C/OpenMP (fresh output)'];
    ratios['W3a kernel / native (into out)'] = m['ferropool kernel (into out)'] / m['native C/OpenMP (into out)'];
    ratios['W3b JS fn / native (fresh)'] = m['ferropool JS fn'] / m['native C/OpenMP (fresh output)'];
    ratios['W3b JS fn into out / native (into out)'] = m['ferropool JS fn (into out)'] / m['native C/OpenMP (into out)'];
  }
  const bestPeer = Math.min(...Object.keys(peerPools).map((p) => m[`${p} SAB slices`]));
  ratios['W3b JS fn / best peer'] = m['ferropool JS fn'] / bestPeer;
  ratios['W3b JS fn into out / best peer (both into a preallocated output)'] = m['ferropool JS fn (into out)'] / bestPeer;
  ratios['serial / W3a kernel (fresh)'] = m['serial JS loop (fresh output)'] / m['ferropool kernel (fresh output)'];
  results.workloads.W3.ratios = ratios;
}

// W4: 2,000 successive calls, each summing Math.sqrt over one 1,000-element Float64Array.
if (wanted('W4')) {
  const calls = QUICK ? 500 : 2000;
  const row = new Float64Array(1000).map((_, i) => i % 1000);
  const sab = new SharedArrayBuffer(8000);
  new Float64Array(sab).set(row);
  let want = 0;
  for (const x of row) want += Math.sqrt(x);
  const sumSqrt = (a) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += Math.sqrt(a[i]);
    return s;
  };
  const slices = split(row.length, THREADS);
  const loop = (once) => async () => {
    let total = 0;
    for (let c = 0; c < calls; c++) total += await once();
    return total / calls;
  };
  const contenders = {
    'serial JS loop': loop(async () => sumSqrt(row)),
    'ferropool kernel': loop(() => pool.reduce(kernels.sum, row, { map: kernels.sqrt })),
    'ferropool JS fn': loop(() => pool.apply(sumSqrt, [row])),
    'ferropool JS fn (inline: true)': loop(() => inlineOn.apply(sumSqrt, [row])),
  };
  for (const [name, p] of Object.entries(peerPools)) {
    contenders[`${name} SAB slices`] = loop(async () => (await Promise.all(slices.map(([start, end]) => p.run('sqrtSumSlice', { input: sab, start, end })))).reduce((a, b) => a + b, 0));
  }
  const s = await interleave('W4', contenders, QUICK ? 2 : 5, (name, r) => check(Math.abs(r - want) < 1e-6 * want, `W4 ${name}: ${r} vs ${want}`));
  // Per call, in microseconds.
  const perCall = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.map((ms) => (ms * 1000) / calls)]));
  if (native) perCall['native C (1 thread)'] = native('sqrtsum', 1000, calls, 5).perCallUs;
  const m = record('W4', `${calls} successive calls: sum of Math.sqrt over 1,000 doubles (per call)`, perCall, 'µs');
  const bestPeer = Math.min(...Object.keys(peerPools).map((p) => m[`${p} SAB slices`]));
  results.workloads.W4.ratios = {
    'kernel / serial JS (target ≤ 2)': m['ferropool kernel'] / m['serial JS loop'],
    'best peer / JS fn (target ≥ 8)': bestPeer / m['ferropool JS fn'],
    'best peer / JS fn with inline: true': bestPeer / m['ferropool JS fn (inline: true)'],
  };
}

// W4m: 2,000 successive maps of Math.sqrt over one 1,000-element Float64Array, each result summed.
if (wanted('W4m')) {
  const calls = QUICK ? 500 : 2000;
  const row = new Float64Array(1000).map((_, i) => i % 1000);
  const sab = new SharedArrayBuffer(8000);
  new Float64Array(sab).set(row);
  const sabOut = new SharedArrayBuffer(8000);
  let want = 0;
  for (const x of row) want += Math.sqrt(x);
  const sum = (a) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i];
    return s;
  };
  const slices = split(row.length, THREADS);
  const loop = (once) => async () => {
    let total = 0;
    for (let c = 0; c < calls; c++) total += sum(await once());
    return total / calls;
  };
  const contenders = {
    'serial JS loop': loop(async () => row.map((x) => Math.sqrt(x))),
    'ferropool map': loop(() => pool.map((x) => Math.sqrt(x), row)),
    'ferropool map (inline: true)': loop(() => inlineOn.map((x) => Math.sqrt(x), row)),
  };
  for (const [name, p] of Object.entries(peerPools)) {
    contenders[`${name} SAB slices`] = loop(async () => {
      await Promise.all(slices.map(([start, end]) => p.run('sqrtSlice', { input: sab, output: sabOut, start, end })));
      return new Float64Array(sabOut);
    });
  }
  const s = await interleave('W4m', contenders, QUICK ? 2 : 5, (name, r) => check(Math.abs(r - want) < 1e-6 * want, `W4m ${name}: ${r} vs ${want}`));
  const perCall = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.map((ms) => (ms * 1000) / calls)]));
  const m = record('W4m', `${calls} successive maps: Math.sqrt over 1,000 doubles, summed (per call)`, perCall, 'µs');
  const bestPeer = Math.min(...Object.keys(peerPools).map((p) => m[`${p} SAB slices`]));
  results.workloads.W4m.ratios = {
    'best peer / map (target ≥ 8)': bestPeer / m['ferropool map'],
    'map / serial JS': m['ferropool map'] / m['serial JS loop'],
  };
}

// W7: imap of a cheap function over a generator (sync and async) of 100,000 numbers, default options.
if (wanted('W7')) {
  const n = QUICK ? 20_000 : 100_000;
  function* numbers() {
    for (let i = 0; i < n; i++) yield i;
  }
  async function* asyncNumbers() {
    for (let i = 0; i < n; i++) yield i;
  }
  let want = 0;
  for (let i = 0; i < n; i++) want += i * i;
  const drain = async (it) => {
    let s = 0;
    for await (const r of it) s += r;
    return s;
  };
  const contenders = {
    'serial for await (generator)': async () => {
      let s = 0;
      for await (const x of numbers()) s += x * x;
      return s;
    },
    'serial for await (async generator)': async () => {
      let s = 0;
      for await (const x of asyncNumbers()) s += x * x;
      return s;
    },
    'ferropool imap (generator)': () => drain(pool.imap((x) => x * x, numbers())),
    'ferropool imap (async generator)': () => drain(pool.imap((x) => x * x, asyncNumbers())),
    'ferropool imapUnordered (generator)': () => drain(pool.imapUnordered((x) => x * x, numbers())),
  };
  const s = await interleave('W7', contenders, ROUNDS, (name, r) => check(r === want, `W7 ${name}: ${r} vs ${want}`), 2);
  const m = record('W7', `imap(x => x * x) over a generator of ${n.toLocaleString('en')} numbers, default options`, s);
  results.workloads.W7.ratios = {
    'imap / serial, generator (target ≤ 3)': m['ferropool imap (generator)'] / m['serial for await (generator)'],
    'imap / serial, async generator (target ≤ 3)': m['ferropool imap (async generator)'] / m['serial for await (async generator)'],
  };
}

// W8: imap over an Array of 200 tasks that each spin 20 ms: time to the first result and to the last.
if (wanted('W8')) {
  const tasks = 200;
  const spinMs = 20;
  const data = Array.from({ length: tasks }, (_, i) => i);
  const spin20 = (x) => {
    const end = performance.now() + 20;
    while (performance.now() < end);
    return x;
  };
  const first = [];
  const last = [];
  const rounds = QUICK ? 1 : 3;
  for (let r = 0; r < rounds + 1; r++) {
    progress(`W8: round ${r + 1}/${rounds + 1}`);
    await new Promise((res) => setTimeout(res, SETTLE_MS));
    const t = performance.now();
    let firstAt;
    let k = 0;
    for await (const x of pool.imap(spin20, data)) {
      firstAt ??= performance.now() - t;
      check(x === k++, `W8 order at ${k}`);
    }
    check(k === tasks, 'W8 count');
    if (r === 0) continue; // warm-up (workers start, the cost model learns)
    first.push(firstAt);
    last.push(performance.now() - t);
  }
  const ideal = (tasks * spinMs) / THREADS;
  const m = record('W8', `imap over an Array of ${tasks} tasks of ${spinMs} ms, default options`, { 'first result': first, 'last result': last, ideal: [ideal] });
  results.workloads.W8.ratios = {
    'first result, ms (target ≤ 100)': m['first result'],
    'last / ideal (target ≤ 1.2)': m['last result'] / ideal,
  };
}

// W5: per-task overhead, 100,000 applyAsync of a no-op.
if (wanted('W5')) {
  const tasks = QUICK ? 20_000 : 100_000;
  const noop = () => undefined;
  const contenders = {
    ferropool: async () => (await Promise.all(Array.from({ length: tasks }, () => pool.applyAsync(noop)))).length,
    'ferropool (inline: true)': async () => (await Promise.all(Array.from({ length: tasks }, () => inlineOn.applyAsync(noop)))).length,
  };
  const s = await interleave('W5', contenders, QUICK ? 2 : 3, (name, r) => check(r === tasks, `W5 ${name}`));
  for (const [name, p] of Object.entries(peerPools)) {
    progress(`W5: ${name}`);
    const t = performance.now();
    const r = await Promise.all(Array.from({ length: tasks }, () => p.run('noop')));
    s[name] = [performance.now() - t];
    check(r.length === tasks, `W5 ${name}`);
  }
  const perTask = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.map((ms) => (ms * 1000) / tasks)]));
  record('W5', `${tasks.toLocaleString('en')} applyAsync of a no-op (per task)`, perTask, 'µs');
}

// Memory: peak RSS growth of one 10M map, in a fresh process, against the output's size.
// E1: the expression kernel 2*x*x + 3*x + 1 over 10,000,000 doubles into `out`, against
// the same formula as a JS function through pool.map with `out`, and a fused C loop.
if (wanted('E1')) {
  const n = QUICK ? 2_000_000 : 10_000_000;
  const x = new Float64Array(n).map((_, i) => i % 1000);
  const out = new Float64Array(n);
  const last = 2 * x[n - 1] * x[n - 1] + 3 * x[n - 1] + 1;
  const contenders = {
    'ferropool expr (into out)': () => pool.map(kernels.expr('2*x*x + 3*x + 1'), x, { out }),
    'ferropool JS fn (into out)': () => pool.map((v) => 2 * v * v + 3 * v + 1, x, { out }),
    'serial JS loop (into out)': async () => {
      for (let i = 0; i < n; i++) out[i] = 2 * x[i] * x[i] + 3 * x[i] + 1;
      return out;
    },
  };
  const s = await interleave('E1', contenders, ROUNDS, (name, r) => check(r[n - 1] === last && r[1] === 6, `E1 ${name}`));
  if (native) s['native C/OpenMP (into out)'] = native('e1', n, THREADS, ROUNDS).ms;
  const m = record('E1', `2*x*x + 3*x + 1 over ${n.toLocaleString('en')} doubles into out`, s);
  results.workloads.E1.ratios = {
    'JS fn / expr (target ≥ 3)': m['ferropool JS fn (into out)'] / m['ferropool expr (into out)'],
    'serial / expr': m['serial JS loop (into out)'] / m['ferropool expr (into out)'],
    ...(native ? { 'expr / native (target ≤ 1.3)': m['ferropool expr (into out)'] / m['native C/OpenMP (into out)'] } : {}),
  };
}

// E2: a*b + c over three 10M arrays, and sqrt(x*x + y*y) over two, into `out`.
if (wanted('E2')) {
  const n = QUICK ? 2_000_000 : 10_000_000;
  const a = new Float64Array(n).map((_, i) => i % 1000);
  const b = new Float64Array(n).map((_, i) => i % 7);
  const c = new Float64Array(n).fill(1);
  const out = new Float64Array(n);
  const contenders = {
    'ferropool expr a*b + c': () => pool.map(kernels.expr('a*b + c'), { a, b, c }, { out }),
    'ferropool expr sqrt(x*x + y*y)': () => pool.map(kernels.expr('sqrt(x*x + y*y)'), { x: a, y: b }, { out }),
    'serial JS loop a*b + c': async () => {
      for (let i = 0; i < n; i++) out[i] = a[i] * b[i] + c[i];
      return out;
    },
    'serial JS loop sqrt(x*x + y*y)': async () => {
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(a[i] * a[i] + b[i] * b[i]);
      return out;
    },
  };
  const s = await interleave('E2', contenders, ROUNDS, (name, r) => check(r.length === n && r[1] >= 1, `E2 ${name}`));
  if (native) {
    s['native C/OpenMP a*b + c'] = native('e2abc', n, THREADS, ROUNDS).ms;
    s['native C/OpenMP sqrt(x*x + y*y)'] = native('e2norm', n, THREADS, ROUNDS).ms;
  }
  const m = record('E2', `a*b + c over three, sqrt(x*x + y*y) over two ${n.toLocaleString('en')}-double arrays, into out`, s);
  results.workloads.E2.ratios = {
    'serial / expr a*b + c': m['serial JS loop a*b + c'] / m['ferropool expr a*b + c'],
    'serial / expr sqrt(x*x + y*y)': m['serial JS loop sqrt(x*x + y*y)'] / m['ferropool expr sqrt(x*x + y*y)'],
    ...(native
      ? {
          'expr a*b + c / native (target ≤ 1.3)': m['ferropool expr a*b + c'] / m['native C/OpenMP a*b + c'],
          'expr sqrt(x*x + y*y) / native (target ≤ 1.3)': m['ferropool expr sqrt(x*x + y*y)'] / m['native C/OpenMP sqrt(x*x + y*y)'],
        }
      : {}),
  };
}

// E3: 2,000 successive calls of kernels.expr('sqrt(x) + 1') over one 1,000-element array
// (the expression written in the loop, as users write it: the kernel comes from the cache).
if (wanted('E3')) {
  const calls = QUICK ? 500 : 2000;
  const row = new Float64Array(1000).map((_, i) => i % 1000);
  const out = new Float64Array(1000);
  const loop = (once) => async () => {
    let total = 0;
    for (let c = 0; c < calls; c++) total += (await once())[999];
    return total / calls;
  };
  const contenders = {
    'serial JS loop': loop(async () => {
      const o = new Float64Array(row.length);
      for (let i = 0; i < row.length; i++) o[i] = Math.sqrt(row[i]) + 1;
      return o;
    }),
    'ferropool expr': loop(() => pool.map(kernels.expr('sqrt(x) + 1'), row)),
    'ferropool expr (into out)': loop(() => pool.map(kernels.expr('sqrt(x) + 1'), row, { out })),
    'ferropool JS fn': loop(() => pool.map((v) => Math.sqrt(v) + 1, row)),
  };
  const want = Math.sqrt(999) + 1;
  const s = await interleave('E3', contenders, QUICK ? 2 : 5, (name, r) => check(Math.abs(r - want) < 1e-9, `E3 ${name}: ${r}`));
  const perCall = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.map((ms) => (ms * 1000) / calls)]));
  const m = record('E3', `${calls} successive maps of kernels.expr('sqrt(x) + 1') over 1,000 doubles (per call)`, perCall, 'µs');
  results.workloads.E3.ratios = {
    'expr / serial JS (target ≤ 2)': m['ferropool expr'] / m['serial JS loop'],
    'JS fn / expr': m['ferropool JS fn'] / m['ferropool expr'],
  };
}

// K1: k-means as users write it. 200,000 2-D points (x/y interleaved) on sharedArray, k = 8,
// 20 iterations; each step a starmap over index ranges with { args: [points, centroids] },
// each task returning its range's per-centroid sums (the README's recipe), and, the shorter
// program, a pool.map over the point indices returning labels, the sums then made on the main
// thread. Peers: the points in a SharedArrayBuffer, one task per thread per step. Every
// contender runs the same loop (peers/loops.cjs).
if (wanted('K1')) {
  const n = QUICK ? 50_000 : 200_000;
  const k = 8;
  const iterations = QUICK ? 5 : 20;
  const rand = (() => {
    let a = 12345;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  })();
  const points = sharedArray(Float64Array, 2 * n);
  for (let i = 0; i < n; i++) {
    const c = i % k;
    points[2 * i] = (c % 4) * 10 + rand() * 6;
    points[2 * i + 1] = Math.floor(c / 4) * 10 + rand() * 6;
  }
  // The indices as a Float64Array: a typed array of doubles is read in place by the workers.
  const indices = Float64Array.from({ length: n }, (_, i) => i);
  const ranges = split(n, THREADS);
  const initial = Float64Array.from(points.subarray(0, 2 * k));
  function nearest(i, pts, cen) {
    const x = pts[2 * i];
    const y = pts[2 * i + 1];
    let best = 0;
    let bestD = Infinity;
    for (let c = 0; c < cen.length; c += 2) {
      const dx = x - cen[c];
      const dy = y - cen[c + 1];
      const d = dx * dx + dy * dy;
      if (d < bestD) {
        bestD = d;
        best = c >> 1;
      }
    }
    return best;
  }
  /** New centroids from per-centroid sums (k × 3: x, y, count); an empty one stays. */
  const fromSums = (sums, old) => {
    const out = new Float64Array(2 * k);
    for (let c = 0; c < k; c++) {
      const m = sums[3 * c + 2];
      out[2 * c] = m > 0 ? sums[3 * c] / m : old[2 * c];
      out[2 * c + 1] = m > 0 ? sums[3 * c + 1] / m : old[2 * c + 1];
    }
    return out;
  };
  const fromLabels = (labels, old) => {
    const sums = new Float64Array(3 * k);
    for (let i = 0; i < n; i++) {
      const c = labels[i];
      sums[3 * c] += points[2 * i];
      sums[3 * c + 1] += points[2 * i + 1];
      sums[3 * c + 2] += 1;
    }
    return fromSums(sums, old);
  };
  const combine = (parts) => {
    const sums = new Float64Array(3 * k);
    for (const p of parts) for (let j = 0; j < 3 * k; j++) sums[j] += p[j];
    return sums;
  };
  const kmeans = (step) => async () => {
    let centroids = initial;
    for (let it = 0; it < iterations; it++) centroids = await step(centroids);
    return centroids;
  };
  const contenders = {
    'serial loop': kmeans(async (cen) => fromSums(rangeSums(0, n, points, cen), cen)),
    'ferropool map (indices, args)': kmeans(async (cen) => fromLabels(await pool.map(nearest, indices, { args: [points, cen] }), cen)),
    'ferropool starmap (ranges, args)': kmeans(async (cen) => fromSums(combine(await pool.starmap(rangeSums, ranges, { args: [points, cen] })), cen)),
  };
  if (peerPools.piscina) {
    contenders['piscina SAB slices'] = kmeans(async (cen) => fromSums(combine(await Promise.all(ranges.map(([start, end]) => peerPools.piscina.run('kmeansRanges', { points: points.buffer, centroids: cen, start, end })))), cen));
  }
  let want;
  const s = await interleave('K1', contenders, QUICK ? 2 : 5, (name, r) => {
    want ??= r;
    check(r.every((v, i) => Math.abs(v - want[i]) <= 1e-9 * Math.max(1, Math.abs(want[i]))), `K1 ${name}: ${r} vs ${want}`);
  });
  const m = record('K1', `k-means: ${n.toLocaleString('en')} 2-D points, k = ${k}, ${iterations} iterations (starmap over ranges with { args: [points, centroids] })`, s);
  results.workloads.K1.ratios = {
    'serial / starmap over ranges (target ≥ 1.5 on 2 cores)': m['serial loop'] / m['ferropool starmap (ranges, args)'],
    'serial / map over indices': m['serial loop'] / m['ferropool map (indices, args)'],
    ...(peerPools.piscina ? { 'piscina / starmap over ranges (target > 1)': m['piscina SAB slices'] / m['ferropool starmap (ranges, args)'] } : {}),
  };
}

// K2: 5×5 box blur of a 2000×2000 Float32Array image on sharedArray, 10 passes, each a
// starmap over row bands with { args: [src, dst, w, h] }. Peers: SharedArrayBuffers, one
// task per thread per pass.
if (wanted('K2')) {
  const w = QUICK ? 500 : 2000;
  const h = w;
  const passes = QUICK ? 3 : 10;
  const image = sharedArray(Float32Array, w * h);
  for (let i = 0; i < image.length; i++) image[i] = ((i * 2654435761) >>> 0) / 2 ** 32;
  const other = sharedArray(Float32Array, w * h);
  const start = Float32Array.from(image);
  const bands = split(h, 4 * THREADS);
  const threadBands = split(h, THREADS);
  const run = (pass) => async () => {
    image.set(start);
    let [src, dst] = [image, other];
    for (let p = 0; p < passes; p++) {
      await pass(src, dst);
      [src, dst] = [dst, src];
    }
    let sum = 0;
    for (let i = 0; i < src.length; i += 997) sum += src[i];
    return sum;
  };
  const contenders = {
    'serial loop': run(async (src, dst) => blurRows(0, h, src, dst, w, h)),
    'ferropool starmap (bands, args)': run((src, dst) => pool.starmap(blurRows, bands, { args: [src, dst, w, h] })),
  };
  if (peerPools.piscina) {
    contenders['piscina SAB slices'] = run((src, dst) => Promise.all(threadBands.map(([r0, r1]) => peerPools.piscina.run('blurRows', { src: src.buffer, dst: dst.buffer, w, h, r0, r1 }))));
  }
  let want;
  const s = await interleave('K2', contenders, QUICK ? 2 : 5, (name, r) => {
    want ??= r;
    check(r === want, `K2 ${name}: ${r} vs ${want}`);
  });
  const m = record('K2', `5×5 box blur of a ${w}×${h} Float32Array on sharedArray, ${passes} passes (starmap over row bands with args)`, s);
  results.workloads.K2.ratios = {
    [`serial / starmap (target ≥ ${(0.9 * THREADS).toFixed(1)})`]: m['serial loop'] / m['ferropool starmap (bands, args)'],
    ...(peerPools.piscina ? { 'piscina / starmap (target > 1)': m['piscina SAB slices'] / m['ferropool starmap (bands, args)'] } : {}),
  };
}

// A1: plain (unshared) typed arrays as arguments: starmap((a) => a.length, [[f64], [f64]]),
// 200,000 doubles each, against piscina's run() of the same arrays (structured clone).
if (wanted('A1')) {
  const calls = QUICK ? 20 : 100;
  const a = new Float64Array(200_000).fill(1);
  const b = new Float64Array(200_000).fill(2);
  const loop = (once) => async () => {
    let total = 0;
    for (let c = 0; c < calls; c++) for (const r of await once()) total += r;
    return total;
  };
  const contenders = {
    'ferropool starmap': loop(() => pool.starmap((x) => x.length, [[a], [b]])),
    // What the copies alone cost on this thread (each task gets its own copy).
    'serial (copy each)': loop(async () => [a.slice().length, b.slice().length]),
  };
  if (peerPools.piscina) contenders['piscina run'] = loop(() => Promise.all([peerPools.piscina.run('length', a), peerPools.piscina.run('length', b)]));
  const s = await interleave('A1', contenders, QUICK ? 2 : 5, (name, r) => check(r === calls * 400_000, `A1 ${name}: ${r}`));
  const perCall = Object.fromEntries(Object.entries(s).map(([key, v]) => [key, v.map((ms) => ms / calls)]));
  const m = record('A1', 'typed-array arguments: starmap((a) => a.length, [[f64], [f64]]), 200,000 doubles each (per call)', perCall);
  results.workloads.A1.ratios = { 'starmap / serial copy': m['ferropool starmap'] / m['serial (copy each)'] };
  if (peerPools.piscina) results.workloads.A1.ratios['starmap / piscina (target ≤ 0.8)'] = m['ferropool starmap'] / m['piscina run'];
}

if (wanted('memory') && !QUICK) {
  const r = spawnSync(process.execPath, [here('./memory.mjs')], { encoding: 'utf8' });
  if (r.status === 0) results.workloads.memory = JSON.parse(r.stdout);
  else results.notes.push(`memory probe failed: ${r.stderr.trim().split('\n').pop()}`);
}

// Python's multiprocessing.Pool, when python3 is here (its own process and timings).
if (!QUICK && (wanted('W1') || wanted('W2') || wanted('W4'))) {
  const py = spawnSync('python3', [here('./python_pool.py'), '3'], { encoding: 'utf8', timeout: 300_000 });
  if (py.status === 0) results.python = Object.fromEntries(Object.entries(JSON.parse(py.stdout)).map(([k, v]) => [k, median(v)]));
  else results.notes.push(`Python's multiprocessing.Pool skipped: ${py.error?.message ?? py.stderr.trim().split('\n').pop()}`);
}

// Report.
const fmt = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
if (JSON_OUT) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
else {
  const m = results.machine;
  console.log(`ferropool benchmark — ${m.cpu}, ${m.cores} cores (${m.threads} threads used), ${m.memoryGiB} GiB, Node ${m.node}, ${m.date}`);
  for (const [id, w] of Object.entries(results.workloads)) {
    if (id === 'memory') continue;
    console.log(`\n${id}: ${w.title} — median ${w.unit}`);
    const rows = Object.entries(w.medians).sort((a, b) => a[1] - b[1]);
    for (const [name, v] of rows) console.log(`  ${fmt(v).padStart(10)}  ${name}${w.samples[name].length === 1 ? ' (1 run)' : ''}`);
    for (const [k, v] of Object.entries(w.ratios ?? {})) console.log(`  ratio ${k}: ${v.toFixed(2)}`);
    if (w.speedup) console.log(`  speedup over serial: ${w.speedup.toFixed(2)}× on ${m.threads} threads (target ≥ ${(0.93 * m.threads).toFixed(2)})`);
  }
  if (results.workloads.memory) console.log(`\nmemory: ${JSON.stringify(results.workloads.memory)}`);
  if (results.python) console.log(`\nPython multiprocessing.Pool (ms, separate process): ${JSON.stringify(results.python)}`);
  for (const n of results.notes) console.log(`note: ${n}`);
}
if (!QUICK && !args.includes('--dist')) {
  mkdirSync(here('./results'), { recursive: true });
  writeFileSync(here('./results/latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  const { chart } = await import('./chart.mjs');
  writeFileSync(here('./results/latest.svg'), chart(results));
  log('wrote benchmark/results/latest.json and latest.svg');
}

// Shut every pool down. A shutdown that does not settle within 10 s is named; ferropool's
// fails the run, a peer's is reported (it is the peer's bug, not the benchmark's).
let stuck = false;
for (const [name, close] of [['ferropool', () => pool.terminate()], ['ferropool (inline: true)', () => inlineOn.terminate()], ...Object.entries(peerPools).map(([n, p]) => [n, () => p.destroy()])]) {
  progress(`shutting down ${name}`);
  let timer;
  const settled = await Promise.race([close().then(() => true), new Promise((res) => (timer = setTimeout(res, 10_000, false)))]);
  clearTimeout(timer);
  if (!settled) {
    log(`${name}: shutdown did not settle within 10 s`);
    if (name.startsWith('ferropool')) stuck = true;
  }
}
finished = true;
process.exit(stuck ? 1 : 0);
