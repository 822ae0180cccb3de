// Python:
//   from itertools import product
//   with Pool() as pool:
//       print(pool.starmap(pow, product([1, 2, 3], [2, 3])))
import { Pool } from 'ferropool';

function product<A, B>(as: A[], bs: B[]): Array<[A, B]> {
  return as.flatMap((a) => bs.map((b): [A, B] => [a, b]));
}

await using pool = new Pool();
console.log(await pool.starmap((base: number, exp: number) => base ** exp, product([1, 2, 3], [2, 3])));

/* Output:
[ 1, 1, 4, 8, 9, 27 ]
*/
