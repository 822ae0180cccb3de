// Lock, Value and Queue: shared memory that tasks receive as arguments and use live.
import test from 'ava';
import fc from 'fast-check';
import { Executor, Lock, Pool, Queue, QueueEmptyError, QueueFullError, Value, currentProcess, task } from '../dist/index.mjs';

const pool = new Pool(2);
test.after.always(() => pool.terminate());

test('N tasks x M read-modify-write updates under a Lock give exactly N x M', async (t) => {
  const lock = new Lock();
  const cell = new Value('i32', 0);
  const N = 8;
  const M = 50_000; // without the lock, about half the updates are lost (measured: 0.77 M of 1.6 M)
  const results = await pool.starmap(
    function run(lock, cell, m) {
      for (let i = 0; i < m; i++) {
        lock.acquire();
        const v = cell.value;
        for (let k = 0; k < 20; k++) cell.buffer.byteLength; // widen the race window
        cell.value = v + 1;
        lock.release();
      }
      return currentProcess().workerId;
    },
    Array.from({ length: N }, () => [lock, cell, M]),
    { chunksize: 1 },
  );
  t.is(cell.value, N * M);
  t.false(lock.locked());
  t.true(results.every((w) => w >= 1 && w <= 2));
});

test('withLock releases on return, on throw and when a returned promise settles', async (t) => {
  const lock = new Lock();
  t.is(lock.withLock(() => 5), 5);
  t.false(lock.locked());
  t.throws(() => lock.withLock(() => { throw new RangeError('x'); }), { instanceOf: RangeError });
  t.false(lock.locked());
  const p = lock.withLock(() => new Promise((r) => setTimeout(() => r(7), 5)));
  t.true(lock.locked());
  t.is(await p, 7);
  t.false(lock.locked());
  t.is(await lock.withLockAsync(async () => 9), 9);
  t.false(lock.locked());
  t.throws(() => lock.release(), { message: /not held/ });
  t.throws(() => lock.withLock(5), { instanceOf: TypeError, message: /fn must be a function/ });
});

test('acquireAsync waits for a worker to release without blocking the event loop', async (t) => {
  const lock = new Lock();
  const gate = new Int32Array(new SharedArrayBuffer(4));
  // The worker takes the lock, says so, and holds it until the main thread opens the gate.
  const held = pool.apply(
    (lock, gate) => {
      lock.acquire();
      Atomics.store(gate, 0, 1);
      Atomics.notify(gate, 0);
      Atomics.wait(gate, 0, 1);
      lock.release();
      return 'released';
    },
    [lock, gate],
  );
  while (Atomics.load(gate, 0) !== 1) await new Promise((r) => setTimeout(r, 1));
  t.false(lock.tryAcquire());
  t.false(await lock.acquireAsync({ timeout: 20 }));
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const acquired = lock.acquireAsync();
  await new Promise((r) => setTimeout(r, 30));
  t.true(ticks > 0, 'the event loop kept running while acquireAsync waited');
  Atomics.store(gate, 0, 2);
  Atomics.notify(gate, 0);
  t.true(await acquired);
  clearInterval(timer);
  t.is(await held, 'released');
  lock.release();
  await t.throwsAsync(lock.acquireAsync({ timeout: -1 }), { instanceOf: RangeError, message: /timeout/ });
});

test('Value: every type stores, reads and adds; integers wrap like C; 64-bit types use bigint', (t) => {
  const cases = [
    ['i8', 127, 1, -128],
    ['u8', 255, 1, 0],
    ['i16', 32767, 1, -32768],
    ['u16', 0, -1, 65535],
    ['i32', 2147483647, 1, -2147483648],
    ['u32', 4294967295, 2, 1],
    ['f32', 1, 0.1, Math.fround(1 + Math.fround(0.1))],
    ['f64', 0.1, 0.2, 0.1 + 0.2],
  ];
  for (const [type, initial, delta, after] of cases) {
    const v = new Value(type, initial);
    t.is(v.value, type === 'f32' ? Math.fround(initial) : initial, type);
    t.is(v.add(delta), after, `${type} add`);
    t.is(v.value, after, type);
  }
  const big = new Value('i64', 2n ** 62n);
  t.is(big.add(2n ** 62n), -(2n ** 63n));
  t.is(new Value('u64', 5).value, 5n);
  t.is(new Value('q').value, 0n);
  t.is(new Value('i', 3).type, 'i32');
  t.is(new Value('d', 2.5).type, 'f64');
  t.is(new Value().type, 'f64');
  const s = new Value('i32', 10);
  t.is(s.sub(3), 7);
  s.value = -4;
  t.is(s.value, -4);
});

