// The work the peer pools run, written the way their users would write it (the peers'
// best case: per-item, or hand-chunked; typed data through a SharedArrayBuffer).
function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

const { rangeSums, blurRows } = require('./loops.cjs');

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
  // K1 and K2, as piscina's users pass typed data (SharedArrayBuffers in an object): the same
  // loops as the serial and ferropool contenders (below), so the rows compare pools, not
  // two ways of writing a loop.
  kmeansRanges: ({ points, centroids, start, end }) => rangeSums(start, end, new Float64Array(points), centroids),
  blurRows: ({ src, dst, w, h, r0, r1 }) => blurRows(r0, r1, new Float32Array(src), new Float32Array(dst), w, h),
  noop: () => undefined,
};
