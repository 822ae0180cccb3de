// npm run soak -- --oom [--pools 500] [--hang SECONDS]: pools whose workers run out of
// memory under `resourceLimits`, one after another. Each pool maps a function that
// allocates without end at one item, then applies one that does the same; both calls must
// reject with WorkerCrashedError, and the pool must still work after each. A pool whose
// calls have not settled after --hang seconds (60) is a hang: the loop stops, naming the
// pool, and exits with status 3. Run it on every Node version the package supports: V8's
// behaviour near a heap limit differs between them.
//
// On Node 24 a worker is sometimes never stopped at its limit (see src/engine/heap-watchdog.ts): the
// pool's watchdog settles its call with WorkerCrashedError and replaces it, but its thread
// goes on allocating until the process ends. The loop counts those workers ("given up"), and
// stops with status 5 once the process's RSS passes --max-rss MiB (8192), before the machine
// runs out of memory. With --per-process N the loop runs in child processes of N pools each
// (a fresh process once N pools are done or RSS passes --max-rss), so that given-up threads
// end with their process and the loop reaches --pools on Node 24 too. (Such a process cannot
// end by process.exit(), which joins every worker thread: the child kills itself instead.)
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Pool, WorkerCrashedError } from '../dist/index.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const POOLS = Number(opt('--pools', 500));
const HANG_S = Number(opt('--hang', 60));
const MAX_RSS_MIB = Number(opt('--max-rss', 8192));
const PER_PROCESS = Number(opt('--per-process', 0));
const CHILD = args.includes('--child');
let givenUp = 0;

const grow = (x) => {
  if (x !== 1) return x;
  const keep = [];
  for (;;) keep.push({ filler: new Array(1000).fill(keep.length) });
};
const growApply = () => {
  const keep = [];
  for (;;) keep.push(new Array(10_000).fill(0));
};

/** The pool of the loop's current step (its stats are printed on a hang). */
let current;

async function onePool() {
  const pool = (current = new Pool({ processes: 1, resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 } }));
  try {
    for (const call of [() => pool.map(grow, [0, 1, 2], { chunksize: 1 }), () => pool.apply(growApply)]) {
      let lastError;
      const outcome = await call().then(
        () => 'resolved',
        (err) => {
          lastError = err.message;
          return err instanceof WorkerCrashedError ? 'crashed' : `${err.name}: ${err.message}`;
        },
      );
      if (outcome === 'crashed' && /given up/.test(String(lastError))) givenUp++;
      if (outcome !== 'crashed') throw new Error(`expected WorkerCrashedError, got ${outcome}`);
      const healthy = await pool.map((x) => x * 2, [1, 2, 3]);
      if (healthy.join() !== '2,4,6') throw new Error(`the pool gave ${healthy} after a crash`);
    }
  } finally {
    await pool.terminate();
  }
}

/** Runs up to `count` pools; stops early (reason 'rss') once RSS passes --max-rss. */
async function loop(count, log) {
  const began = Date.now();
  let slowest = 0;
  for (let i = 1; i <= count; i++) {
    const t0 = Date.now();
    let timer;
    const hang = new Promise((resolve) => {
      timer = setTimeout(resolve, HANG_S * 1000, 'hang');
      timer.unref();
    });
    const outcome = await Promise.race([onePool().then(() => 'ok'), hang]);
    clearTimeout(timer);
    const rss = Math.round(process.memoryUsage.rss() / 2 ** 20);
    if (outcome === 'hang') return { done: i - 1, givenUp, slowest, stop: 'hang', rss, stats: current?.stats() };
    slowest = Math.max(slowest, Date.now() - t0);
    if (rss > MAX_RSS_MIB) return { done: i, givenUp, slowest, stop: 'rss', rss };
    if (log && i % 50 === 0) console.error(`${i} pools, ${((Date.now() - began) / 1000).toFixed(0)} s, slowest ${slowest} ms, ${givenUp} given up, RSS ${rss} MiB`);
  }
  return { done: count, givenUp, slowest, stop: null };
}

const began = Date.now();
const seconds = () => ((Date.now() - began) / 1000).toFixed(0);
if (CHILD) {
  const r = await loop(POOLS, false);
  console.log(JSON.stringify(r));
  // process.exit() joins every worker thread, and a given-up one never ends (Node 24): it
  // would wait for ever. The result is out (stdout to a pipe is synchronous on Linux).
  if (r.givenUp > 0) process.kill(process.pid, 'SIGKILL');
  process.exit(0);
}
const total = { done: 0, givenUp: 0, slowest: 0, processes: 0 };
while (total.done < POOLS) {
  const want = PER_PROCESS > 0 ? Math.min(PER_PROCESS, POOLS - total.done) : POOLS;
  let r;
  if (PER_PROCESS > 0) {
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', '--pools', String(want), '--hang', String(HANG_S), '--max-rss', String(MAX_RSS_MIB)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
    const line = child.stdout.trim().split('\n').pop();
    if ((child.status !== 0 && child.signal !== 'SIGKILL') || !line) {
      console.error(`a child process of the loop ended with status ${child.status} (signal ${child.signal}) after ${total.done} pools`);
      process.exit(4);
    }
    r = JSON.parse(line);
  } else {
    r = await loop(want, true);
  }
  total.done += r.done;
  total.givenUp += r.givenUp;
  total.slowest = Math.max(total.slowest, r.slowest);
  total.processes++;
  if (r.stop === 'hang') {
    console.error(`HANG pool ${total.done + 1} of ${POOLS}: its calls did not settle within ${HANG_S} s (Node ${process.version}, RSS ${r.rss} MiB; the pool's stats: ${JSON.stringify(r.stats)})`);
    process.exit(3);
  }
  if (r.stop === 'rss' && PER_PROCESS === 0) {
    console.error(`RSS ${r.rss} MiB after pool ${total.done} of ${POOLS}: ${total.givenUp} workers given up by the watchdog still allocate (Node ${process.version}); 0 hangs so far (--per-process N runs the loop in fresh processes)`);
    process.exit(5);
  }
  if (PER_PROCESS > 0) console.error(`${total.done} pools in ${total.processes} processes, ${seconds()} s, slowest ${total.slowest} ms, ${total.givenUp} given up${r.stop === 'rss' ? ` (a process ended at RSS ${r.rss} MiB)` : ''}`);
}
console.log(`oom loop: ${POOLS} pools on Node ${process.version}${PER_PROCESS > 0 ? ` in ${total.processes} processes` : ''}, each call crashed its worker and the pool recovered; 0 hangs, ${total.givenUp} workers given up by the watchdog; ${seconds()} s, slowest pool ${total.slowest} ms`);
