// The leak soak: npm run soak -- --leaks [--calls N] [--heavy-calls N] [--only SUBSTRING]
//   [--slope B] [--heavy-slope B] [--growth FRACTION] [--max-warm-factor F] [--samples N]
//   [--semi-space MIB[,MIB]] [--stall SECONDS] [--deadline SECONDS] [--json]
// Runs every call path of scripts/leak-paths.mjs in turn, in this process: a warm-up, then
// N calls (N/10 for the heavy paths: Process, worker replacement, pools made and
// terminated), sampling the process's RSS (all native memory included: the addon, the
// worker isolates, the allocator) 40 times, with a full GC of this isolate first,
// and V8's young generations pinned at their largest size (below). A path fails when the
// least-squares slope of RSS over calls exceeds 64 bytes a call, or RSS grew by more than
// 5% from the first sample to the last. Heap, external memory, threads and file
// descriptors are printed beside. Exit status 1 when any path fails; 3 when a path made no
// progress for --stall seconds (240): a hang, reported with the JavaScript stacks of the
// soak's threads; 4 when the whole soak outlasts --deadline seconds (none by default): a
// crawl, reported the same way, after the lines of the paths that finished.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PATHS } from './leak-paths.mjs';

/**
 * V8 sizes each isolate's young generation by what survives its scavenges: from 1 MiB it
 * doubles, at moments no warm-up can predict, up to 2 x 16 MiB (the worker of a path whose
 * tasks throw grows from 9 to 37 MiB of heap; after a full GC it holds 4 MiB, as the same
 * worker does when its tasks return). A step of 16-32 MiB in a window reads as a leak, and a
 * shrink can hide one. So the soak runs with every young generation (this isolate's and the
 * workers', which take the process's V8 flags) pinned at that largest size: V8's heap sizing
 * then no longer moves RSS, and what is left is the memory a call keeps. `--semi-space MIB`
 * pins them at another size: the short soak of npm run test:soak uses 1, whose pages every fresh
 * worker has in use within a few thousand calls.
 *
 * A pinned size still leaves V8 free to give a semi-space's pages back and to take them in
 * again: its memory reducer does when it judges the process idle, and so does every GC that
 * follows a slow allocation rate. The heavy paths allocate slowly on this thread (a Process
 * start is a few hundred bytes of JavaScript here and milliseconds of waiting), so this
 * isolate's young generation held 0.5, 10, 12 or 21 MiB of pages, and RSS moved with it, in
 * steps of ~10 MiB that lasted thousands of starts (read with `v8.getHeapSpaceStatistics()`
 * at each sample: new space's physical size matched every step of RSS, old space and the
 * rest stayed within 0.5 MiB). So the memory reducer is off (`--no-memory-reducer`), and each
 * sample first fills this isolate's young generation with short-lived garbage (`fillYoung`),
 * so that every reading finds both semi-spaces in use. Neither keeps any memory alive: what
 * they hold steady is free space V8 owns, not what a call leaves behind.
 */
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
/** The young generations' sizes the soak runs at, one whole soak each: V8's largest (16 MiB
 * a semi-space) and its smallest (1 MiB: what `resourceLimits.maxYoungGenerationSizeMb` or a
 * memory-tight container gives), where a worker's C heap that grows with every call shows
 * before the young generation's growth can hide it. `--semi-space 16` runs one. */
const SEMI_SIZES = String(opt('--semi-space', '16,1')).split(',').map(Number);
if (SEMI_SIZES.some((mb) => !(mb >= 1))) {
  console.error(`--semi-space takes sizes in MiB (16,1), got ${opt('--semi-space')}`);
  process.exit(2);
}
const SEMI_MB = SEMI_SIZES[0];
const pinned = (mb) => [`--min-semi-space-size=${mb}`, `--max-semi-space-size=${mb}`, '--no-memory-reducer'];
const PINNED = pinned(SEMI_MB);
/** A path that makes no progress for this long is a hang: the soak stops, naming it. */
const STALL_S = Number(opt('--stall', 240));
/** The whole soak's time limit: a caller with its own timeout (npm run test:soak) sets one below it,
 * so that a crawl still prints which path was slow and where its threads were. */
const DEADLINE_S = Number(opt('--deadline', Number.POSITIVE_INFINITY));
if (SEMI_SIZES.length > 1 || !PINNED.every((f) => process.execArgv.includes(f))) {
  let status = 0;
  for (const mb of SEMI_SIZES) {
    if (SEMI_SIZES.length > 1) console.error(`== young generations pinned at ${mb} MiB a semi-space ==`);
    status = Math.max(status, await supervise(mb));
  }
  process.exit(status);
}

