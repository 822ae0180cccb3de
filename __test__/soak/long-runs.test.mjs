// The property tests, the model-based fault sequences and the Node-process fixtures that
// hunt races at their long counts: the same tests npm test runs, with FERROPOOL_LONG=1 (see
// runs() in ../support/helpers.mjs). The imports run in order: the first sets the variable
// before the others read it.
import './set-long.mjs';
import '../property.test.mjs';
import '../fault-sequences.test.mjs';
import '../node-process.test.mjs';
