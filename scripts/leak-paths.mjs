// Every call path of ferropool, as one repeatable call each, for the leak soak
// (scripts/leaks.mjs, and its short version in __test__/soak/leaks.test.mjs). A path's `setup`
// makes what its calls need and returns `{ call, teardown }`; `call()` makes one call (or,
// for `batch` paths, `batch` calls at once) and checks its result, so a path that stopped
// doing its work would fail, not pass as flat. Paths with a pool return it too, so the
// soak can fill and collect its workers' heaps before each sample. `heavy` paths start threads on every call
// (Process, worker replacement, pools made and terminated) and run fewer calls.
import { Worker } from 'node:worker_threads';
import { Executor, Lock, Pool, Process, Queue, Value, kernels, task } from '../dist/index.mjs';

const TASKS = new URL('../__test__/fixtures/tasks/esm.mjs', import.meta.url).href;
const f64 = Float64Array.from({ length: 1000 }, (_, i) => i);
const sqrtSum = f64.reduce((s, x) => s + Math.sqrt(x), 0);
const objects = [{ x: 1 }, { x: 2 }, { x: 3 }];
const numbers = Array.from({ length: 64 }, (_, i) => i);

function check(ok, what) {
  if (!ok) throw new Error(`leak soak: wrong result from ${what}`);
}

