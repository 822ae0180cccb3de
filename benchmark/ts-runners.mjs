// Typed-array loops in pool workers under TypeScript runners (docs/numeric.md, "TypeScript
// runners"): the same Float64Array loop (ts-runners-task.mjs), run by a ferropool worker
// (task() and a shipped function), a piscina worker and the main thread, under plain node,
// tsx (`tsx` and `node --import tsx`), ts-node and, given a Node 22+ binary in NODE22,
// `--experimental-strip-types`. Each runner is a child process; in it the contenders run
// interleaved, and the table shows the fastest of the rounds (ms, lower is better) and the
// first call's latency (pool made → first result).
//
//   node benchmark/ts-runners.mjs [--rounds 15] [--dist path/to/other/dist]
//
// --dist compares another build of ferropool (e.g. the commit before a change) in the same
// run: its columns are suffixed with "(other)".
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const require = createRequire(import.meta.url);

if (process.env.TS_RUNNERS_CHILD) {
  await child(Number(process.env.TS_RUNNERS_ROUNDS), JSON.parse(process.env.TS_RUNNERS_DISTS));
} else {
  const rounds = opt('--rounds', '15');
  const dists = { ferropool: here('../dist/index.mjs') };
  if (opt('--dist')) dists['ferropool (other)'] = path.resolve(opt('--dist'), 'index.mjs');
  const tsx = require.resolve('tsx/cli');
  const runners = [
    ['node', process.execPath, []],
    ['tsx', process.execPath, [tsx]],
    ['node --import tsx', process.execPath, ['--import', 'tsx']],
    ['ts-node (--require ts-node/register)', process.execPath, ['--require', 'ts-node/register']],
  ];
  if (process.env.NODE22) runners.push(['node22 --experimental-strip-types', process.env.NODE22, ['--experimental-strip-types', '--no-warnings']]);
  for (const [name, bin, flags] of runners) {
    const env = { ...process.env, TS_RUNNERS_CHILD: '1', TS_RUNNERS_ROUNDS: rounds, TS_RUNNERS_DISTS: JSON.stringify(dists), TS_NODE_TRANSPILE_ONLY: '1' };
    const out = execFileSync(bin, [...flags, fileURLToPath(import.meta.url)], { env, encoding: 'utf8', cwd: here('..') });
    const row = JSON.parse(out.trim().split('\n').pop());
    console.log(`${name.padEnd(38)} ${Object.entries(row).map(([k, v]) => `${k} ${v}`).join(' | ')}`);
  }
}

async function child(rounds, dists) {
  const N = 200_000;
  const taskUrl = pathToFileURL(here('./ts-runners-task.mjs'));
  const { default: typedLoop } = await import(taskUrl.href);
  const { default: Piscina } = await import('piscina');
  const contenders = {};
  const firsts = {};
  const pools = [];
  for (const [name, file] of Object.entries(dists)) {
    const { Pool, task } = await import(pathToFileURL(file).href);
    const t0 = performance.now();
    const pool = new Pool(1);
    pools.push(pool);
    await pool.apply(task(taskUrl), [1]);
    firsts[`${name} first call`] = performance.now() - t0;
    contenders[`${name} task()`] = () => pool.apply(task(taskUrl), [N]);
    // The same loop, shipped by source (a self-contained function).
    const shipped = (n) => {
      function dot(a, b) {
        let s = 0;
        for (let i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
      }
      const t0 = performance.now();
      const a = new Float64Array(n);
      for (let i = 0; i < n; i++) a[i] = i * 0.5;
      let s = 0;
      for (let r = 0; r < 20; r++) s += dot(a, a);
      if (s < 0) throw new Error('unreachable');
      return performance.now() - t0;
    };
    contenders[`${name} fn`] = () => pool.apply(shipped, [N]);
  }
  const pis = new Piscina({ filename: taskUrl.href, minThreads: 1, maxThreads: 1 });
  contenders.piscina = () => pis.run(N);
  contenders['main thread'] = async () => typedLoop(N);
  const best = Object.fromEntries(Object.keys(contenders).map((k) => [k, Infinity]));
  for (let r = 0; r < rounds; r++) for (const [k, f] of Object.entries(contenders)) best[k] = Math.min(best[k], await f());
  for (const pool of pools) await pool.terminate();
  await pis.destroy();
  const fmt = (x) => x.toFixed(1);
  console.log(JSON.stringify(Object.fromEntries([...Object.entries(best), ...Object.entries(firsts)].map(([k, v]) => [k, fmt(v)]))));
}
