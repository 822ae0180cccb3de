/**
 * Loads ferropool's own worker code past the user's loader. Kept tiny on purpose: it is the
 * one file (with the entries) that the loader still sees.
 * @internal
 */
import { readFileSync } from 'node:fs';
import * as Module from 'node:module';

type Load = (module: { _compile(code: string, filename: string): unknown }, filename: string) => void;

/**
 * `req(id)` with Node's own loading of `.js` files, not the one a TypeScript runner put in
 * `require.extensions` (tsx, ts-node, …): a worker thread inherits the main thread's
 * `--require`/`--import` loaders, and tsx scans every `.js` file it loads with a WebAssembly
 * lexer whose memory grows for a file of more than ~12k characters. Growing that memory
 * detaches its old `ArrayBuffer`, which V8 answers by dropping an optimisation for the whole
 * thread: every typed-array loop the worker then runs is about twice as slow. Our files are
 * plain CommonJS, so they need nothing from the loader; the user's modules (`task()`) still
 * load through it.
 */
export function requireOwn(req: (id: string) => unknown, id: string): unknown {
  const extensions = (Module as unknown as { _extensions?: Record<string, Load> })._extensions;
  const theirs = extensions?.['.js'];
  if (extensions === undefined || theirs === undefined) return req(id);
  extensions['.js'] = (module, filename) => {
    module._compile(readFileSync(filename, 'utf8'), filename);
  };
  try {
    return req(id);
  } finally {
    extensions['.js'] = theirs;
  }
}
