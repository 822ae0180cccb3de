// A few model-based fault sequences in every test run (`npm run soak` runs 1,000).
import test from 'ava';
import fc from 'fast-check';
import { runSequence, sequenceArb } from './support/soak-model.mjs';

test('random call and fault sequences settle as the model predicts, and the pool answers after', async (t) => {
  t.timeout(120_000);
  const seed = 20261122;
  let calls = 0;
  await fc.assert(
    fc.asyncProperty(sequenceArb, async (steps) => {
      const c = await runSequence(steps);
      calls += c.calls;
    }),
    { seed, numRuns: 12, endOnFailure: true },
  );
  t.true(calls > 0);
});
