// Python:
//   def add_one(lock, counter):
//       for _ in range(1000):
//           with lock: counter.value += 1
//   lock = Lock(); counter = Value('i', 0)
//   with Pool() as pool:
//       pool.starmap(add_one, [(lock, counter)] * 10)
//   print(counter.value)          # 10000
import { Lock, Pool, Value } from 'ferropool';

const lock = new Lock();
const counter = new Value('i', 0);
await using pool = new Pool();
await pool.starmap(
  (lock: Lock, counter: Value<'i'>) => {
    for (let i = 0; i < 1000; i++) lock.withLock(() => (counter.value += 1));
  },
  Array.from({ length: 10 }, (): [Lock, Value<'i'>] => [lock, counter]),
  { chunksize: 1 },
);
console.log(counter.value);
// Without a lock: one atomic add per increment.
const fast = new Value('i32', 0);
await pool.starmap((c: Value<'i32'>) => { for (let i = 0; i < 1000; i++) c.add(1); }, Array.from({ length: 10 }, (): [Value<'i32'>] => [fast]));
console.log(fast.value);

/* Output:
10000
10000
*/
