/**
 * The script a pool's worker threads start: it loads the worker's loop (pool-worker.ts)
 * past the user's loader (see util/own-require.ts) and starts it.
 * @internal
 */
import { requireOwn } from '../util/own-require';

(requireOwn(require, './pool-worker') as typeof import('./pool-worker')).start();
