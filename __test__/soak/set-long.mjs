// Imported first by long-runs.test.mjs: the specs it imports then run their long counts.
process.env.FERROPOOL_LONG = '1';