test('Value: bad types and numbers are refused, naming the argument', (t) => {
  t.throws(() => new Value('int'), { instanceOf: TypeError, message: /type must be one of/ });
  t.throws(() => new Value(Symbol('x')), { instanceOf: TypeError, message: /type must be one of/ });
  t.throws(() => new Value('i32', 1.5), { instanceOf: RangeError, message: /initial must be an integer/ });
  t.throws(() => new Value('u8', 256), { instanceOf: RangeError, message: /out of range/ });
  t.throws(() => new Value('i32', '3'), { instanceOf: TypeError, message: /initial must be a number/ });
  t.throws(() => new Value('i64', 1.5), { instanceOf: TypeError, message: /bigint/ });
  t.throws(() => new Value('u64', -1n), { instanceOf: RangeError, message: /out of range/ });
  const v = new Value('i32', 0);
  t.throws(() => v.add(0.5), { instanceOf: RangeError, message: /delta must be an integer/ });
  t.throws(() => (v.value = NaN), { instanceOf: RangeError });
  t.is(v.value, 0);
});

test('Value.add is atomic across workers, for integers and floats; getLock guards compound updates', async (t) => {
  const n = new Value('i32', 0);
  const f = new Value('f64', 0);
  const pair = new Value('i32', 0);
  const other = new Value('i32', 0);
  await pool.starmap(
    (n, f, pair, other, m) => {
      for (let i = 0; i < m; i++) {
        n.add(1);
        f.add(0.5);
        pair.getLock().withLock(() => {
          pair.value = pair.value + 1;
          other.value = pair.value;
        });
      }
    },
    Array.from({ length: 6 }, () => [n, f, pair, other, 4000]),
    { chunksize: 1 },
  );
  t.is(n.value, 24000);
  t.is(f.value, 12000);
  t.is(pair.value, 24000);
  t.is(other.value, 24000);
});

test('Queue: items put by workers arrive on the main thread in FIFO order per producer', async (t) => {
  const q = new Queue();
  const done = pool.starmap(
    (q, who) => {
      for (let i = 0; i < 50; i++) q.put({ who, i, payload: 'x'.repeat(i) });
      return who;
    },
    [[q, 'a'], [q, 'b'], [q, 'c']],
    { chunksize: 1 },
  );
  const seen = { a: [], b: [], c: [] };
  for (let k = 0; k < 150; k++) {
    const item = await q.getAsync({ timeout: 10_000 });
    seen[item.who].push(item.i);
    t.is(item.payload.length, item.i);
  }
  t.deepEqual(await done, ['a', 'b', 'c']);
  for (const who of ['a', 'b', 'c']) t.deepEqual(seen[who], Array.from({ length: 50 }, (_, i) => i));
  t.true(q.empty());
});

test('Queue: a bounded queue applies backpressure; workers block in get until the main thread puts', async (t) => {
  const q = new Queue({ maxsize: 2 });
  t.is(q.maxsize, 2);
  const out = new Queue();
  // Consumers in the workers: each takes items until it gets null.
  const consumers = pool.starmap(
    (q, out) => {
      let n = 0;
      for (let item = q.get(); item !== null; item = q.get()) {
        out.put(item * 2);
        n++;
      }
      return n;
    },
    [[q, out], [q, out]],
    { chunksize: 1 },
  );
  for (let i = 0; i < 100; i++) {
    await q.putAsync(i, { timeout: 10_000 });
    t.true(q.size() <= 2);
  }
  await q.putAsync(null);
  await q.putAsync(null);
  const counts = await consumers;
  t.is(counts[0] + counts[1], 100);
  const results = [];
  while (!out.empty()) results.push(out.getNowait());
  t.deepEqual(results.sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i * 2));
});

test('Queue: timeouts, full and empty errors, sizes and unclonable items', async (t) => {
  const q = new Queue(1);
  t.throws(() => q.getNowait(), { instanceOf: QueueEmptyError });
  await t.throwsAsync(q.getAsync({ timeout: 5 }), { instanceOf: QueueEmptyError, message: /timeout/ });
  t.throws(() => q.get({ timeout: 5 }), { instanceOf: QueueEmptyError });
  q.put('one');
  t.true(q.full());
  t.throws(() => q.putNowait('two'), { instanceOf: QueueFullError });
  await t.throwsAsync(q.putAsync('two', { timeout: 5 }), { instanceOf: QueueFullError });
  t.is(q.get(), 'one');
  t.throws(() => q.put(() => 1), { instanceOf: TypeError, message: /cannot be put in a queue/ });
  t.throws(() => q.put(Symbol('s')), { instanceOf: TypeError });
  const small = new Queue({ bytes: 64 });
  t.throws(() => small.put('x'.repeat(100)), { instanceOf: RangeError, message: /more than the queue's 64/ });
  t.throws(() => new Queue(-1), { instanceOf: RangeError, message: /maxsize/ });
  t.throws(() => new Queue({ bytes: 1.5 }), { instanceOf: RangeError, message: /bytes/ });
  t.throws(() => new Queue('3'), { instanceOf: TypeError });
  t.throws(() => q.get({ timeout: NaN }), { instanceOf: RangeError });
  t.is(q.size(), 0);
});

test('Queue: random puts and gets of random sizes through a small ring match a FIFO model', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.string({ maxLength: 40 }), fc.constant(null), fc.array(fc.integer(), { maxLength: 8 })), { maxLength: 60 }),
      fc.array(fc.boolean(), { maxLength: 120 }),
      (items, ops) => {
        const q = new Queue({ bytes: 256 });
        const model = [];
        let next = 0;
        for (const put of ops) {
          if (put && next < items.length) {
            try {
              q.putNowait(items[next]);
              model.push(items[next]);
            } catch (err) {
              if (!(err instanceof QueueFullError)) throw err;
            }
            next++;
          } else if (model.length > 0) {
            t.deepEqual(q.getNowait(), model.shift());
          } else {
            t.throws(() => q.getNowait(), { instanceOf: QueueEmptyError });
          }
          if (q.size() !== model.length) return false;
        }
        while (model.length) t.deepEqual(q.getNowait(), model.shift());
        return q.empty();
      },
    ),
    { seed: 4242, numRuns: 200 },
  );
});

