// Process: Python's multiprocessing.Process, one function on a thread of its own.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Lock, PoolStateError, Process, Queue, TaskSerializationError, Value, currentProcess, task } from '../dist/index.mjs';

test('two Processes count down on their own threads; join gives exit code 0', async (t) => {
  const q = new Queue();
  const countdown = (name, n, q) => {
    for (let i = n; i > 0; i--) q.put(`${name}:${i}`);
    q.put(`${currentProcess().name} done`);
  };
  const p1 = new Process({ target: countdown, args: ['a', 5, q], name: 'counter-a' });
  const p2 = new Process({ target: countdown, args: ['b', 10, q] });
  t.is(p1.exitCode, null);
  t.false(p1.isAlive());
  t.is(p1.pid, undefined);
  p1.start();
  p2.start();
  t.true(p1.isAlive());
  t.is(p1.pid, process.pid);
  t.true(p1.threadId > 0 && p2.threadId > 0 && p1.threadId !== p2.threadId);
  t.deepEqual(await Promise.all([p1.join(), p2.join()]), [0, 0]);
  t.false(p1.isAlive());
  t.is(p1.error, undefined);
  const items = [];
  while (!q.empty()) items.push(q.getNowait());
  t.deepEqual(items.filter((s) => s.startsWith('a:')), ['a:5', 'a:4', 'a:3', 'a:2', 'a:1']);
  t.is(items.filter((s) => s.startsWith('b:')).length, 10);
  t.true(items.includes('counter-a done'));
  t.true(items.includes(`${p2.name} done`));
  t.regex(p2.name, /^Process-\d+$/);
});

test('ten Processes add to a shared Value under a Lock', async (t) => {
  const lock = new Lock();
  const total = new Value('i', 0);
  const procs = Array.from({ length: 10 }, () => new Process({
    target: (lock, v) => {
      for (let i = 0; i < 100; i++) lock.withLock(() => { v.value = v.value + 1; });
    },
    args: [lock, total],
  }));
  for (const p of procs) p.start();
  const codes = await Promise.all(procs.map((p) => p.join()));
  t.deepEqual(codes, Array(10).fill(0));
  t.is(total.value, 1000);
});

test('a target that throws: exit code 1, the error kept (with its class) and not swallowed', async (t) => {
  const p = new Process({ target: (x) => { throw new RangeError(`bad ${x}`); }, args: [3] });
  p.start();
  t.is(p.error, undefined);
  t.is(await p.join(), 1);
  t.true(p.error instanceof RangeError);
  t.is(p.error.message, 'bad 3');
  t.regex(p.error.stack, /RangeError: bad 3/);
  const outer = 5;
  const c = new Process({ target: () => outer + 1 });
  c.start();
  t.is(await c.join(), 1);
  t.true(c.error instanceof TaskSerializationError);
  t.regex(c.error.message, /uses outer, which does not exist in the worker/);
});

test('async targets, rejections, process.exit codes and module tasks', async (t) => {
  const v = new Value('i32', 0);
  const ok = new Process({ target: async (v) => { await new Promise((r) => setTimeout(r, 5)); v.value = 9; }, args: [v] });
  ok.start();
  t.is(await ok.join(), 0);
  t.is(v.value, 9);
  const rejects = new Process({ target: async () => { await null; throw new TypeError('late'); } });
  rejects.start();
  t.is(await rejects.join(), 1);
  t.is(rejects.error?.message, 'late');
  const unhandled = new Process({ target: () => { Promise.reject(new Error('nobody awaited me')); } });
  unhandled.start();
  t.is(await unhandled.join(), 1);
  t.is(unhandled.error?.message, 'nobody awaited me');
  const exits = new Process({ target: () => process.exit(3) });
  exits.start();
  t.is(await exits.join(), 3);
  const mod = new Process({ target: task(new URL('./fixtures/tasks/esm.mjs', import.meta.url), 'default'), args: [4] });
  mod.start();
  t.is(await mod.join(), 0);
});

test('join(timeout) gives null while it runs; terminate() stops an endless loop with -15', async (t) => {
  const p = new Process({ target: () => { for (;;); } });
  p.start();
  t.is(await p.join(20), null);
  t.true(p.isAlive());
  await p.terminate();
  t.is(p.exitCode, -15);
  t.is(await p.join(), -15);
  t.false(p.isAlive());
  t.is(p.error, undefined);
});

test('bad use is refused with named errors', async (t) => {
  t.throws(() => new Process(), { instanceOf: TypeError, message: /options must be an object/ });
  t.throws(() => new Process({ target: 5 }), { instanceOf: TypeError, message: /target must be a function/ });
  t.throws(() => new Process({ target: Math.sqrt }), { instanceOf: TaskSerializationError });
  t.throws(() => new Process({ target: () => 1, args: 'x' }), { instanceOf: TypeError, message: /args must be an array/ });
  t.throws(() => new Process({ target: () => 1, args: [() => 2] }), { instanceOf: TypeError, message: /args cannot be sent/ });
  t.throws(() => new Process({ target: () => 1, targe: 1 }), { instanceOf: TypeError, message: /unknown option "targe"/ });
  t.throws(() => new Process({ target: () => 1, name: 5 }), { instanceOf: TypeError, message: /name must be a string/ });
  const p = new Process({ target: () => 1 });
  await t.throwsAsync(p.join(), { instanceOf: PoolStateError, message: /not started/ });
  p.start();
  t.throws(() => p.start(), { instanceOf: PoolStateError, message: /started only once/ });
  await t.throwsAsync(p.join(-1), { instanceOf: RangeError, message: /timeout/ });
  t.is(await p.join(), 0);
});

test('process-level: the error is printed to stderr; a daemon does not keep the program alive', (t) => {
  const file = fileURLToPath(new URL('fixtures/processes.mjs', import.meta.url));
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 30_000 });
  t.is(r.signal, null, r.stderr);
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout.trim(), 'hello World\nexit codes 0 1');
  t.regex(r.stderr, /Process Process-2 failed: Error: broken target/);
});
