// Peak RSS growth of one `pool.map(kernels.square, x)` over 10M doubles, in a fresh process,
// against the output's size (target ≤ 1.2×: no hidden copies).
import { readFileSync } from 'node:fs';
import { Pool, kernels } from '../dist/index.mjs';

const peakKiB = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
const n = 10_000_000;
const x = new Float64Array(n).fill(3);
const pool = new Pool();
await pool.map(kernels.square, new Float64Array(2_000_000)); // start the threads
const before = peakKiB();
const y = await pool.map(kernels.square, x);
const after = peakKiB();
if (y[n - 1] !== 9) throw new Error('wrong result');
const outputBytes = n * 8;
console.log(JSON.stringify({ outputMiB: outputBytes / 2 ** 20, peakGrowthMiB: ((after - before) * 1024) / 2 ** 20, ratio: ((after - before) * 1024) / outputBytes, target: 1.2 }));
await pool.terminate();
