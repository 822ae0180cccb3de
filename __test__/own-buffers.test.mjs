// Typed arrays, Buffers and DataViews that cross threads arrive as structured clone gives
// them: each in an ArrayBuffer of its own, holding only its elements. (Decoded as views of
// the message they came in, a task's `new Uint8Array(x.buffer)` read the message's header,
// the other arguments, and stale bytes of Node's Buffer pool.)
import test from 'ava';
import { Pool, Queue } from '../dist/index.mjs';

const pool = new Pool(2);
test.after.always(() => pool.terminate());

/** What a typed array or DataView looks like from the inside: offset, buffer size, and the
 * whole buffer read as bytes. */
function shape(x) {
  return { type: x.constructor.name, byteOffset: x.byteOffset, bufferBytes: x.buffer.byteLength, byteLength: x.byteLength, whole: Array.from(new Uint8Array(x.buffer)) };
}
const own = (x) => ({ type: x.constructor.name, byteOffset: 0, bufferBytes: x.byteLength, byteLength: x.byteLength, whole: Array.from(new Uint8Array(x.buffer, x.byteOffset, x.byteLength)) });

const f64 = new Float64Array([1.5, -2, 3]);
const i32 = new Int32Array([7, 8, 9, 10, 11]);
const f32 = new Float32Array([0.25]);

test('arguments: apply (express lane and batched), map items, starmap, nested in objects', async (t) => {
  // A task-side shape() (functions are shipped by source).
  const probe = (x) => ({ type: x.constructor.name, byteOffset: x.byteOffset, bufferBytes: x.buffer.byteLength, byteLength: x.byteLength, whole: Array.from(new Uint8Array(x.buffer)) });
  for (let i = 0; i < 5; i++) t.deepEqual(await pool.apply(probe, [f64]), own(f64), 'apply, one at a time');
  const batch = await Promise.all([pool.apply(probe, [f64]), pool.apply(probe, [i32]), pool.apply(probe, [f32])]);
  t.deepEqual(batch, [own(f64), own(i32), own(f32)], 'applies of one turn');
  t.deepEqual(await pool.map(probe, [f64, i32, f32]), [own(f64), own(i32), own(f32)], 'map items');
  t.deepEqual(await pool.starmap((a, b) => [a.buffer.byteLength, a.byteOffset, b.buffer.byteLength, b.byteOffset], [[f64, i32]]), [[24, 0, 20, 0]]);
  t.deepEqual(await pool.map((o) => [o.v.byteOffset, o.v.buffer.byteLength, o.b.byteOffset, o.b.buffer.byteLength, o.b.toString()], [{ v: i32, b: Buffer.from('xyz') }]), [[0, 20, 0, 3, 'xyz']]);
  const out = [];
  for await (const r of pool.imap(probe, [f64, f32])) out.push(r);
  t.deepEqual(out, [own(f64), own(f32)], 'imap');
});

test('results: typed arrays, Buffers and DataViews a task returns', async (t) => {
  const [a, b] = await pool.map((n) => new Float64Array(n).fill(n), [2, 3]);
  t.deepEqual(shape(a), own(new Float64Array([2, 2])));
  t.deepEqual(shape(b), own(new Float64Array([3, 3, 3])));
  const buf = await pool.apply(() => Buffer.from('hello'));
  t.true(Buffer.isBuffer(buf));
  t.deepEqual([buf.byteOffset, buf.buffer.byteLength, buf.toString()], [0, 5, 'hello']);
  const dv = await pool.apply(() => {
    const v = new DataView(new ArrayBuffer(4));
    v.setInt32(0, 42);
    return v;
  });
  t.deepEqual([dv.constructor.name, dv.byteOffset, dv.buffer.byteLength, dv.getInt32(0)], ['DataView', 0, 4, 42]);
  const big = await pool.apply(() => ({ rows: [new Int32Array([1, 2]), new Int32Array([3])] }));
  t.deepEqual(big.rows.map(shape), [own(new Int32Array([1, 2])), own(new Int32Array([3]))]);
});

test('Queue items', async (t) => {
  const q = new Queue();
  q.put(i32);
  q.put({ v: f64 });
  const a = await q.getAsync();
  t.deepEqual(shape(a), own(i32));
  const b = await q.getAsync();
  t.deepEqual(shape(b.v), own(f64));
});
