// Python:
//   with Pool(1) as pool:
//       r = pool.apply_async(time.sleep, (10,))
//       try: r.get(timeout=0.1)
//       except multiprocessing.TimeoutError: print("timed out")
//   and pool.map(f, xs) with no way to stop a stuck task; here `timeout` stops it.
import { Pool, TimeoutError } from 'ferropool';

await using pool = new Pool(1);
const slow = pool.applyAsync(() => new Promise((resolve) => setTimeout(() => resolve('late'), 300)));
try {
  await slow.get(50);
} catch (err) {
  console.log('get(50):', err instanceof TimeoutError ? 'timed out' : err);
}
console.log('the task goes on:', await slow.get());

try {
  // An endless loop: the call's timeout stops the worker running it, and the pool heals.
  await pool.map((x: number) => {
    for (;;) x++;
  }, [1], { timeout: 100 });
} catch (err) {
  console.log('map:', (err as Error).name);
}
console.log('the pool still works:', await pool.map((x: number) => x + 1, [1, 2]));

/* Output:
get(50): timed out
the task goes on: late
map: TimeoutError
the pool still works: [ 2, 3 ]
*/
