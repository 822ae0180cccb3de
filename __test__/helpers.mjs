// Shared by the specs: seeded data and reference checks (the PRNG lives in support/numeric.mjs).
import { mulberry32 } from './support/numeric.mjs';

export { mulberry32 };
export function randomDoubles(seed, n) {
  const r = mulberry32(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() - 0.5) * (i % 3 === 0 ? 2e6 : 20);
  return out;
}

/** Object.is per element, or within `rel` relative error when `rel` is given. */
export function firstMismatch(actual, expected, rel = 0) {
  if (actual.length !== expected.length) return `length ${actual.length} vs ${expected.length}`;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Object.is(a, e)) continue;
    if (rel > 0 && Number.isFinite(e) && Math.abs(a - e) <= rel * Math.max(Math.abs(e), Number.MIN_VALUE)) continue;
    return `at ${i}: ${a} vs ${e}`;
  }
  return undefined;
}
