// Python:
//   results = []
//   with Pool() as pool:
//       for i in range(4):
//           pool.apply_async(cube, (i,), callback=results.append, error_callback=print)
//       pool.apply_async(fail, (7,), error_callback=lambda e: print("failed:", e))
//       pool.close(); pool.join()
//   print(sorted(results))
import { Pool } from 'ferropool';

const pool = new Pool();
const results: number[] = [];
const handles = [0, 1, 2, 3].map((i) =>
  pool.applyAsync((x: number) => x ** 3, [i], { callback: (v) => results.push(v) }),
);
const failing = pool.applyAsync(
  (x: number): number => {
    throw new Error(`cannot handle ${x}`);
  },
  [7],
  { errorCallback: (e) => console.log('failed:', (e as Error).message) },
);
pool.close();
await pool.join();
console.log(results.sort((a, b) => a - b));
console.log('all ready:', handles.every((h) => h.ready() && h.successful()), failing.successful());

/* Output:
failed: cannot handle 7
[ 0, 1, 8, 27 ]
all ready: true false
*/
