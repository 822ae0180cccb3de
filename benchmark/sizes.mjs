// How cost grows with input size: W3 (square a Float64Array: kernel, JS function, serial JS
// loop, the C reference) from 10^3 to 10^8 elements, and W1 (map(x => x * x) over an Array)
// from 10 to 10^6 items (ferropool, serial Array.map, the best-case hand-chunked piscina).
// Medians of interleaved rounds; writes benchmark/results/sizes.{json,svg}.
//
//   node benchmark/sizes.mjs [--quick] [--max 7]   (FERROPOOL_NATIVE_REF: a prebuilt C ref)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Pool, kernels } from '../dist/index.mjs';
import { peers } from './peers/index.mjs';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const MAX_EXP = args.includes('--max') ? Number(args[args.indexOf('--max') + 1]) : QUICK ? 6 : 8;
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const log = (m) => process.stderr.write(`${m}\n`);
const threads = os.availableParallelism();

/** The C reference, built here unless FERROPOOL_NATIVE_REF names one. */
function nativeRef() {
  if (process.env.FERROPOOL_NATIVE_REF) return process.env.FERROPOOL_NATIVE_REF;
  const out = here('./results/ref');
  try {
    mkdirSync(here('./results'), { recursive: true });
    execFileSync('gcc', ['-O3', '-march=native', '-fopenmp', '-o', out, here('./native/ref.c'), '-lm']);
    return out;
  } catch {
    return undefined;
  }
}

/** Medians (ms) of `rounds` interleaved runs of each contender, after a warm-up. */
async function interleave(contenders, rounds) {
  const names = Object.keys(contenders);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (const n of names) for (let w = 0; w < 2; w++) await contenders[n]();
  for (let r = 0; r < rounds; r++) {
    for (const n of names) {
      const t = performance.now();
      await contenders[n]();
      samples[n].push(performance.now() - t);
    }
  }
  return Object.fromEntries(names.map((n) => [n, median(samples[n])]));
}

const pool = new Pool();
const ref = nativeRef();
const results = { machine: { cpu: os.cpus()[0]?.model.trim(), cores: threads, node: process.version, date: new Date().toISOString() }, W3: {}, W1: {} };

for (let e = 3; e <= MAX_EXP; e++) {
  const n = 10 ** e;
  log(`W3 at 10^${e}`);
  const input = new Float64Array(n).map((_, i) => i % 1000);
  const out = new Float64Array(n);
  const rounds = e >= 7 ? 3 : e >= 5 ? 7 : 15;
  const m = await interleave(
    {
      'ferropool kernel (into out)': () => pool.map(kernels.square, input, { out }),
      'ferropool JS fn (into out)': () => pool.map((x) => x * x, input, { out }),
      'serial JS loop (into out)': async () => {
        for (let i = 0; i < n; i++) out[i] = input[i] * input[i];
      },
    },
    rounds,
  );
  if (ref) m['native C/OpenMP (into out)'] = median(JSON.parse(execFileSync(ref, ['square', String(n), String(threads), String(rounds)], { encoding: 'utf8' })).reused);
  results.W3[n] = m;
}

const piscina = peers.piscina(threads);
for (let e = 1; e <= Math.min(6, MAX_EXP); e++) {
  const n = 10 ** e;
  log(`W1 at 10^${e}`);
  const data = Array.from({ length: n }, (_, i) => i);
  const chunk = Math.ceil(n / (4 * threads));
  const chunks = [];
  for (let i = 0; i < n; i += chunk) chunks.push(data.slice(i, i + chunk));
  const contenders = {
    ferropool: () => pool.map((x) => x * x, data),
    'serial Array.map': async () => data.map((x) => x * x),
  };
  if (piscina) contenders['piscina hand-chunked'] = async () => (await Promise.all(chunks.map((c) => piscina.run('squareChunk', c)))).flat();
  results.W1[n] = await interleave(contenders, e >= 5 ? 7 : 15);
}

/** A log-log chart per workload: elements per microsecond (throughput) against size. */
function svg(res) {
  const panels = [
    ['W3', 'square a Float64Array (into a preallocated output)'],
    ['W1', 'map(x => x * x) over an Array'],
  ];
  const W = 520;
  const H = 260;
  const colours = ['#d9480f', '#f08c00', '#868e96', '#495057', '#339af0'];
  const parts = [];
  let y0 = 50;
  for (const [id, title] of panels) {
    const sizes = Object.keys(res[id]).map(Number);
    if (sizes.length === 0) continue;
    const names = Object.keys(res[id][sizes[0]]);
    const tput = (n, name) => n / (res[id][n][name] * 1000); // elements per µs
    const all = sizes.flatMap((n) => names.map((k) => tput(n, k))).filter((v) => v > 0 && Number.isFinite(v));
    const [lo, hi] = [Math.log10(Math.min(...all)) - 0.2, Math.log10(Math.max(...all)) + 0.2];
    const [xlo, xhi] = [Math.log10(Math.min(...sizes)), Math.log10(Math.max(...sizes))];
    const X = (n) => 60 + ((Math.log10(n) - xlo) / (xhi - xlo || 1)) * W;
    const Y = (v) => y0 + H - ((Math.log10(v) - lo) / (hi - lo)) * H;
    parts.push(`<text x="10" y="${y0 - 12}" font-weight="bold">${id}: ${title} — elements per µs (log) vs size (log)</text>`);
    parts.push(`<rect x="60" y="${y0}" width="${W}" height="${H}" fill="none" stroke="#ced4da"/>`);
    for (const n of sizes) parts.push(`<text x="${X(n)}" y="${y0 + H + 14}" text-anchor="middle">1e${Math.log10(n)}</text>`);
    for (let p = Math.ceil(lo); p <= Math.floor(hi); p++) parts.push(`<text x="55" y="${Y(10 ** p) + 4}" text-anchor="end">1e${p}</text>`);
    names.forEach((name, i) => {
      const pts = sizes.map((n) => `${X(n).toFixed(1)},${Y(tput(n, name)).toFixed(1)}`).join(' ');
      parts.push(`<polyline points="${pts}" fill="none" stroke="${colours[i % colours.length]}" stroke-width="2"/>`);
      parts.push(`<text x="${60 + W + 10}" y="${y0 + 14 + i * 16}" fill="${colours[i % colours.length]}">${name}</text>`);
    });
    y0 += H + 60;
  }
  const m = res.machine;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${60 + W + 260}" height="${y0}" font-family="sans-serif" font-size="12" role="img"><title>ferropool throughput by input size, ${m.cores} cores</title><rect width="100%" height="100%" fill="white"/>` +
    `<text x="10" y="20" font-weight="bold" font-size="14">${m.cpu} · ${m.cores} cores · Node ${m.node} · ${m.date.slice(0, 10)}</text>${parts.join('')}</svg>\n`;
}

if (!existsSync(here('./results'))) mkdirSync(here('./results'), { recursive: true });
writeFileSync(here('./results/sizes.json'), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(here('./results/sizes.svg'), svg(results));
for (const id of ['W3', 'W1']) {
  for (const [n, m] of Object.entries(results[id])) console.log(id, n.padStart(10), Object.entries(m).map(([k, v]) => `${k} ${v.toPrecision(3)}`).join(' · '));
}
log('wrote benchmark/results/sizes.json and sizes.svg');
await pool.terminate();
await piscina.destroy();
process.exit(0);
