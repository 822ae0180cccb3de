// Python:
//   def produce(q, n): q.put((n, n * n))
//   q = Queue()
//   ps = [Process(target=produce, args=(q, n)) for n in range(5)]
//   for p in ps: p.start()
//   results = sorted(q.get() for _ in ps)
//   for p in ps: p.join()
//   print(results)
import { Pool, Queue } from 'ferropool';

const q = new Queue<[number, number]>();
await using pool = new Pool();
// Workers put into the queue; the main thread takes from it without blocking its event loop.
const producing = pool.starmap((q: Queue<[number, number]>, n: number) => q.put([n, n * n]), [0, 1, 2, 3, 4].map((n): [Queue<[number, number]>, number] => [q, n]));
const results: Array<[number, number]> = [];
for (let i = 0; i < 5; i++) results.push(await q.getAsync());
await producing;
console.log(results.sort((a, b) => a[0] - b[0]));

/* Output:
[ [ 0, 0 ], [ 1, 1 ], [ 2, 4 ], [ 3, 9 ], [ 4, 16 ] ]
*/
