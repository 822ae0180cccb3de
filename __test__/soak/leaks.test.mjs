// The short leak soak (the full one: npm run soak -- --leaks): every call path of
// scripts/leak-paths.mjs, 20,000 calls each after a warm-up of 20,000 to 60,000 calls (until
// RSS stops rising; 300 calls for the heavy paths that start a thread a call), in a child
// process of its own so that no other test's memory is measured. V8's young generations are
// pinned (see scripts/leaks.mjs), here at 1 MiB a semi-space rather than the full soak's
// 16: every pool's fresh workers have their young generation's pages in use within a few
// thousand calls, where at 16 MiB the pages of a worker that allocates little were still
// being touched for the first time during the window (six paths read 600-2,100 bytes a
// call in one CI run, and none in the next). A path fails on an RSS slope over 512 bytes a
// call (16 KiB for the heavy ones, where 300 calls against 2 MiB of RSS noise resolve no
// less) or a growth over 10% (of 60-100 MiB at this pin: steps of 5 MiB were seen on flat
// paths). The leaks this was written for grew by 1,500-5,000 bytes a
// call, and on every path at once; the full soak's 64-byte limit needs its 100,000 calls.
// A path that makes no progress for 240 s fails the soak, naming the path and phase, with
// the JavaScript stacks of its threads; so does a soak still running after 780 s (it takes
// 3-4 minutes on 2 cores), before ava's own timeout would cut it off without a word, with
// the lines (and times) of the paths it finished.
import test from 'ava';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../scripts/leaks.mjs', import.meta.url));

test('no call path grows native memory (RSS trend over 20,000 calls each)', async (t) => {
  t.timeout(900_000);
  const args = ['--expose-gc', script, '--calls', '20000', '--heavy-calls', '300', '--slope', '512', '--heavy-slope', '16384', '--growth', '0.10', '--max-warm-factor', '3', '--semi-space', '1', '--deadline', '780', '--json'];
  const { stdout, stderr, code } = await new Promise((resolve) => {
    execFile(process.execPath, args, { maxBuffer: 1 << 24 }, (err, stdout, stderr) => resolve({ stdout, stderr, code: err ? err.code : 0 }));
  });
  t.log(stderr.trim());
  // A hang or a crawl names its path and the threads' stacks on stderr (--stall, --deadline).
  if (!stdout.trim()) return t.fail(`the soak gave no report (exit status ${code}); its output is logged above`);
  const report = JSON.parse(stdout);
  t.true(report.results.length >= 20, 'every path ran');
  for (const r of report.results) t.true(r.ok, `${r.path}: ${r.bytesPerCall} B/call, ${r.growthPct}% (RSS ${r.rssMiB.join(' -> ')} MiB)`);
  t.is(code, 0);
});
