/**
 * The helper functions TypeScript toolchains insert into the code they emit, provided to
 * shipped functions in the worker.
 *
 * A function travels by its source. A compiler that lowers syntax for an older target (or,
 * like esbuild under tsx, keeps function names) calls helpers it declares once at the top of
 * the module: `__name(fn, "fn")` (esbuild's `keepNames`, on by default in tsx),
 * `__awaiter`/`__generator`/`__rest` (tsc), `_async_to_generator`/`_object_spread` (SWC).
 * The function's own source names them, but they are not part of it, so without these the
 * worker would fail with "__name is not defined". Each helper here is written for ferropool
 * from the behaviour the compiler's output relies on; the worker passes a helper to a shipped
 * function only when the function's source names it and the worker has no global of that
 * name.
 *
 * The helpers themselves are by toolchain: helpers-tsc.ts, helpers-esbuild.ts and
 * helpers-swc.ts (with what they share in helpers-common.ts).
 * @internal
 */
import { currentProcess } from '../util/identity';
import { ESBUILD } from './helpers-esbuild';
import { SWC } from './helpers-swc';
import { TSC } from './helpers-tsc';

/**
 * How compilers name an import of ferropool in CommonJS output (tsc `ferropool_1`, SWC
 * `_ferropool`, esbuild `import_ferropool`): a shipped function that calls
 * `currentProcess()` it imported reads it from there, so the worker provides it.
 */
const FERROPOOL_IMPORTS = 'ferropool_\\d+|_ferropool|import_ferropool';
const FERROPOOL_IMPORT = new RegExp(`^(?:${FERROPOOL_IMPORTS})$`);

/** Every helper by the name the compiled code calls it. */
export const HELPERS: ReadonlyMap<string, unknown> = new Map<string, unknown>([
  ...Object.entries(TSC),
  ...Object.entries(ESBUILD),
  ...Object.entries(SWC),
  ['tslib_1', Object.freeze({ ...TSC })],
]);

const NAMES = new RegExp(`\\b(?:${[...HELPERS.keys()].join('|')}|${FERROPOOL_IMPORTS})\\b`, 'g');

/**
 * The helpers `src` names that the worker has no global for: `[names, values]`, to be
 * passed as the parameters of the function that compiles the shipped source.
 */
export function helpersFor(src: string): [string[], unknown[]] {
  const names: string[] = [];
  const values: unknown[] = [];
  for (const m of src.matchAll(NAMES)) {
    const name = m[0];
    if (names.includes(name) || name in globalThis) continue;
    names.push(name);
    values.push(FERROPOOL_IMPORT.test(name) ? { currentProcess } : HELPERS.get(name));
  }
  return [names, values];
}

/**
 * Which toolchain inserts a helper of this name (for the error a missing one gets), or
 * `undefined` if the name does not look like a compiler's helper.
 */
export function helperToolchain(name: string): string | undefined {
  if (/^tslib(_\d+)?$/.test(name)) return 'tsc with "importHelpers"';
  if (/^__[a-zA-Z]+$/.test(name)) return 'tsc (a "target" below ES2022) or esbuild/tsx';
  if (/^_[a-z]+(_[a-z]+)+$/.test(name)) return 'SWC (a "jsc.target" below ES2022)';
  if (/^_[a-z]+[A-Z][a-zA-Z]*$/.test(name)) return 'Babel';
  return undefined;
}
