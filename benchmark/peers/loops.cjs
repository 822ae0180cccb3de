// The loops of rows K1 and K2, one definition each, run by every contender: the serial loop,
// ferropool (bench.mjs ships them by source: they are self-contained) and piscina (through
// tasks.cjs). A row then compares pools, not two ways of writing the same loop: the k-means
// loop written as a piscina task that also stored labels ran 2-5% faster than this one in a
// worker of either pool.

/**
 * K1's task: the k-means assignment step over points [start, end) of `pts` (x/y
 * interleaved): for each centroid of `cen` (x/y interleaved), the sums of its points' x and y
 * and their count (k × 3). Self-contained: bench.mjs runs it as the serial loop, ships it to
 * ferropool by source, and piscina's task (tasks.cjs) calls it.
 */
function rangeSums(start, end, pts, cen) {
  const kk = cen.length / 2;
  const acc = new Float64Array(kk * 3);
  for (let i = start; i < end; i++) {
    const x = pts[2 * i];
    const y = pts[2 * i + 1];
    let best = 0;
    let bestD = Infinity;
    for (let c = 0; c < kk; c++) {
      const dx = x - cen[2 * c];
      const dy = y - cen[2 * c + 1];
      const d = dx * dx + dy * dy;
      if (d < bestD) {
        bestD = d;
        best = c;
      }
    }
    acc[3 * best] += x;
    acc[3 * best + 1] += y;
    acc[3 * best + 2] += 1;
  }
  return acc;
}

/** K2's task: one 5×5 box-blur pass over rows [r0, r1) of a w×h image (src → dst; edges
 * clamped). Self-contained, like {@link rangeSums}. */
function blurRows(r0, r1, src, dst, w, h) {
  for (let y = r0; y < r1; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let dy = -2; dy <= 2; dy++) {
        const yy = y + dy < 0 ? 0 : y + dy >= h ? h - 1 : y + dy;
        const row = yy * w;
        for (let dx = -2; dx <= 2; dx++) {
          const xx = x + dx < 0 ? 0 : x + dx >= w ? w - 1 : x + dx;
          s += src[row + xx];
        }
      }
      dst[y * w + x] = s / 25;
    }
  }
  return r1 - r0;
}

/** {@link rangeSums} with its start and end on the worker's clock after the k × 3 sums, for
 * benchmark/k1-step.mjs (run as a module task: it calls rangeSums). */
function rangeSumsTimed(start, end, pts, cen) {
  const began = performance.timeOrigin + performance.now();
  const sums = rangeSums(start, end, pts, cen);
  const out = new Float64Array(sums.length + 2);
  out.set(sums);
  out[sums.length] = began;
  out[sums.length + 1] = performance.timeOrigin + performance.now();
  return out;
}

module.exports = { rangeSums, blurRows, rangeSumsTimed };
