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
  noop: () => undefined,
};
