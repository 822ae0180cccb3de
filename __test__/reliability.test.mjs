// Regressions of issue 20: what a value that cannot be cloned reports, an aborted kernel map
// that allocates nothing, and caches with bounds.
import test from 'ava';
import { Pool, AbortError, kernels } from '../dist/index.mjs';
import { ExpressLane, LANE_FNS } from '../dist/engine/lane.js';
import { Lru } from '../dist/util/lru.js';
import { MemoryWatchdog } from '../dist/engine/heap-watchdog.js';

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

test('Lru keeps the most recently used entries and reports what its bound drops', (t) => {
  const dropped = [];
  const lru = new Lru(3, (key, value) => dropped.push([key, value]));
  for (const k of ['a', 'b', 'c']) lru.set(k, k.toUpperCase());
  t.is(lru.get('a'), 'A'); // a is now the most recent: b goes first
  lru.set('d', 'D');
  t.deepEqual(dropped, [['b', 'B']]);
  t.is(lru.get('b'), undefined);
  lru.set('c', 'C2'); // an update refreshes too
  lru.set('e', 'E');
  t.deepEqual(dropped, [['b', 'B'], ['a', 'A']]);
  t.deepEqual([...lru.values()], ['D', 'C2', 'E']);
  lru.delete('E'); // not a key: nothing happens
  lru.delete('e');
  t.is(lru.size, 2);
  t.deepEqual(dropped.length, 2, 'a delete is not an eviction');
});

test("the express lane's function table is bounded, and workers are told what it forgets", (t) => {
  const posted = [];
  const lane = new ExpressLane({ doorbell: new Int32Array(new SharedArrayBuffer(4 * 48)) /* Bell.Words */, broadcast: (m) => posted.push(m), hold() {}, release() {} });
  const n = LANE_FNS + 100;
  for (let i = 0; i < n; i++) {
    // No worker polls: the call is withdrawn after its (zero) budget, as the pool's would be.
    t.is(lane.call({ k: 'fn', src: `(x) => x + ${i}`, name: '' }, [1], 0, 0), undefined);
  }
  const named = posted.filter((m) => m[2] !== null).map((m) => m[1]);
  const forgotten = posted.filter((m) => m[2] === null).map((m) => m[1]);
  t.is(named.length, n);
  t.deepEqual(forgotten, named.slice(0, 100), 'the least recently used are forgotten, oldest first');
  t.is(lane.fns.length, LANE_FNS, 'a new worker is sent the bounded table');
  t.deepEqual(lane.fns.map(([id]) => id), named.slice(100));
  t.is(new Set(named).size, n, 'ids are never reused');
  lane.release();
});

test('a pool keeps working through thousands of distinct functions, old ones included', async (t) => {
  const own = new Pool(2);
  t.teardown(() => own.terminate());
  const make = (i) => new Function('x', `return x + ${i};`);
  const first = make(0);
  for (let i = 0; i < 1500; i++) {
    const f = make(i);
    t.is(await own.apply(f, [1]), 1 + i);
    if (i % 100 === 0) t.deepEqual(await own.map(f, new Float64Array([1, 2])), new Float64Array([1 + i, 2 + i]));
  }
  // Evicted long ago from every table: named, shipped and compiled again.
  t.is(await own.apply(first, [1]), 1);
  t.deepEqual(await own.map(first, [5, 6, 7], { chunksize: 1 }), [5, 6, 7]);
});

test('the heap watchdog gives up a busy worker that does not answer once RSS is far past the limits', async (t) => {
  let asked = 0;
  const stuck = {
    worker: {
      getHeapStatistics: () => {
        asked++;
        return new Promise(() => {});
      },
    },
  };
  const live = { worker: { getHeapStatistics: () => Promise.resolve({ used_heap_size: 1 }) } };
  const run = (marginBytes, pending = () => true) =>
    new Promise((resolve) => {
      const givenUp = [];
      const dog = new MemoryWatchdog({ busy: () => [stuck, live], pending, stuck: (w) => givenUp.push(w) }, { maxOldGenerationSizeMb: 16 }, 2, { tickMs: 10, probeMs: 50, marginBytes });
      dog.arm();
      setTimeout(() => {
        dog.stop();
        resolve(givenUp);
      }, 300);
    });
  const farPast = await run(-(2 ** 40)); // any RSS is far past
  t.true(farPast.length >= 1);
  t.true(farPast.every((w) => w === stuck), 'only the worker that does not answer');
  t.deepEqual(await run(2 ** 40), [], 'RSS within the limits: a silent worker is not given up (it may be waiting on a Lock)');
  t.deepEqual(await run(-(2 ** 40), () => false), [], 'no work pending: the watchdog sleeps');
  t.is(asked, 1, 'a worker that has not answered is not asked again: requests do not pile up');
});