/**
 * Runs the soak in a child process with the pinned flags and watches it: the child reports
 * its progress (path, phase, calls) over IPC at every warm-up block and sample. If none
 * arrives for `--stall` seconds, a call hangs (or crawls): the child is asked for a Node
 * diagnostic report, whose JavaScript stacks (its main thread's and its workers') are
 * printed with the path and phase, and it is killed; the same when the soak outlasts
 * `--deadline`. Exit status: the child's, 3 on a stall, 4 past the deadline.
 */
async function supervise(mb) {
  const reports = mkdtempSync(join(tmpdir(), 'ferropool-leaks-'));
  const flags = [...new Set(['--expose-gc', ...process.execArgv.filter((f) => !/semi-space-size/.test(f)), ...pinned(mb), '--report-on-signal', '--report-signal=SIGUSR2', `--report-directory=${reports}`])];
  const began = Date.now();
  const at = args.indexOf('--semi-space');
  const childArgs = at < 0 ? [...args, '--semi-space', String(mb)] : args.map((a, i) => (i === at + 1 ? String(mb) : a));
  const child = spawn(process.execPath, [...flags, fileURLToPath(import.meta.url), ...childArgs], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
  let last = { path: '(starting)', phase: 'setup', calls: 0 };
  let heard = Date.now();
  child.on('message', (m) => {
    last = m;
    heard = Date.now();
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  const cut = new Promise((resolve) => {
    const timer = setInterval(() => {
      if (Date.now() - heard >= STALL_S * 1000) resolve('stall');
      else if (Date.now() - began >= DEADLINE_S * 1000) resolve('deadline');
      else return;
      clearInterval(timer);
    }, 1000);
    exited.then(() => clearInterval(timer));
  });
  const why = await Promise.race([exited, cut]);
  if (why !== 'stall' && why !== 'deadline') return why;
  const where = `${last.path}, in its ${last.phase} after ${last.calls} calls`;
  if (why === 'stall') console.error(`STALL no progress for ${STALL_S} s: ${where}`);
  else console.error(`DEADLINE the soak ran past ${DEADLINE_S} s: ${where}`);
  child.kill('SIGUSR2');
  await new Promise((r) => setTimeout(r, 5000));
  for (const name of readdirSync(reports)) {
    try {
      const report = JSON.parse(readFileSync(join(reports, name), 'utf8'));
      console.error(`main thread: ${report.javascriptStack?.message ?? ''}\n  ${(report.javascriptStack?.stack ?? []).join('\n  ')}`);
      for (const [i, w] of (report.workers ?? []).entries()) console.error(`worker ${i}:\n  ${(w.javascriptStack?.stack ?? []).join('\n  ')}`);
    } catch (err) {
      console.error(`(diagnostic report ${name} unreadable: ${err.message})`);
    }
  }
  if (readdirSync(reports).length === 0) console.error('(no diagnostic report: the main thread did not answer SIGUSR2)');
  rmSync(reports, { recursive: true, force: true });
  child.kill('SIGKILL');
  await exited;
  return why === 'stall' ? 3 : 4;
}

/** Tells the supervisor (above) how far the soak is. */
function progress(path, phase, calls) {
  process.send?.({ path, phase, calls });
}
process.channel?.unref();

const CALLS = Number(opt('--calls', 100_000));
const HEAVY = Number(opt('--heavy-calls', Math.max(1000, CALLS / 10)));
const ONLY = opt('--only', '');
const SLOPE_LIMIT = Number(opt('--slope', 64));
/** The slope limit of the heavy paths: a few thousand thread starts are too few to read
 * 64 bytes a call from RSS noise; the short soak of npm run test:soak gives them a wider one. */
const HEAVY_SLOPE_LIMIT = Number(opt('--heavy-slope', SLOPE_LIMIT));
const GROWTH_LIMIT = Number(opt('--growth', 0.05));
/** RSS samples a path takes after its warm-up: the slope's error shrinks with their number
 * (RSS moves by up to a MiB between samples with nothing leaking, which over the 10,000
 * calls of a heavy path is 100 bytes a call). */
const SAMPLES = Number(opt('--samples', 40));
/** The warm-up stops after this many times its minimum even if RSS still rises. */
const MAX_WARM_FACTOR = Number(opt('--max-warm-factor', 10));

if (typeof global.gc !== 'function') {
  console.error('run with node --expose-gc (npm run soak -- --leaks does)');
  process.exit(2);
}

const pause = (ms) => new Promise((r) => setTimeout(r, ms));
/**
 * Allocates `mib` MiB of short-lived arrays (~0.5 KiB each) on the thread it runs on, then
 * collects that isolate's whole heap; returns the thread's id and its young generation's
 * pages in use. With three semi-spaces' worth: two scavenges or more, after which both
 * semi-spaces have every page in use. Self-contained, so that the same function runs here
 * and, shipped by source, on a pool's workers (`gc` reaches them through the process's
 * --expose-gc).
 */
async function fillYoung(mib) {
  let junk;
  for (let i = 0, n = mib * 2048; i < n; i++) junk = new Array(62);
  globalThis.gc?.();
  const { getHeapSpaceStatistics } = await import('node:v8');
  const { threadId } = await import('node:worker_threads');
  const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  return [threadId, space?.physical_space_size ?? 0, junk.length];
}

/**
 * The same for a light path's pool workers. A worker's young generation is written page by
 * page as it allocates: one that allocates a few hundred bytes a call takes over 100,000
 * calls to write both of its 16 MiB semi-spaces once, so a warm-up could end with them half
 * in use and the window read their filling as growth (the express lane: 99-135 bytes a call,
 * 6.6-13%, in two of seven runs). So each sample first has every worker of the path's pool
 * run `fillYoung`, as this isolate does: the workers' old generations are read at the same
 * point too, not wherever their own collections left them. A map of one chunk an item and
 * two items a worker, repeated until every worker has run one (at most five rounds).
 * Returns each worker's young generation (pages in use) afterwards, and how many workers no
 * round reached (reported beside the path: their young generations were left as they were).
 */
async function fillWorkers(pool) {
  const want = pool?.stats().workers ?? 0;
  const young = new Map();
  for (let round = 0; round < 5 && young.size < want; round++) {
    const filled = await pool.map(fillYoung, new Array(2 * want).fill(3 * SEMI_MB), { chunksize: 1 });
    for (const [thread, bytes] of filled) if (thread !== 0) young.set(thread, bytes);
  }
  return { young: [...young.values()], missed: Math.max(0, want - young.size) };
}
const threadCount = () => Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
async function sample(heavy = false, settled = () => true, pool = undefined) {
  // Let notes, finalizers and exits of the last calls run before measuring; after a thread
  // start, long enough for the thread to be up (a replacement worker starts in 30-70 ms,
  // and one sampled half-started read as a dip of 5-8 MiB). A heavy path's sample waits
  // further (up to 5 s) for the path's settled state and a thread count that holds still
  // over 100 ms, so that every sample counts the same threads: a worker still exiting on a
  // busy machine added 10 MiB to one sample.
  await pause(heavy ? 150 : 20);
  let unsettled = false;
  if (heavy) {
    const until = performance.now() + 5000;
    let same = 0;
    for (let last = threadCount(); same < 4 && performance.now() < until; ) {
      await pause(25);
      const now = threadCount();
      same = now === last && settled() ? same + 1 : 0;
      last = now;
    }
    unsettled = same < 4;
  }
  const workers = heavy ? { young: [], missed: 0 } : await fillWorkers(pool);
  const [, young] = await fillYoung(3 * SEMI_MB);
  await pause(5);
  const m = process.memoryUsage();
  const status = readFileSync('/proc/self/status', 'utf8');
  return {
    rss: m.rss,
    heap: m.heapUsed,
    external: m.external + m.arrayBuffers,
    threads: Number(/Threads:\s+(\d+)/.exec(status)?.[1] ?? 0),
    fds: readdirSync('/proc/self/fd').length,
    young,
    workersYoung: workers.young,
    workersMissed: workers.missed,
    unsettled,
  };
}

/** Least-squares slope of ys over xs. */
function slope(xs, ys) {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  return sxy / sxx;
}

/** Runs one path: warm-up, then `calls` calls in SAMPLES steps; what it measured. */
export async function soakPath(path, calls) {
  progress(path.name, 'setup', 0);
  const started = performance.now();
  const { call, teardown, settled: isSettled, pool } = await path.setup();
  const batch = path.batch ?? 1;
  const rounds = Math.ceil(calls / batch);
  const take = () => sample(path.heavy, isSettled, pool);
  // Warm-up: code optimised, caches full, and the pinned young generations' pages touched
  // (RSS counts a page from its first write: 64 MiB for the two isolates, more with more
  // workers). At least a quarter of the calls (and 20,000; 200 for the heavy paths), and
  // until RSS, after a full GC, has risen by less than 1 MiB over each of two blocks of calls.
  // A heavy path warms up in blocks of the measurement's own steps: between two samples (two
  // full GCs) the main isolate then allocates as much as it will during the measurement, and
  // its young generation grows (16 -> 32 MiB of pages in use, in one step) in the warm-up.
  // In blocks of 50 pools it never filled between full GCs, and grew 25 MiB into the window.
  const step = Math.ceil(rounds / SAMPLES);
  const minWarm = Math.max(path.heavy ? 200 : 20_000, Math.ceil(rounds / 4));
  const block = path.heavy ? Math.max(50, step) : 4096;
  let warm = 0;
  let warmed = await take();
  for (let settled = 0; warm < minWarm || settled < 2; ) {
    for (let i = 0; i < block; i++) await call();
    warm += block;
    progress(path.name, 'warm-up', warm * batch);
    const now = await take();
    settled = now.rss - warmed.rss < 2 ** 20 ? settled + 1 : 0;
    warmed = now;
    if (warm >= MAX_WARM_FACTOR * minWarm) break;
  }
  // The window's first sample is the warm-up's last, taken after a block of calls as every
  // later one is. (A sample taken right after it, with no call between, followed two full
  // GCs in a row and read 5-6 MiB below all the others on the pools path.)
  const xs = [0];
  const samples = [warmed];
  const began = performance.now();
  let done = 0;
  while (done < rounds) {
    const n = Math.min(step, rounds - done);
    for (let i = 0; i < n; i++) await call();
    done += n;
    progress(path.name, 'measurement', done * batch);
    samples.push(await take());
    xs.push(done * batch);
  }
  const seconds = (performance.now() - began) / 1000;
  progress(path.name, 'teardown', done * batch);
  await teardown();
  const rss = samples.map((s) => s.rss);
  const first = samples[0];
  const last = samples.at(-1);
  const bytesPerCall = slope(xs, rss);
  const growth = (last.rss - first.rss) / first.rss;
  return {
    path: path.name,
    calls: done * batch,
    warmUp: warm * batch,
    seconds: +seconds.toFixed(1),
    totalSeconds: +((performance.now() - started) / 1000).toFixed(1),
    /** Samples of a heavy path whose settled state or thread count did not hold within 5 s. */
    unsettled: samples.filter((s) => s.unsettled).length,
    /** Samples at which some worker of the path's pool was not reached by the fill. */
    unfilled: samples.filter((s) => s.workersMissed > 0).length,
    rssMiB: [+(first.rss / 2 ** 20).toFixed(1), +(last.rss / 2 ** 20).toFixed(1)],
    bytesPerCall: Math.round(bytesPerCall),
    growthPct: +(growth * 100).toFixed(2),
    heapMiB: [+(first.heap / 2 ** 20).toFixed(1), +(last.heap / 2 ** 20).toFixed(1)],
    externalMiB: [+(first.external / 2 ** 20).toFixed(1), +(last.external / 2 ** 20).toFixed(1)],
    threads: [first.threads, last.threads],
    fds: [first.fds, last.fds],
    samplesMiB: rss.map((r) => +(r / 2 ** 20).toFixed(2)),
    /** This isolate's young generation (pages in use) at each sample: steady at two
     * semi-spaces, or the RSS samples above moved with it. */
    youngMiB: [...new Set(samples.map((s) => +(s.young / 2 ** 20).toFixed(1)))],
    /** The same for the workers of a light path's pool, every worker at every sample. */
    workersYoungMiB: [...new Set(samples.flatMap((s) => s.workersYoung.map((b) => +(b / 2 ** 20).toFixed(1))))],
    reference: path.reference === true,
    ok: path.reference === true || (bytesPerCall <= (path.heavy ? HEAVY_SLOPE_LIMIT : SLOPE_LIMIT) && growth <= GROWTH_LIMIT),
  };
}

const results = [];
for (const path of PATHS) {
  if (ONLY && !path.name.includes(ONLY)) continue;
  const r = await soakPath(path, path.heavy ? HEAVY : CALLS);
  results.push(r);
  const mark = r.reference ? 'ref ' : r.ok ? 'ok  ' : 'FAIL';
  console.error(`${mark} ${r.path.padEnd(48)} ${String(r.calls).padStart(7)} calls ${String(r.seconds).padStart(6)} s  RSS ${r.rssMiB[0]} -> ${r.rssMiB[1]} MiB  ${String(r.bytesPerCall).padStart(5)} B/call  ${r.growthPct}%  threads ${r.threads.join('->')}  fds ${r.fds.join('->')}  young ${r.youngMiB.join('/')} MiB${r.workersYoungMiB.length ? `, workers' ${r.workersYoungMiB.join('/')} MiB` : ''}  (${r.totalSeconds} s with ${r.warmUp} calls of warm-up${r.unsettled ? `; ${r.unsettled} samples unsettled after 5 s` : ''}${r.unfilled ? `; ${r.unfilled} samples with a worker not filled` : ''})`);
}
const ok = results.every((r) => r.ok);
if (args.includes('--json')) console.log(JSON.stringify({ calls: CALLS, heavyCalls: HEAVY, slopeLimit: SLOPE_LIMIT, heavySlopeLimit: HEAVY_SLOPE_LIMIT, growthLimit: GROWTH_LIMIT, ok, results }, null, 2));
else console.error(ok ? 'leak soak passed' : 'leak soak FAILED');
process.exit(ok ? 0 : 1);
