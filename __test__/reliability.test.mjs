// Regressions of issue 20: what a value that cannot be cloned reports, and an aborted
// kernel map that allocates nothing.
import test from 'ava';
import { Pool, AbortError, kernels } from '../dist/index.mjs';

const pool = new Pool(2);
test.after.always(() => pool.terminate());

/** The error is structured clone's own: a DOMException named DataCloneError. */
function assertDataClone(t, err, what) {
  t.true(err instanceof TypeError, what);
  t.true(err.cause instanceof DOMException, `${what}: cause is a ${err.cause?.constructor?.name}`);
  t.is(err.cause.name, 'DataCloneError', what);
  t.is(err.cause.code, DOMException.DATA_CLONE_ERR, what);
  t.regex(err.cause.message, /could not be cloned/, what);
}

test('a value that cannot be cloned: cause is the DataCloneError, for arguments and results', async (t) => {
  const fn = () => 42;
  const calls = {
    'map input': () => pool.map((x) => x, [1, fn]),
    'starmap input': () => pool.starmap((a) => a, [[1], [Symbol('s')]]),
    'apply argument': () => pool.apply((x) => x, [fn]),
    'apply result': () => pool.apply(() => () => 42),
    'map result': () => pool.map((x) => (x === 2 ? () => x : x), [1, 2, 3], { chunksize: 3 }),
    'map result, one chunk an item': () => pool.map((x) => (x === 2 ? () => x : x), [1, 2, 3], { chunksize: 1 }),
    'small numeric map result (the express lane)': () => pool.map((x) => (x === 2 ? () => x : x), new Float64Array([1, 2, 3])),
  };
  for (const [what, call] of Object.entries(calls)) assertDataClone(t, await t.throwsAsync(call()), what);
  t.deepEqual(await pool.map((x) => x * 2, [1, 2, 3]), [2, 4, 6]);
});

test('a kernel map whose signal has aborted allocates no output', async (t) => {
  const own = new Pool(2);
  t.teardown(() => own.terminate());
  const input = new Float64Array(4_000_000).fill(2); // 32 MB: an output the size is visible
  const ac = new AbortController();
  ac.abort('stop');
  const before = process.memoryUsage().arrayBuffers;
  await t.throwsAsync(own.map(kernels.sqrt, input, { signal: ac.signal }), { instanceOf: AbortError });
  const grew = process.memoryUsage().arrayBuffers - before;
  t.true(grew < input.byteLength / 2, `ArrayBuffers grew by ${grew} bytes`);
  t.is((await own.map(kernels.sqrt, input))[7], Math.SQRT2);
});
