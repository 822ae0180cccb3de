// npm run soak [-- --runs 1000] [--seed N] (or -- --leaks, or -- --oom): model-based fault sequences against one pool each
// (see __test__/support/soak-model.mjs). Prints the seed first: a failure reproduces with it.
import fc from 'fast-check';

// npm run soak -- --leaks: the leak soak instead (scripts/leaks.mjs).
if (process.argv.includes('--leaks')) {
  await import('./leaks.mjs');
}
// npm run soak -- --oom: pools whose workers run out of memory (scripts/oom-loop.mjs).
if (process.argv.includes('--oom')) {
  await import('./oom-loop.mjs');
  process.exit(0);
}
import { runSequence, sequenceArb } from '../__test__/support/soak-model.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const runs = opt('--runs', 1000);
const seed = opt('--seed', Date.now() % 2 ** 31);
console.log(`soak: ${runs} sequences, seed ${seed} (rerun: npm run soak -- --runs ${runs} --seed ${seed})`);
const totals = { sequences: 0, calls: 0, faults: 0, controls: 0 };
const began = performance.now();
await fc.assert(
  fc.asyncProperty(sequenceArb, async (steps) => {
    const c = await runSequence(steps);
    totals.sequences++;
    totals.calls += c.calls;
    totals.faults += c.faults;
    totals.controls += c.controls;
    if (totals.sequences % 50 === 0) process.stderr.write(`  ${totals.sequences} sequences, ${totals.calls} calls settled, ${totals.faults} faults\n`);
  }),
  { seed, numRuns: runs, endOnFailure: true },
);
console.log(`soak passed: ${totals.sequences} sequences, ${totals.calls} calls settled as predicted (${totals.faults} of them faults), ${totals.controls} close/terminate, 0 hangs, in ${((performance.now() - began) / 1000).toFixed(0)} s`);
process.exit(0);
