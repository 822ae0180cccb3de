// The one helpers module of the specs (not a test file itself): seeded data and element-wise
// comparison for the kernel specs, collecting async iterables, running a script or fixture
// in a child Node, and how long the property runs are.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Whether this is a long run (FERROPOOL_LONG=1, as `npm run test:soak` sets it): property
 * tests then run `long` cases, and otherwise `short` ones (what `npm test` runs).
 */
export const LONG = Boolean(process.env.FERROPOOL_LONG) && process.env.FERROPOOL_LONG !== '0';
export const runs = (short, long) => (LONG ? long : short);

/** [0, 1, …, n-1]. */
export const range = (n) => Array.from({ length: n }, (_, i) => i);

/** Everything an (async) iterable yields, in order. */
export async function collect(iterable) {
  const out = [];
  for await (const x of iterable) out.push(x);
  return out;
}

/** What an (async) iterable yields until it throws, and the error (undefined if none). */
export async function collectUntilError(iterable) {
  const out = [];
  try {
    for await (const x of iterable) out.push(x);
  } catch (error) {
    return { out, error };
  }
  return { out, error: undefined };
}

// Child processes a test file runs at once: ava runs a file's tests concurrently, and a
// file of fixtures would otherwise start them all together on a 2-core machine.
const MAX_CHILDREN = 2;
let running = 0;
const waiting = [];
async function slot() {
  if (running >= MAX_CHILDREN) await new Promise((resolve) => waiting.push(resolve));
  running++;
}
function release() {
  running--;
  waiting.shift()?.();
}

/**
 * Runs `file` (a path) in a child Node with `args` (and Node `flags` before the file), in
 * `cwd`; SIGKILLed after `timeout` ms from its start (a few run at once; the others wait
 * their turn first). Resolves with { code, signal, killed, stdout, stderr, ms }: `code` is
 * null when a signal ended it.
 */
export async function runNode(file, { args = [], flags = [], cwd, env, timeout = 20_000 } = {}) {
  await slot();
  const started = Date.now();
  try {
    return await new Promise((resolve) => {
      execFile(process.execPath, [...flags, file, ...args], { cwd, env, timeout, killSignal: 'SIGKILL', maxBuffer: 1 << 24 }, (error, stdout, stderr) => {
        resolve({
          code: error ? (typeof error.code === 'number' ? error.code : null) : 0,
          signal: error?.signal ?? null,
          killed: error?.killed ?? false,
          stdout,
          stderr,
          ms: Date.now() - started,
        });
      });
    });
  } finally {
    release();
  }
}

/** {@link runNode} of `__test__/fixtures/<name>`. */
export function runFixture(name, options) {
  return runNode(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)), options);
}

/** A run of {@link runNode}, described for an assertion message. */
export const describeRun = (r) => `exit code ${r.code}, signal ${r.signal}${r.killed ? ' (killed: it did not end by itself)' : ''} after ${r.ms} ms\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;


/** mulberry32: a tiny seeded PRNG giving floats in [0, 1). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The seed of this run: FERROPOOL_TEST_SEED when set (to replay a failure), else a fresh
 * one. Every failure message of the specs includes it.
 */
export function runSeed() {
  const fromEnv = process.env.FERROPOOL_TEST_SEED;
  if (fromEnv !== undefined && fromEnv !== '') return Number(fromEnv) >>> 0;
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

/** Values every kernel must get right; they are also scattered through the random data. */
export const SPECIALS = [
  NaN, Infinity, -Infinity, -0, 0, 1, -1, 0.5, -0.5, 2, 5e-324, -5e-324, 2.2250738585072014e-308,
  Number.MAX_VALUE, -Number.MAX_VALUE, Number.EPSILON, 16777217, 1e-300, -1e300, Math.PI, 709.5, -745.5,
];

/**
 * `n` seeded doubles of many magnitudes (small, huge, tiny, integers, the exp overflow and
 * underflow ranges), with {@link SPECIALS} at the start and at random positions.
 */
export function randomDoubles(seed, n, { specials = true } = {}) {
  const r = mulberry32(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const k = r();
    let x;
    if (k < 0.4) x = (r() - 0.5) * 40;
    else if (k < 0.55) x = (r() - 0.5) * 2e6;
    else if (k < 0.65) x = (r() - 0.5) * 1e-3;
    else if (k < 0.75) x = Math.round((r() - 0.5) * 200);
    else if (k < 0.87) x = (r() < 0.5 ? -1 : 1) * 2 ** ((r() - 0.5) * 200);
    else x = (r() - 0.5) * 1500;
    out[i] = x;
  }
  if (specials) {
    for (let i = 0; i < Math.min(n, SPECIALS.length); i++) out[i] = SPECIALS[i];
    const scattered = Math.min(64, Math.floor(n / 100));
    for (let j = 0; j < scattered; j++) out[Math.floor(r() * n)] = SPECIALS[j % SPECIALS.length];
  }
  return out;
}

const f64 = new Float64Array(1);
const f64Bits = new BigInt64Array(f64.buffer);
const f32 = new Float32Array(1);
const f32Bits = new Int32Array(f32.buffer);

/** A position on the number line in units of the last place (monotonic over all doubles). */
function ordinal64(x) {
  f64[0] = x;
  const b = f64Bits[0];
  return b < 0n ? -(b & 0x7fffffffffffffffn) : b;
}

function ordinal32(x) {
  f32[0] = x;
  const b = f32Bits[0];
  return b < 0 ? -(b & 0x7fffffff) : b;
}

/** The distance in ulps between two finite numbers (of float32 when `single`). */
export function ulpDistance(a, b, single = false) {
  if (single) return Math.abs(ordinal32(a) - ordinal32(b));
  const d = ordinal64(a) - ordinal64(b);
  return Number(d < 0n ? -d : d);
}

/**
 * The first element where `actual` differs from `expected`, described, or undefined.
 * Exact (Object.is) unless `ulps` is given; then finite values may be that many ulps apart
 * (of float32 when `single`), while a non-finite or NaN expectation must match exactly.
 */
export function firstMismatch(actual, expected, { ulps = 0, single = false, input } = {}) {
  if (actual.length !== expected.length) return `length ${actual.length}, expected ${expected.length}`;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Object.is(a, e)) continue;
    if (ulps > 0 && Number.isFinite(e) && Number.isFinite(a) && ulpDistance(a, e, single) <= ulps) continue;
    const at = input ? ` (input ${Object.is(input[i], -0) ? '-0' : input[i]})` : '';
    return `at [${i}]${at}: got ${Object.is(a, -0) ? '-0' : a}, expected ${Object.is(e, -0) ? '-0' : e}`;
  }
  return undefined;
}

/** Whether two typed arrays hold the same bytes. */
export function sameBytes(a, b) {
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
