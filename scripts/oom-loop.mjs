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
// runs out of memory.
import { Pool, WorkerCrashedError } from '../dist/index.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const POOLS = Number(opt('--pools', 500));
const HANG_S = Number(opt('--hang', 60));
const MAX_RSS_MIB = Number(opt('--max-rss', 8192));
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

async function onePool() {
  const pool = new Pool({ processes: 1, resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 } });
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

const began = Date.now();
let slowest = 0;
for (let i = 1; i <= POOLS; i++) {
  const t0 = Date.now();
  let timer;
  const hang = new Promise((resolve) => {
    timer = setTimeout(resolve, HANG_S * 1000, 'hang');
    timer.unref();
  });
  const outcome = await Promise.race([onePool().then(() => 'ok'), hang]);
  clearTimeout(timer);
  if (outcome === 'hang') {
    console.error(`HANG pool ${i} of ${POOLS}: its calls did not settle within ${HANG_S} s (Node ${process.version}, RSS ${Math.round(process.memoryUsage.rss() / 2 ** 20)} MiB)`);
    process.exit(3);
  }
  slowest = Math.max(slowest, Date.now() - t0);
  const rss = Math.round(process.memoryUsage.rss() / 2 ** 20);
  if (rss > MAX_RSS_MIB) {
    console.error(`RSS ${rss} MiB after pool ${i} of ${POOLS}: ${givenUp} workers given up by the watchdog still allocate (Node ${process.version}); 0 hangs so far`);
    process.exit(5);
  }
  if (i % 50 === 0) console.error(`${i} pools, ${((Date.now() - began) / 1000).toFixed(0)} s, slowest ${slowest} ms, ${givenUp} given up, RSS ${rss} MiB`);
}
console.log(`oom loop: ${POOLS} pools on Node ${process.version}, each call crashed its worker and the pool recovered; 0 hangs, ${givenUp} workers given up by the watchdog; ${((Date.now() - began) / 1000).toFixed(0)} s, slowest pool ${slowest} ms`);
