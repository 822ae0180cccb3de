// Python:
//   def init(prefix):
//       global PREFIX; PREFIX = prefix
//   def greet(name): return f"{PREFIX}, {name}!"
//   with Pool(2, initializer=init, initargs=("Hello",)) as pool:
//       print(pool.map(greet, ["Ada", "Grace", "Linus"]))
import { Pool } from 'ferropool';

declare global {
  // What the initializer sets in each worker.
  var PREFIX: string;
}

await using pool = new Pool({
  processes: 2,
  initializer: (prefix: string) => {
    globalThis.PREFIX = prefix;
  },
  initargs: ['Hello'],
});
console.log(await pool.map((name: string) => `${globalThis.PREFIX}, ${name}!`, ['Ada', 'Grace', 'Linus']));

/* Output:
[ 'Hello, Ada!', 'Hello, Grace!', 'Hello, Linus!' ]
*/
