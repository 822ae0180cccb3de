// Thread scaling of a CPU-bound map (W2: fib(24) x 2,000) with 1..16 workers, beside serial JS
// (the same function declaration) and the C reference on as many threads (FERROPOOL_NATIVE_REF
// names a prebuilt ref binary; without it only the JS figures are printed).
//   node benchmark/scaling.mjs
// With --bench, every workload of `npm run bench` (or those of --only) instead, at each thread
// count: bench.mjs --json --threads k, one process per count, and a table of each
// ferropool and native C figure by thread count, with the serial loop beside them.
//   node benchmark/scaling.mjs --bench [--quick] [--only W1,W4,W4m,…] [--counts 1,2]
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { Pool } from '../dist/index.mjs';
const ref = process.env.FERROPOOL_NATIVE_REF;
const counts = [1, 2, 4, 8, 12, 16].filter((k) => k <= Math.max(2, availableParallelism()));
const argv = process.argv.slice(2);
if (argv.includes('--bench')) {
  await benchScaling(argv);
  process.exit(0);
}
function fibNamed(n) { return n < 2 ? n : fibNamed(n - 1) + fibNamed(n - 2); }
const data = new Array(2000).fill(24);
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const out = { serial: [], ferropool: {}, nativeC: {} };
for (let r = 0; r < 3; r++) { const t = performance.now(); data.map(fibNamed); out.serial.push(performance.now() - t); }
for (const k of counts) {
  const pool = new Pool(k);
  for (let w = 0; w < 2; w++) await pool.map(fibNamed, data);
  const ts = [];
  for (let r = 0; r < 3; r++) { const t = performance.now(); await pool.map(fibNamed, data); ts.push(performance.now() - t); }
  // Per-item cost inside one worker: what a chunk of 31 items took there.
  out.ferropool[k] = med(ts);
  await pool.terminate();
  if (ref) out.nativeC[k] = med(JSON.parse(execFileSync(ref, ['fib', '2000', String(k), '3'], { encoding: 'utf8' })).ms);
}
out.serial = med(out.serial);
console.log(JSON.stringify(out));
for (const k of Object.keys(out.ferropool)) console.log(k, 'ferropool speedup', (out.serial / out.ferropool[k]).toFixed(2), ...(ref ? ['native C speedup', (out.nativeC[1] / out.nativeC[k]).toFixed(2)] : []));

/** Every bench.mjs workload at each thread count, one process per count. */
async function benchScaling(args) {
  const { spawnSync } = await import('node:child_process');
  const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
  const ks = option('--counts', counts.join(',')).split(',').map(Number);
  const bench = new URL('./bench.mjs', import.meta.url).pathname;
  const pass = [...(args.includes('--quick') ? ['--quick'] : []), ...(args.includes('--only') ? ['--only', option('--only')] : [])];
  const table = {};
  const units = {};
  for (const k of ks) {
    process.stderr.write(`${k} thread(s)\n`);
    const run = spawnSync(process.execPath, [bench, '--json', '--threads', String(k), ...pass], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (run.status !== 0) throw new Error(`bench.mjs --threads ${k} failed:\n${run.stderr}`);
    for (const [id, w] of Object.entries(JSON.parse(run.stdout).workloads)) {
      for (const [name, v] of Object.entries(w.medians)) {
        if (!/^(ferropool|native|serial)/.test(name)) continue;
        const key = `${id} ${name}`;
        units[key] = w.unit;
        (table[key] ??= {})[k] = v;
      }
    }
  }
  console.log(['workload / contender', ...ks.map((k) => `${k} thr`), 'unit'].join('\t'));
  for (const [key, byK] of Object.entries(table)) console.log([key, ...ks.map((k) => (byK[k] === undefined ? '' : byK[k].toPrecision(3))), units[key]].join('\t'));
}
