// A/B of two builds of the TypeScript facade on the per-call rows, in one process,
// interleaved: W5 (100,000 applyAsync of a no-op, µs a task), W4 JS fn (2,000 successive
// `apply` of a sum of Math.sqrt over 1,000 doubles, µs a call), W4m (2,000 successive
// `map(x => Math.sqrt(x))` over 1,000 doubles, µs a call) and W1 (`map(x => x * x)` over
// 100,000 numbers, ms a call), with the serial `Array.map` of W1 beside them.
//
//   git worktree add /tmp/before <commit> && (cd /tmp/before && ln -s "$OLDPWD/node_modules" \
//     && ln -s "$OLDPWD/native" native-link && npm run build:ts)   # or copy dist/ and native/
//   node benchmark/ab-overhead.mjs [--rounds N] [--only W5,W4,W4m,W1] /tmp/before/dist/index.mjs dist/index.mjs
//
// Each build gets its own Pool(2) (threads: --threads); per round every build runs each
// workload once, in an order that alternates between rounds, after two warm-up rounds.
// Prints medians, lower quartiles and the spread: on a shared machine it is wide.
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args.splice(args.indexOf(name), 2)[1] : fallback);
const ROUNDS = Number(option('--rounds', 15));
const THREADS = Number(option('--threads', os.availableParallelism()));
const ONLY = option('--only', 'W5,W4,W4m,W1').split(',');
if (args.length === 0) throw new Error('usage: node benchmark/ab-overhead.mjs [--rounds N] [--only W5,W4,W4m,W1] a/dist/index.mjs [b/dist/index.mjs ...]');
const builds = [];
for (const p of args) {
  const { Pool } = await import(pathToFileURL(path.resolve(p)).href);
  const pool = new Pool(THREADS);
  await pool.map((x) => x, [1, 2, 3, 4], { chunksize: 1 });
  builds.push({ name: p, pool });
}

const noop = () => undefined;
const row = new Float64Array(1000).map((_, i) => i % 1000);
const sumSqrt = (a) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.sqrt(a[i]);
  return s;
};
const data = Array.from({ length: 100_000 }, (_, i) => i);
const time = async (n, body) => {
  const t = performance.now();
  for (let i = 0; i < n; i++) await body();
  return performance.now() - t;
};
const workloads = {
  W5: { unit: 'µs a task', run: async (p) => ((await time(1, () => Promise.all(Array.from({ length: 100_000 }, () => p.applyAsync(noop))))) * 1000) / 100_000 },
  W4: { unit: 'µs a call', run: async (p) => ((await time(2000, () => p.apply(sumSqrt, [row]))) * 1000) / 2000 },
  W4m: { unit: 'µs a call', run: async (p) => ((await time(2000, () => p.map((x) => Math.sqrt(x), row))) * 1000) / 2000 },
  W1: { unit: 'ms a call', run: async (p) => (await time(20, () => p.map((x) => x * x, data))) / 20, serial: async () => (await time(20, async () => data.map((x) => x * x))) / 20 },
};

const quantile = (a, q) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) * q)];
for (const id of ONLY) {
  const w = workloads[id];
  const samples = new Map(builds.map((b) => [b.name, []]));
  if (w.serial) samples.set('serial Array.map', []);
  for (let r = 0; r < ROUNDS + 2; r++) {
    const order = r % 2 ? [...builds].reverse() : builds;
    for (const b of order) {
      const v = await w.run(b.pool);
      if (r >= 2) samples.get(b.name).push(v);
    }
    if (w.serial) {
      const v = await w.serial();
      if (r >= 2) samples.get('serial Array.map').push(v);
    }
  }
  console.log(`${id} (${w.unit}, ${ROUNDS} rounds): median, lower quartile, min-max`);
  for (const [name, v] of samples) {
    console.log(`  ${quantile(v, 0.5).toFixed(2).padStart(8)} ${quantile(v, 0.25).toFixed(2).padStart(8)}   ${Math.min(...v).toFixed(2)}-${Math.max(...v).toFixed(2)}  ${name}`);
  }
}
process.exit(0);