test('SharedArrayBuffers and typed arrays over them are shared with tasks, not copied', async (t) => {
  const sab = new SharedArrayBuffer(16);
  const ints = new Int32Array(sab);
  const floats = new Float64Array(new SharedArrayBuffer(16), 8, 1);
  const r = await pool.apply(
    (raw, ints, floats, nested) => {
      new Int32Array(raw)[1] = 11;
      ints[2] = 22;
      floats[0] = 0.5;
      nested.deep[0].cell.add(5);
      return [raw instanceof SharedArrayBuffer, ints.length, floats.byteOffset, nested.deep[0].cell.type];
    },
    [sab, ints, floats, { deep: [{ cell: new Value('u16', 1) }] }],
  );
  t.deepEqual(r, [true, 4, 8, 'u16']);
  t.is(ints[1], 11);
  t.is(ints[2], 22);
  t.is(floats[0], 0.5);
});

test('shared memory inside objects structured clone cannot rebuild is refused, naming the input', async (t) => {
  await t.throwsAsync(pool.map((m) => m.size, [new Map([[1, new SharedArrayBuffer(4)]])]), {
    instanceOf: TypeError,
    message: /input\[0\] cannot be sent/,
  });
  t.deepEqual(await pool.map((x) => x + 1, [1, 2]), [2, 3]);
});

test('initargs may hold shared objects: the initializer puts them on globalThis for every task', async (t) => {
  const total = new Value('i32', 0);
  const p = new Pool({
    processes: 2,
    initializer: (v) => {
      globalThis.total = v;
    },
    initargs: [total],
  });
  try {
    await p.map((x) => globalThis.total.add(x), Array.from({ length: 100 }, (_, i) => i + 1), { chunksize: 7 });
    t.is(total.value, 5050);
  } finally {
    await p.terminate();
  }
  t.throws(() => new Pool({ processes: 1, initializer: () => {}, initargs: [() => 1] }), { instanceOf: TypeError, message: /initargs cannot be sent/ });
});

test('Executor futures, imap and module tasks receive shared objects too', async (t) => {
  const ex = new Executor({ maxWorkers: 2 });
  const v = new Value('i32', 0);
  try {
    await Promise.all(Array.from({ length: 10 }, () => ex.submit((v) => v.add(1), v)));
    t.is(v.value, 10);
  } finally {
    await ex.shutdown();
  }
  const q = new Queue();
  const seen = [];
  for await (const r of pool.imap((pair) => { pair[0].put(pair[1]); return pair[1]; }, [[q, 1], [q, 2], [q, 3]])) seen.push(r);
  t.deepEqual(seen, [1, 2, 3]);
  t.is(q.size(), 3);
  const who = await pool.map(task(new URL('./fixtures/tasks/esm.mjs', import.meta.url), 'whoAmI'), [0, 1]);
  t.true(who.every((name) => /^PoolWorker-\d+$/.test(name)));
});

test('currentProcess names the thread: MainProcess here, PoolWorker-<n> in a task', async (t) => {
  t.is(currentProcess().name, 'MainProcess');
  t.is(currentProcess().workerId, 0);
  t.is(currentProcess().pid, process.pid);
  const p = new Pool(2);
  try {
    const infos = await p.map(() => currentProcess(), Array.from({ length: 16 }, (_, i) => i), { chunksize: 1 });
    for (const info of infos) {
      t.regex(info.name, /^PoolWorker-[12]$/);
      t.is(info.name, `PoolWorker-${info.workerId}`);
      t.is(info.pid, process.pid);
      t.true(info.threadId > 0);
    }
  } finally {
    await p.terminate();
  }
});
