// Typed-array loops in pool workers under TypeScript runners (docs/numeric.md, "TypeScript
// runners"): the same Float64Array loop (ts-runners-task.mjs), run by a ferropool worker
// (task() and a shipped function), a piscina worker and the main thread, under plain node,
// tsx (`tsx` and `node --import tsx`), ts-node and, given a Node 22+ binary in NODE22,
// `--experimental-strip-types`. Each runner and build is a child process of its own (what
// one build loads must not slow the other's main thread), run `--repeat` times alternately;
// in it the contenders run interleaved. The table shows the fastest round (ms, lower is
// better) and the first call's latency (pool made → first result; the lowest of the runs).
//
//   node benchmark/ts-runners.mjs [--rounds 15] [--repeat 2] [--dist path/to/other/dist]
//
// --dist compares another build of ferropool (e.g. the commit before a change): its rows
// are marked "(other)".
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const require = createRequire(import.meta.url);

if (process.env.TS_RUNNERS_CHILD) {
  await child(Number(process.env.TS_RUNNERS_ROUNDS), process.env.TS_RUNNERS_DIST);
} else {
  const rounds = opt('--rounds', '15');
  const repeat = Number(opt('--repeat', '2'));
  const dists = { '': here('../dist/index.mjs') };
  if (opt('--dist')) dists[' (other)'] = path.resolve(opt('--dist'), 'index.mjs');
  const tsx = require.resolve('tsx/cli');
  const runners = [
    ['node', process.execPath, []],
    ['tsx', process.execPath, [tsx]],
    ['node --import tsx', process.execPath, ['--import', 'tsx']],
    ['ts-node (-r ts-node/register)', process.execPath, ['--require', 'ts-node/register']],
  ];
  if (process.env.NODE22) runners.push(['node22 tsx', process.env.NODE22, [tsx]], ['node22 --experimental-strip-types', process.env.NODE22, ['--experimental-strip-types', '--no-warnings']]);
  for (const [name, bin, flags] of runners) {
    const best = {};
    for (let r = 0; r < repeat; r++) {
      for (const [mark, dist] of Object.entries(dists)) {
        const env = { ...process.env, TS_RUNNERS_CHILD: '1', TS_RUNNERS_ROUNDS: rounds, TS_RUNNERS_DIST: dist, TS_NODE_TRANSPILE_ONLY: '1' };
        const out = execFileSync(bin, [...flags, fileURLToPath(import.meta.url)], { env, encoding: 'utf8', cwd: here('..') });
        const row = JSON.parse(out.trim().split('\n').pop());
        best[mark] ??= {};
        for (const [k, v] of Object.entries(row)) best[mark][k] = Math.min(best[mark][k] ?? Infinity, v);
      }
    }
    for (const [mark, row] of Object.entries(best)) {
      console.log(`${(name + mark).padEnd(40)} ${Object.entries(row).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(' | ')}`);
    }
  }
}

async function child(rounds, dist) {
  const N = 200_000;
  const taskUrl = pathToFileURL(here('./ts-runners-task.mjs'));
  const { default: typedLoop } = await import(taskUrl.href);
  const { Pool, task } = await import(pathToFileURL(dist).href);
  const t0 = performance.now();
  const pool = new Pool(1);
  await pool.apply(task(taskUrl), [1]);
  const first = performance.now() - t0;
  // The main thread, with ferropool loaded and used (before piscina is: what a runner does
  // when it loads piscina's files is not ours to measure).
  let main = Infinity;
  for (let r = 0; r < rounds; r++) main = Math.min(main, typedLoop(N));
  const { default: Piscina } = await import('piscina');
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
  const pis = new Piscina({ filename: taskUrl.href, minThreads: 1, maxThreads: 1 });
  const contenders = {
    'ferropool task()': () => pool.apply(task(taskUrl), [N]),
    'ferropool fn': () => pool.apply(shipped, [N]),
    piscina: () => pis.run(N),
  };
  const best = Object.fromEntries(Object.keys(contenders).map((k) => [k, Infinity]));
  for (let r = 0; r < rounds; r++) for (const [k, f] of Object.entries(contenders)) best[k] = Math.min(best[k], await f());
  await pool.terminate();
  await pis.destroy();
  console.log(JSON.stringify({ ...best, 'main thread': main, 'first call': first }));
}
