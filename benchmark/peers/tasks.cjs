// The work the peer pools run, written the way their users would write it (the peers'
// best case: per-item, or hand-chunked; typed data through a SharedArrayBuffer).
function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

module.exports = {
  square: (x) => x * x,
  squareChunk: (xs) => xs.map((x) => x * x),
  fib,
  fibChunk: (ns) => ns.map(fib),
  // W3: square in[start, end) into out, both Float64Arrays over SharedArrayBuffers.
  squareSlice: ({ input, output, start, end }) => {
    const a = new Float64Array(input);
    const o = new Float64Array(output);
    for (let i = start; i < end; i++) o[i] = a[i] * a[i];
    return end - start;
  },
  // W4: the sum of Math.sqrt over in[start, end).
  sqrtSumSlice: ({ input, start, end }) => {
    const a = new Float64Array(input);
    let s = 0;
    for (let i = start; i < end; i++) s += Math.sqrt(a[i]);
    return s;
  },
  // W4m: Math.sqrt of in[start, end) into out, both Float64Arrays over SharedArrayBuffers.
  sqrtSlice: ({ input, output, start, end }) => {
    const a = new Float64Array(input);
    const o = new Float64Array(output);
    for (let i = start; i < end; i++) o[i] = Math.sqrt(a[i]);
    return end - start;
  },
  // A1: a typed array argument, copied (structured clone).
  length: (a) => a.length,
  // K1: the k-means assignment step over points [start, end) (x/y interleaved in a
  // SharedArrayBuffer): each point's nearest centroid into `labels`, and per centroid the
  // sums of its points' x and y and their count (k × 3, returned).
  kmeansSlice: ({ points, labels, centroids, start, end }) => {
    const p = new Float64Array(points);
    const lab = new Int32Array(labels);
    const k = centroids.length / 2;
    const acc = new Float64Array(k * 3);
    for (let i = start; i < end; i++) {
      const x = p[2 * i];
      const y = p[2 * i + 1];
      let best = 0;
      let bestD = Infinity;
      for (let c = 0; c < k; c++) {
        const dx = x - centroids[2 * c];
        const dy = y - centroids[2 * c + 1];
        const d = dx * dx + dy * dy;
        if (d < bestD) {
          bestD = d;
          best = c;
        }
      }
      lab[i] = best;
      acc[3 * best] += x;
      acc[3 * best + 1] += y;
      acc[3 * best + 2] += 1;
    }
    return acc;
  },
  // K2: one 5×5 box-blur pass over rows [r0, r1) of a w×h Float32Array image (src → dst,
  // both SharedArrayBuffers; edges clamped).
  blurRows: ({ src, dst, w, h, r0, r1 }) => {
    const a = new Float32Array(src);
    const o = new Float32Array(dst);
    for (let y = r0; y < r1; y++) {
      for (let x = 0; x < w; x++) {
        let s = 0;
        for (let dy = -2; dy <= 2; dy++) {
          const yy = y + dy < 0 ? 0 : y + dy >= h ? h - 1 : y + dy;
          const row = yy * w;
          for (let dx = -2; dx <= 2; dx++) {
            const xx = x + dx < 0 ? 0 : x + dx >= w ? w - 1 : x + dx;
            s += a[row + xx];
          }
        }
        o[y * w + x] = s / 25;
      }
    }
    return r1 - r0;
  },
  noop: () => undefined,
};
