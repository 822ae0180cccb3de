/**
 * The script a {@link Process}'s thread starts: it loads process-worker.ts past the user's
 * loader (see util/own-require.ts) and starts it.
 * @internal
 */
import { requireOwn } from '../util/own-require';

(requireOwn(require, './process-worker') as typeof import('./process-worker')).start();
