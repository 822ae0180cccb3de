// k-means with the points in shared memory and the centroids passed once per call.
// Python:
//   def nearest(i, points, centroids): ...               # index of the closest centroid
//   with Pool() as pool:
//       for _ in range(iterations):
//           labels = pool.map(partial(nearest, points=points, centroids=centroids), range(n))
//           centroids = recompute(points, labels)
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

function nearest(i: number, pts: Float64Array, cen: Float64Array): number {
  const x = pts[2 * i]!;
  const y = pts[2 * i + 1]!;
  let best = 0;
  let bestD = Infinity;
  for (let c = 0; c < cen.length; c += 2) {
    const d = (x - cen[c]!) ** 2 + (y - cen[c + 1]!) ** 2;
    if (d < bestD) [best, bestD] = [c / 2, d];
  }
  return best;
}

await using pool = new Pool();
const indices = Float64Array.from({ length: n }, (_, i) => i);
let centroids = Float64Array.of(points[0]!, points[1]!, points[2]!, points[3]!, points[4]!, points[5]!);
for (let iteration = 0; iteration < 10; iteration++) {
  // `args` go to each worker once per call (functools.partial), not once per point.
  const labels = await pool.map(nearest, indices, { args: [points, centroids] });
  const sums = new Float64Array(3 * k);
  for (let i = 0; i < n; i++) {
    const c = labels[i]!;
    sums[3 * c] += points[2 * i]!;
    sums[3 * c + 1] += points[2 * i + 1]!;
    sums[3 * c + 2] += 1;
  }
  centroids = Float64Array.from({ length: 2 * k }, (_, j) => sums[3 * (j >> 1) + (j & 1)]! / sums[3 * (j >> 1) + 2]!);
}
const found = Array.from({ length: k }, (_, c) => `(${Math.round(centroids[2 * c]!)}, ${Math.round(centroids[2 * c + 1]!)})`);
console.log(found.sort().join(' '));

/* Output:
(0, 0) (10, 0) (5, 8)
*/
