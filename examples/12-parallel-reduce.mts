// Python has no Pool.reduce: people write functools.reduce(op, pool.map(f, xs)).
// Here reduce is parallel: each worker folds its chunks, then the partials are folded.
// `fn` must be associative (the grouping is not left to right).
import { Pool, kernels } from 'ferropool';

await using pool = new Pool();
const xs = Array.from({ length: 1000 }, (_, i) => i + 1);
console.log(await pool.reduce((a: number, b: number) => a + b, xs));
console.log(await pool.reduce((a: string, b: string) => a + b, ['a', 'b', 'c', 'd', 'e'], { chunksize: 2 }));
// A built-in kernel reduces in Rust threads, with an optional fused map.
const data = Float64Array.from(xs);
console.log(await pool.reduce(kernels.sum, data, { map: kernels.square }));

/* Output:
500500
abcde
333833500
*/
