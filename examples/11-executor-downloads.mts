// Python:
//   def download(url):
//       time.sleep(random delay); return url, size
//   with ProcessPoolExecutor(max_workers=3) as ex:
//       futures = [ex.submit(download, u) for u in URLS]
//       for f in as_completed(futures):
//           url, size = f.result(); print(f"{url}: {size} bytes")
import { Executor } from 'ferropool';

const urls = ['https://example.com/a', 'https://example.com/bb', 'https://example.com/ccc', 'https://example.com/dddd'];

// A stand-in for a download: waits a while, returns the "page".
async function download(url: string): Promise<{ url: string; bytes: number }> {
  await new Promise((resolve) => setTimeout(resolve, 10 + (url.length % 4) * 15));
  return { url, bytes: url.length * 100 };
}

const ex = new Executor({ maxWorkers: 3 });
const futures = urls.map((u) => ex.submit(download, u));
const lines: string[] = [];
for await (const f of Executor.asCompleted(futures, { timeout: 10_000 })) {
  const { url, bytes } = await f;
  lines.push(`${url}: ${bytes} bytes`);
}
// They complete in any order; sorted here so the output is the same every run.
console.log(lines.sort().join('\n'));
console.log('all done:', futures.every((f) => f.done()));
await ex.shutdown();

/* Output:
https://example.com/a: 2100 bytes
https://example.com/bb: 2200 bytes
https://example.com/ccc: 2300 bytes
https://example.com/dddd: 2400 bytes
all done: true
*/
