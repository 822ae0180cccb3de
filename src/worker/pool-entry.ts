/**
 * The script a pool's worker threads start: it loads the worker's loop (pool-worker.ts)
 * past the user's loader (see own-require.ts) and starts it.
 * @internal
 */
import { requireOwn } from './own-require';

(requireOwn(require, './pool-worker') as typeof import('./pool-worker')).start();
