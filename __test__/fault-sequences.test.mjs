// Model-based fault sequences (__test__/support/soak-model.mjs): random sequences of calls,
// crashes, timeouts, aborts and terminations settle as the model predicts, and the pool
// answers after. npm test runs a few; FERROPOOL_LONG=1 (npm run test:soak) 50, and
// `npm run soak` 1,000.
import test, { registerCompletionHandler } from 'ava';
import fc from 'fast-check';
import { runs } from './support/helpers.mjs';
import { runSequence, sequenceArb, workerGivenUp } from './support/soak-model.mjs';

// A worker given up by the heap watchdog (Node 24, rare: see soak-model.mjs) can never be
// joined, so this file's process could not exit once its results are reported: it ends
// itself then.
registerCompletionHandler(() => {
  if (workerGivenUp()) process.kill(process.pid, 'SIGKILL');
});

test('random call and fault sequences settle as the model predicts, and the pool answers after', async (t) => {
  t.timeout(runs(60_000, 600_000));
  const seed = 20261122;
  let calls = 0;
  await fc.assert(
    fc.asyncProperty(sequenceArb, async (steps) => {
      const c = await runSequence(steps);
      calls += c.calls;
    }),
    { seed, numRuns: runs(4, 50), endOnFailure: true },
  );
  t.true(calls > 0);
});