/** @type {Array<{ name: string, heavy?: boolean, reference?: boolean, batch?: number, setup(): Promise<{ call(): Promise<void>, teardown(): Promise<void>, settled?: () => boolean }> }>} */
export const PATHS = [
  {
    name: 'kernels: map + reduce',
    async setup() {
      const pool = new Pool(2);
      return {
        async call() {
          const out = await pool.map(kernels.sqrt, f64);
          check(Math.abs((await pool.reduce(kernels.sum, out)) - sqrtSum) < 1e-6, 'kernel map + reduce');
        },
        teardown: () => pool.terminate(),
        pool,
      };
    },
  },
  {
    name: 'apply (express lane)',
    async setup() {
      const pool = new Pool(2);
      return {
        async call() {
          check((await pool.apply((a) => a.length, [f64])) === 1000, 'apply');
        },
        teardown: () => pool.terminate(),
        pool,
      };
    },
  },
  {
    name: 'map(jsFn, Float64Array(1000))',
    async setup() {
      const pool = new Pool(2);
      return {
        async call() {
          const r = await pool.map((x) => Math.sqrt(x), f64);
          check(r.length === 1000 && r[999] === Math.sqrt(999), 'map over a Float64Array');
        },
        teardown: () => pool.terminate(),
        pool,
      };
    },
  },
  {
    name: 'map(jsFn, Float64Array(1000), { out })',
    async setup() {
      const pool = new Pool(2);
      const out = new Float64Array(1000);
      return {
        async call() {
          out[999] = 0;
          await pool.map((x) => x * 2, f64, { out });
          check(out[999] === 1998, 'map into out');
        },
        teardown: () => pool.terminate(),
        pool,
      };
    },
  },
  {
    name: 'map over number[]',
    async setup() {
      const pool = new Pool(2);
      return {
        async call() {
          const r = await pool.map((x) => x + 1, numbers);
          check(r.length === 64 && r[63] === 64, 'map over numbers');
        },
        teardown: () => pool.terminate(),
        pool,
      };
    },
  },
  {
    name: 'map over small objects',
    async setup() {
      const pool = new Pool(1);
      return {
        async call() {
          const r = await pool.map((o) => ({ y: o.x * 2, s: `#${o.x}` }), objects);
          check(r[2].y === 6 && r[2].s === '#3', 'map over objects');
        },
        teardown: () => pool.terminate(),
        pool,
      };
    },
  },
  {
    name: 'starmap',
    async setup() {
      const pool = new Pool(2);
      const pairs = [[1, 2], [3, 4], [5, 6]];
      return {
        async call() {
          const r = await pool.starmap((a, b) => a * b, pairs);
          check(r[2] === 30, 'starmap');
        },
        teardown: () => pool.terminate(),
        pool,
      };
    },
  },
  {
    name: 'starmap with large typed-array arguments (lent to the board)',
    async setup() {
      const pool = new Pool(2);
      const a = new Float64Array(4096).fill(1);
      const b = new Float32Array(8192).fill(2);
      const lists = [[a, b], [b, a], [a, a]];
      return {
        async call() {
          const r = await pool.starmap((x, y) => x[0] + y[y.length - 1] + x.length, lists, { chunksize: 1 });
          check(r[0] === 4099 && r[1] === 8195 && r[2] === 4098, 'starmap of large typed arrays');
        },
        teardown: () => pool.terminate(),
        pool,
      };
    },
  },
  {
    name: 'imap',
    async setup() {
      const pool = new Pool(2);
      return {
        async call() {
          let n = 0;
          for await (const x of pool.imap((o) => o.x, objects)) n += x;
          check(n === 6, 'imap');
        },
        teardown: () => pool.terminate(),
        pool,
      };
    },
  },
  {
    name: 'imapUnordered',
    async setup() {
      const pool = new Pool(2);
      return {
        async call() {
          let n = 0;
          for await (const x of pool.imapUnordered((x) => x * x, [1, 2, 3])) n += x;
          check(n === 14, 'imapUnordered');
        },
        teardown: () => pool.terminate(),
        pool,
      };
    },
  },
  {
    name: 'reduce(jsFn) mixed with kernel maps',
    async setup() {
      const pool = new Pool(2);
      return {
        async call() {
          const squares = await pool.map(kernels.square, numbers);
          check((await pool.reduce((a, b) => a + b, squares)) === 85344, 'reduce');
        },
        teardown: () => pool.terminate(),
        pool,
      };
    },
  },
  {
    name: 'reduce(jsFn) over 1,000 numbers',
    async setup() {
      const pool = new Pool(2);
      const thousand = Array.from({ length: 1000 }, (_, i) => i);
      return {
        async call() {
          check((await pool.reduce((a, b) => a + b, thousand)) === 499500, 'reduce over 1,000 numbers');
        },
        teardown: () => pool.terminate(),
        pool,
      };
    },
  },
  {
    // Every call ships a function the pool has never seen (generated code, a closure a
    // request): the caches that keep shipped and compiled functions must stay bounded.
    name: 'a new function every call (apply and map)',
    async setup() {
      const pool = new Pool(2);
      let made = 0;
      return {
        async call() {
          const k = made++;
          const f = new Function('x', `return x + ${k};`);
          check((await pool.apply(f, [1])) === k + 1, 'apply of a new function');
          check((await pool.map(f, numbers))[63] === k + 63, 'map of a new function');
        },
        teardown: () => pool.terminate(),
        pool,
      };
    },
  },
  {
    name: 'batched applyAsync',
    batch: 8,
    async setup() {
      const pool = new Pool(2);
      const args = Array.from({ length: 8 }, (_, i) => [{ i }]);
      return {
        async call() {
          const rs = args.map((a) => pool.applyAsync((o) => o.i * 2, a));
          const got = await Promise.all(rs.map((r) => r.get()));
          check(got[7] === 14, 'applyAsync');
        },
        teardown: () => pool.terminate(),
        pool,
      };
    },
  },
  {
    name: 'mapAsync',
    async setup() {
      const pool = new Pool(2);
      return {
        async call() {
          const r = await pool.mapAsync((x) => x - 1, [1, 2, 3]).get();
          check(r[2] === 2, 'mapAsync');
        },
        teardown: () => pool.terminate(),
        pool,
      };
    },
  },
  {
    name: 'module task()',
    async setup() {
      const pool = new Pool(2);
      return {
        async call() {
          const r = await pool.map(task(TASKS), [1, 2, 3]);
          check(r[2] === 6, 'task()');
        },
        teardown: () => pool.terminate(),
        pool,
      };
    },
  },
  {
    name: 'Executor.submit',
    async setup() {
      const ex = new Executor({ maxWorkers: 2 });
      return {
        async call() {
          check((await ex.submit((a, b) => a + b, 1, 2)) === 3, 'Executor.submit');
        },
        teardown: () => ex.shutdown(),
      };
    },
  },
  {
    name: 'Executor.map',
    async setup() {
      const ex = new Executor({ maxWorkers: 2 });
      return {
        async call() {
          let n = 0;
          for await (const x of ex.map((a, b) => a * b, [1, 2, 3], [4, 5, 6])) n += x;
          check(n === 32, 'Executor.map');
        },
        teardown: () => ex.shutdown(),
      };
    },
  },
  {
    name: 'apply with a Value + Queue.putAsync/getAsync',
    async setup() {
      const pool = new Pool(2);
      const counter = new Value('i', 0);
      const q = new Queue();
      let expected = 0;
      return {
        async call() {
          await pool.apply((v) => v.add(1), [counter]);
          await q.putAsync({ n: ++expected });
          const got = await q.getAsync();
          check(got.n === expected && counter.value === expected, 'Value + Queue');
        },
        teardown: () => pool.terminate(),
        pool,
      };
    },
  },
  {
    name: 'Lock in tasks',
    async setup() {
      const pool = new Pool(2);
      const lock = new Lock();
      return {
        async call() {
          check((await pool.apply((l, x) => l.withLock(() => x + 1), [lock, 1])) === 2, 'Lock');
          check(lock.tryAcquire(), 'the lock is free after the task');
          lock.release();
        },
        teardown: () => pool.terminate(),
        pool,
      };
    },
  },
  {
    name: 'maps that throw',
    async setup() {
      const pool = new Pool(2);
      return {
        async call() {
          try {
            await pool.map((x) => {
              if (x === 2) throw Object.assign(new Error(`bad ${x}`), { code: 'E_BAD' });
              return x;
            }, [1, 2, 3]);
          } catch (err) {
            check(err.code === 'E_BAD' && err.index === 1, 'a failing map');
            return;
          }
          check(false, 'a failing map (it did not fail)');
        },
        teardown: () => pool.terminate(),
        pool,
      };
    },
  },
  {
    name: 'Process start/join',
    heavy: true,
    async setup() {
      const counter = new Value('i', 0);
      let expected = 0;
      return {
        async call() {
          const p = new Process({ target: (v) => v.add(1), args: [counter] });
          p.start();
          check((await p.join()) === 0 && counter.value === ++expected, 'Process');
        },
        teardown: async () => {},
      };
    },
  },
  {
    name: 'worker replacement (maxTasksPerChild: 1)',
    heavy: true,
    async setup() {
      const pool = new Pool({ processes: 2, maxTasksPerChild: 1 });
      return {
        async call() {
          check((await pool.apply((a) => a.reduce((s, x) => s + x, 0), [[1, 2, 3]])) === 6, 'a call on a replaced worker');
        },
        teardown: () => pool.terminate(),
        // After a call, the worker that ran it exits and its replacement starts: RSS is read
        // with both workers up, never with a retiring worker's isolate still there or its
        // replacement missing (an isolate is 7-11 MiB of RSS).
        settled: () => pool.stats().workers === 2,
        pool,
      };
    },
  },
  {
    name: 'pools made and terminated',
    heavy: true,
    async setup() {
      return {
        async call() {
          const pool = new Pool(2);
          check((await pool.apply((x) => x + 1, [1])) === 2, 'a new pool');
          await pool.terminate();
        },
        teardown: async () => {},
      };
    },
  },
  {
    // Not ferropool: what a thread start costs Node itself, the baseline of the heavy paths
    // above (each of them starts one or two such workers a call). Reported, never judged.
    name: 'bare Node Worker start/exit (reference)',
    heavy: true,
    reference: true,
    async setup() {
      return {
        async call() {
          const worker = new Worker('require("node:worker_threads").parentPort.postMessage(1)', { eval: true });
          const [got] = await Promise.all([new Promise((r) => worker.once('message', r)), new Promise((r) => worker.once('exit', r))]);
          check(got === 1, 'a bare worker');
        },
        teardown: async () => {},
      };
    },
  },
];
