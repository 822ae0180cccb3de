// A/B of two whole builds over `npm run bench`'s workloads, process by process: each round runs
// benchmark/bench.mjs --json once per build (the order alternating between rounds), and the
// report gives, for every ferropool figure of every workload, each build's median over the
// rounds (and the range of the rounds' figures) and the ratio of the second build to the
// first (above 1: slower), flagging those more than 5% slower. Serial, native and peer
// figures are left out: they measure the machine.
//
//   git worktree add /tmp/before <commit> && (cd /tmp/before && ln -s "$OLDPWD/node_modules" && npm run build)
//   node benchmark/ab-main.mjs [--rounds 3] [--quick] [--only W1,W2,...] /tmp/before/dist/index.mjs dist/index.mjs
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args.splice(args.indexOf(name), 2)[1] : fallback);
const ROUNDS = Number(option('--rounds', 3));
const ONLY = option('--only', 'W1,W2,W3a,W3b,W4,W4m,W5,W7,W8');
const QUICK = args.includes('--quick') ? args.splice(args.indexOf('--quick'), 1) : [];
if (args.length !== 2) throw new Error('usage: node benchmark/ab-main.mjs [--rounds N] [--quick] [--only W1,...] before/dist/index.mjs after/dist/index.mjs');
const bench = fileURLToPath(new URL('./bench.mjs', import.meta.url));
const own = (name) => !/^(serial|native|piscina|tinypool|workerpool|poolifier|ideal)/.test(name);
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// figures[build][workload/contender] = one median per round
const figures = args.map(() => ({}));
const units = {};
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? [0, 1] : [1, 0];
  for (const b of order) {
    process.stderr.write(`round ${r + 1}/${ROUNDS}: ${args[b]}\n`);
    const run = spawnSync(process.execPath, [bench, '--json', ...QUICK, '--only', ONLY, '--dist', args[b]], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (run.status !== 0) throw new Error(`bench.mjs failed for ${args[b]}:\n${run.stderr}`);
    for (const [id, w] of Object.entries(JSON.parse(run.stdout).workloads)) {
      for (const [name, v] of Object.entries(w.medians)) {
        if (!own(name)) continue;
        const key = `${id} ${name}`;
        units[key] = w.unit;
        (figures[b][key] ??= []).push(v);
      }
    }
  }
}

const range = (a) => `${Math.min(...a).toPrecision(3)}-${Math.max(...a).toPrecision(3)}`;
console.log(`${'workload / contender'.padEnd(52)} ${'before'.padStart(10)} ${'after'.padStart(10)}  after/before  (rounds: before | after)`);
let slower = 0;
for (const key of Object.keys(units)) {
  if (!figures[0][key] || !figures[1][key]) continue;
  const [a, b] = [median(figures[0][key]), median(figures[1][key])];
  const flag = b / a > 1.05 ? '  slower by more than 5%' : '';
  if (flag) slower++;
  console.log(`${key.padEnd(52)} ${a.toFixed(2).padStart(10)} ${b.toFixed(2).padStart(10)}  ${(b / a).toFixed(2)} ${units[key]}  (${range(figures[0][key])} | ${range(figures[1][key])})${flag}`);
}
console.log(`${ROUNDS} rounds; ${slower} figure(s) more than 5% slower`);
