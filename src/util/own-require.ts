/**
 * Loads ferropool's own code past the user's loader. Kept tiny on purpose: it is one of the
 * few files (with the entries) that the loader still sees.
 * @internal
 */
import { readFileSync } from 'node:fs';
import * as Module from 'node:module';

type Load = (module: { _compile(code: string, filename: string): unknown }, filename: string) => void;

/**
 * Until the function it returns is called (or, at the latest, the current job of the event
 * loop ends), `require` loads `.js` files the way Node does, not with the handler a
 * TypeScript runner put in `require.extensions` (tsx, ts-node, …). tsx scans every `.js` file
 * it loads with a WebAssembly lexer whose memory grows for a file of more than ~12k
 * characters; growing that memory detaches its old `ArrayBuffer`, which V8 answers by
 * dropping an optimisation for the whole thread (its ArrayBuffer-detaching protector): every
 * typed-array loop of that thread then runs about twice as slow. Our files are plain
 * CommonJS and need nothing from a loader; the user's modules (`task()`) still go through it.
 * A worker thread inherits the main thread's `--require`/`--import` loaders, so both ends
 * load this way (index.ts, worker/*-entry.ts).
 */
export function ownLoads(): () => void {
  const extensions = (Module as unknown as { _extensions?: Record<string, Load> })._extensions;
  const theirs = extensions?.['.js'];
  if (extensions === undefined || theirs === undefined) return () => {};
  const ours: Load = (module, filename) => {
    module._compile(readFileSync(filename, 'utf8'), filename);
  };
  extensions['.js'] = ours;
  const restore = () => {
    if (extensions['.js'] === ours) extensions['.js'] = theirs;
  };
  // Should loading throw before the caller restores it.
  queueMicrotask(restore);
  return restore;
}

/** `req(id)`, loading our `.js` files as {@link ownLoads} says. */
export function requireOwn(req: (id: string) => unknown, id: string): unknown {
  const restore = ownLoads();
  try {
    return req(id);
  } finally {
    restore();
  }
}
