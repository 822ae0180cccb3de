// Python:
//   def countdown(name, n):
//       while n > 0:
//           print(f"{name}: {n}"); n -= 1
//   p1 = Process(target=countdown, args=("A", 3)); p2 = Process(target=countdown, args=("B", 2))
//   p1.start(); p2.start(); p1.join(); p2.join()
//   print("exit codes", p1.exitcode, p2.exitcode)
import { Process, Queue } from 'ferropool';

// The two threads run at once; a Queue collects their lines so the output has one order.
const lines = new Queue<string>();
function countdown(name: string, n: number, out: Queue<string>): void {
  for (; n > 0; n--) out.put(`${name}: ${n}`);
}
const p1 = new Process({ target: countdown, args: ['A', 3, lines] });
const p2 = new Process({ target: countdown, args: ['B', 2, lines] });
p1.start();
p2.start();
const codes = [await p1.join(), await p2.join()];
const all: string[] = [];
while (!lines.empty()) all.push(lines.getNowait());
for (const who of ['A', 'B']) console.log(all.filter((l) => l.startsWith(who)).join(', '));
console.log('exit codes', ...codes);

/* Output:
A: 3, A: 2, A: 1
B: 2, B: 1
exit codes 0 0
*/
