// Python:
//   with Pool(2, maxtasksperchild=1) as pool:
//       pids = pool.map(lambda _: os.getpid(), range(6), chunksize=1)
//   print(len(set(pids)))         # 6: every task ran in a fresh worker
import { Pool, currentProcess } from 'ferropool';

await using pool = new Pool({ processes: 2, maxTasksPerChild: 1 });
const workers = await pool.map(() => currentProcess().threadId, [0, 1, 2, 3, 4, 5], { chunksize: 1 });
console.log('tasks:', workers.length, 'distinct workers:', new Set(workers).size);

/* Output:
tasks: 6 distinct workers: 6
*/
