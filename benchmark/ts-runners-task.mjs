// The task of benchmark/ts-runners.mjs: a typed-array loop that times itself (ms), so the
// figure is the loop's speed inside the worker, not the pool's overhead.
function dot(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export default function typedLoop(n) {
  const t0 = performance.now();
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = i * 0.5;
  let s = 0;
  for (let r = 0; r < 20; r++) s += dot(a, a);
  if (s < 0) throw new Error('unreachable');
  return performance.now() - t0;
}
