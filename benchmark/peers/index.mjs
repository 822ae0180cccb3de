// One adapter per peer pool: create(threads) → { run(taskName, arg), destroy() }.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const file = (name) => fileURLToPath(new URL(name, import.meta.url));

export const peers = {
  piscina(threads) {
    const { Piscina } = require('piscina');
    const pool = new Piscina({ filename: file('./piscina-worker.cjs'), minThreads: threads, maxThreads: threads, idleTimeout: 60_000 });
    return { run: (name, arg) => pool.run(arg, { name }), destroy: () => pool.destroy() };
  },
  tinypool(threads) {
    const { Tinypool } = require('tinypool');
    const pool = new Tinypool({ filename: file('./piscina-worker.cjs'), minThreads: threads, maxThreads: threads, idleTimeout: 60_000 });
    return { run: (name, arg) => pool.run(arg, { name }), destroy: () => pool.destroy() };
  },
  workerpool(threads) {
    const workerpool = require('workerpool');
    const pool = workerpool.pool(file('./workerpool-worker.cjs'), { minWorkers: threads, maxWorkers: threads, workerType: 'thread' });
    return { run: (name, arg) => pool.exec(name, [arg]), destroy: () => pool.terminate(true) };
  },
  poolifier(threads) {
    const { FixedThreadPool } = require('poolifier');
    const pool = new FixedThreadPool(threads, file('./poolifier-worker.cjs'));
    return { run: (name, arg) => pool.execute(arg, name), destroy: () => pool.destroy() };
  },
};
