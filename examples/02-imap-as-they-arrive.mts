// Python:
//   with Pool() as pool:
//       for result in pool.imap(slow_square, range(5)):
//           print(result)                       # in input order, each as soon as it is ready
//       print(sorted(pool.imap_unordered(slow_square, range(5))))
import { Pool } from 'ferropool';

async function slowSquare(x: number): Promise<number> {
  // Later inputs finish first: imap still yields them in input order.
  await new Promise((resolve) => setTimeout(resolve, (5 - x) * 10));
  return x * x;
}

await using pool = new Pool();
for await (const result of pool.imap(slowSquare, [0, 1, 2, 3, 4], { chunksize: 1 })) {
  console.log(result);
}
const unordered: number[] = [];
for await (const result of pool.imapUnordered(slowSquare, [0, 1, 2, 3, 4], { chunksize: 1 })) unordered.push(result);
console.log(unordered.sort((a, b) => a - b));

/* Output:
0
1
4
9
16
[ 0, 1, 4, 9, 16 ]
*/
