// Python:
//   def square(x): return x * x
//   with Pool(4) as pool:
//       print(pool.map(square, range(10)))
import { Pool } from 'ferropool';

function square(x: number): number {
  return x * x;
}

await using pool = new Pool(4);
console.log(await pool.map(square, Array.from({ length: 10 }, (_, i) => i)));

/* Output:
[
   0,  1,  4,  9, 16,
  25, 36, 49, 64, 81
]
*/
