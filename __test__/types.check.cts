// Compiled by `npm run typecheck` (never run): the public types, as a CommonJS user sees them.
import ferropool = require('ferropool');

const pool = new ferropool.Pool(2);
export const result: Promise<Float64Array> = pool.map(ferropool.kernels.exp, new Float64Array(3));
