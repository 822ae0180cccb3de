// k-means with the points in shared memory and the centroids passed once per call.
// Python:
//   def range_sums(start, end, points, centroids): ...   # per-centroid sums of x, y and count
//   with Pool() as pool:
//       for _ in range(iterations):
//           parts = pool.starmap(partial(range_sums, points=points, centroids=centroids), ranges)
//           centroids = recompute(sum(parts))
import { Pool, sharedArray } from 'ferropool';

const n = 2_000;
const k = 3;
// Points x/y interleaved, around three centres, on shared memory: the workers read them in
// place (never copied). A small deterministic generator keeps the output stable.
let seed = 7;
const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
const centres = [[0, 0], [10, 0], [5, 8]];
const points = sharedArray(Float64Array, 2 * n);
for (let i = 0; i < n; i++) {
  const [cx, cy] = centres[i % k]!;
  points[2 * i] = cx + (random() - 0.5) * 4;
  points[2 * i + 1] = cy + (random() - 0.5) * 4;
}

// One task per range of points: each finds its points' nearest centroids and returns, for every
// centroid, the sum of x, of y and the count (3 numbers a centroid). A call is then one task per
// core, and the caller only adds k * 3 numbers per task.
function rangeSums(start: number, end: number, pts: Float64Array, cen: Float64Array): Float64Array {
  const acc = new Float64Array((cen.length / 2) * 3);
  for (let i = start; i < end; i++) {
    const x = pts[2 * i]!;
    const y = pts[2 * i + 1]!;
    let best = 0;
    let bestD = Infinity;
    for (let c = 0; c < cen.length; c += 2) {
      const d = (x - cen[c]!) ** 2 + (y - cen[c + 1]!) ** 2;
      if (d < bestD) [best, bestD] = [c / 2, d];
    }
    acc[3 * best] += x;
    acc[3 * best + 1] += y;
    acc[3 * best + 2] += 1;
  }
  return acc;
}

await using pool = new Pool();
const tasks = 8;
const ranges = Array.from({ length: tasks }, (_, t): [number, number] => [Math.floor((t * n) / tasks), Math.floor(((t + 1) * n) / tasks)]);
let centroids = Float64Array.of(points[0]!, points[1]!, points[2]!, points[3]!, points[4]!, points[5]!);
for (let iteration = 0; iteration < 10; iteration++) {
  // `args` go to each worker once per call (functools.partial), not once per task.
  const parts = await pool.starmap(rangeSums, ranges, { args: [points, centroids] });
  const sums = new Float64Array(3 * k);
  for (const part of parts) for (let j = 0; j < 3 * k; j++) sums[j] += part[j]!;
  centroids = Float64Array.from({ length: 2 * k }, (_, j) => sums[3 * (j >> 1) + (j & 1)]! / sums[3 * (j >> 1) + 2]!);
}
const found = Array.from({ length: k }, (_, c) => `(${Math.round(centroids[2 * c]!)}, ${Math.round(centroids[2 * c + 1]!)})`);
console.log(found.sort().join(' '));

/* Output:
(0, 0) (10, 0) (5, 8)
*/
