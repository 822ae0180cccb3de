// ava's configuration (package.json cannot hold sortTestFiles, a function).
import { basename } from 'node:path';

// The slowest specs start first: ava runs as many files at a time as there are cores, and a
// long file started last would run alone at the end while the other cores idle.
const SLOWEST_FIRST = ['node-process', 'pack', 'toolchains', 'lifecycle', 'examples', 'kernels-map', 'conformance', 'docs-samples', 'crash'];
const rank = (file) => {
  const i = SLOWEST_FIRST.indexOf(basename(file, '.test.mjs'));
  return i < 0 ? SLOWEST_FIRST.length : i;
};

export default {
  // npm test: every spec but the cluster suite (npm run test:cluster) and the soak (npm run
  // test:soak), which name their files on the command line.
  files: ['__test__/**/*.test.mjs', '!__test__/cluster/**', '!__test__/soak/**'],
  timeout: '60s',
  workerThreads: false,
  sortTestFiles: (a, b) => rank(a) - rank(b) || a.localeCompare(b, [], { numeric: true }),
};