test('the heap watchdog gives up a worker that answers while its heap stays past its limits, at the third probe in a row', async (t) => {
  const MiB = 2 ** 20;
  // maxOldGenerationSizeMb 16, maxYoungGenerationSizeMb 4: past the limits above 28 MiB.
  const answering = (sizes) => {
    let probes = 0;
    return { probes: () => probes, worker: { getHeapStatistics: () => Promise.resolve({ used_heap_size: sizes(probes++) * MiB }) } };
  };
  const past = answering(() => 200);
  const within = answering(() => 20);
  const dipping = answering((n) => (n % 2 ? 10 : 200)); // past, within, past, …: never three in a row
  const givenUp = [];
  const dog = new MemoryWatchdog({ busy: () => [past, within, dipping].filter((w) => !givenUp.includes(w)), pending: () => true, stuck: (w) => givenUp.push(w) }, { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 }, 3, { tickMs: 10, probeMs: 200, marginBytes: -(2 ** 40) });
  dog.arm();
  while (dipping.probes() < 12) await new Promise((r) => setTimeout(r, 10));
  dog.stop();
  t.deepEqual(givenUp, [past], 'only the worker past its limits at every probe');
  t.is(past.probes(), 3, 'given up at its third probe');
});

// Issue 24: a value that cannot be cloned is named as the caller passed it (a Socket, where
// it was), not as the Node-internal function V8 refused inside it.
test('a Socket that cannot be cloned is named, with where it was passed', async (t) => {
  const { Socket } = await import('node:net');
  const { Process } = await import('../dist/index.mjs');
  const socket = new Socket();
  t.teardown(() => socket.destroy());
  const cases = [
    ['apply argument', () => pool.apply((x) => x, [socket]), /^apply: args cannot be sent to a worker: args\[0\] \(a Socket\) could not be cloned: its [\w.[\]]+ is a function \(\w+\)/],
    ['nested argument', () => pool.apply((_x, y) => y, [1, { a: [0, socket] }]), /args\[1\]\.a\[1\] \(a Socket\) could not be cloned/],
    ['map item', () => pool.map((x) => x, [1, 2, socket]), /^input\[2\] cannot be sent to a worker: a Socket could not be cloned: its /],
    ['starmap tuple', () => pool.starmap((a) => a, [[1], [socket]]), /^input\[1\] cannot be sent to a worker: input\[1\]\[0\] \(a Socket\) could not be cloned/],
    ['opts.args', () => pool.map((x) => x, [1], { args: [socket] }), /^map: opts\.args\[0\] cannot be sent to a worker: a Socket could not be cloned/],
    ['initargs', () => new Pool({ processes: 1, initializer: () => {}, initargs: [1, socket] }), /^initargs cannot be sent to the workers: initargs\[1\] \(a Socket\) could not be cloned/],
    ['Process args', () => new Process({ target: () => 1, args: [{ sock: socket }] }), /^Process: args cannot be sent to a thread: args\[0\]\.sock \(a Socket\) could not be cloned/],
  ];
  for (const [what, call, message] of cases) {
    let err;
    try {
      await call();
    } catch (e) {
      err = e;
    }
    assertDataClone(t, err, what);
    t.regex(err.message, message, what);
    t.notRegex(err.message, /onReadableStreamEnd\(\) \{/, `${what}: no function source`);
    t.regex(err.cause.message, /^a Socket (at \S+ )?could not be cloned/, what);
  }
});

test('a result holding a class instance that cannot be cloned names the instance and the part', async (t) => {
  const make = () => {
    class Holder {
      constructor() {
        this.data = { onDone: () => 1 };
      }
    }
    return { ok: 1, holder: new Holder() };
  };
  const err = await t.throwsAsync(pool.apply(make, []));
  assertDataClone(t, err, 'apply result');
  t.regex(err.message, /^the result of the call cannot be sent back from the worker: result\.holder \(a Holder\) could not be cloned: its data\.onDone is a function \(onDone\)/);
  const mapped = await t.throwsAsync(pool.map((x) => (x === 1 ? new WeakMap() : x), [0, 1]));
  t.regex(mapped.message, /^the result for input\[1\] cannot be sent back from the worker: a WeakMap could not be cloned/);
});
