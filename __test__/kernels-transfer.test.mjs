// The arrays a map returns are ordinary ArrayBuffer-backed arrays: users post them to other
// threads in a transfer list. Large outputs (>= 1 MiB) once came from addon-owned external
// memory, which Node marks untransferable: Node 20 silently copied them, Node 22+ throws
// DataCloneError. Here a transfer must move the memory (the sender's view is detached) and
// the numbers must arrive, on every Node version (npm run test:node-matrix runs 22 and 24).
import test from 'ava';
import { once } from 'node:events';
import { MessageChannel, Worker } from 'node:worker_threads';
import { Pool, kernels } from '../dist/index.mjs';

const pool = new Pool(2);
test.after.always(() => pool.terminate());

const N = 1 << 18; // 2 MiB of doubles, 1 MiB of floats: both large outputs
const ramp = (Type, n) => Type.from({ length: n }, (_, i) => (i % 4096) - 2048);

/** Posts `array` through a MessageChannel with its buffer in the transfer list. */
async function throughChannel(array) {
  const { port1, port2 } = new MessageChannel();
  try {
    const received = once(port2, 'message');
    port1.postMessage(array, [array.buffer]);
    return (await received)[0];
  } finally {
    port1.close();
    port2.close();
  }
}

function checkSquares(t, got, Type, n) {
  t.true(got instanceof Type, `a ${Type.name} arrives`);
  t.is(got.length, n);
  let bad = -1;
  for (let i = 0; i < n && bad < 0; i++) if (got[i] !== Math.fround(((i % 4096) - 2048) ** 2)) bad = i;
  t.is(bad, -1, bad < 0 ? '' : `element ${bad}: ${got[bad]}`);
}

for (const Type of [Float64Array, Float32Array]) {
  test(`a large ${Type.name} kernel output moves through a MessageChannel transfer list`, async (t) => {
    for (let round = 0; round < 3; round++) {
      const out = await pool.map(kernels.square, ramp(Type, N));
      t.true(out.byteLength >= 1 << 20);
      const got = await throughChannel(out);
      t.is(out.buffer.byteLength, 0, 'moved, not copied: the sender\'s buffer is detached');
      checkSquares(t, got, Type, N);
    }
  });
}

test('a large kernel output transferred to a worker thread arrives whole', async (t) => {
  const out = await pool.map(kernels.square, ramp(Float64Array, N));
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     parentPort.once('message', (a) => {
       let sum = 0;
       for (let i = 0; i < a.length; i++) sum += a[i];
       parentPort.postMessage({ length: a.length, sum, type: a.constructor.name });
     });`,
    { eval: true },
  );
  t.teardown(() => worker.terminate());
  const reply = once(worker, 'message');
  worker.postMessage(out, [out.buffer]);
  t.is(out.buffer.byteLength, 0, 'moved, not copied');
  const [{ length, sum, type }] = await reply;
  let want = 0;
  for (let i = 0; i < N; i++) want += ((i % 4096) - 2048) ** 2;
  t.deepEqual({ length, sum, type }, { length: N, sum: want, type: 'Float64Array' });
});

test('structuredClone with a transfer list moves a large kernel output', async (t) => {
  const out = await pool.map(kernels.square, ramp(Float64Array, N));
  const moved = structuredClone(out, { transfer: [out.buffer] });
  t.is(out.buffer.byteLength, 0);
  checkSquares(t, moved, Float64Array, N);
});

test('a large typed-array output of a JS-function map is transferable too', async (t) => {
  const out = await pool.map((x) => x * x, ramp(Float64Array, N));
  t.true(out instanceof Float64Array);
  checkSquares(t, await throughChannel(out), Float64Array, N);
  t.is(out.buffer.byteLength, 0);
});
