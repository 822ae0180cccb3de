// Cluster mode: the same Pool code, with the chunks running on worker hosts. Here the host
// runs in this process for a self-contained example; on real machines each host is
//   npx ferropool worker --connection redis://redis.internal:6379 --queue primes --processes 8
// Needs Redis (REDIS_URL, default redis://127.0.0.1:6379) and `npm install bullmq ioredis`.
import { Pool } from 'ferropool';
import { serve } from 'ferropool/cluster';

const connection = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const queue = 'example-primes';

const host = await serve({ connection, queue, processes: 2, log: false });
{
  await using pool = new Pool({ cluster: { connection, queue } });

  // A self-contained function: shipped by its source, as to local workers.
  function countPrimes(limit: number): number {
    let count = 0;
    for (let n = 2; n < limit; n++) {
      let prime = true;
      for (let d = 2; d * d <= n; d++) {
        if (n % d === 0) {
          prime = false;
          break;
        }
      }
      if (prime) count++;
    }
    return count;
  }
  console.log(await pool.map(countPrimes, [10, 100, 1_000, 10_000, 100_000], { chunksize: 1 }));

  // Errors come back as a local pool gives them, with the host that ran the task.
  try {
    await pool.apply((n: number) => {
      if (n < 0) throw new RangeError(`negative: ${n}`);
      return n;
    }, [-1]);
  } catch (err) {
    const e = err as RangeError & { host: string };
    console.log(e instanceof RangeError, e.message, e.host === host.name);
  }
} // close() and join(): every result delivered, the Redis connections closed
await host.close();

/* Output:
[ 4, 25, 168, 1229, 9592 ]
true negative: -1 true
*/
