/**
 * The compile cache of a worker thread: a shipped function compiled once per source (or a
 * module's export imported once), and what its errors mean (a name that does not exist in
 * the worker, a module the caller's import shadowed).
 * @internal
 */
import * as Module from 'node:module';
import { isBuiltin } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { helpersFor, helperToolchain } from './helpers';
import { currentProcess } from '../util/identity';
import { Lru } from '../util/lru';
import { type FnSpec, specKey } from '../wire/protocol';

const IDENT = /^[A-Za-z_$][\w$]*$/;
const RESERVED = new Set(['await', 'yield', 'let', 'static', 'enum', 'implements', 'interface', 'package', 'private', 'protected', 'public', 'default', 'function', 'class', 'async']);

/** Compiles a shipped function once per source; its own name is bound, so recursion works.
 * A worker keeps the {@link COMPILED} functions it used last (a program that ships a new
 * function per request must not grow every worker without end). */
export const COMPILED = 512;
const compiled = new Lru<string, (...args: unknown[]) => unknown>(COMPILED);
/** The function of `spec` if it was compiled or imported already (no promise to await). */
export function compiledFn(spec: FnSpec): ((...args: unknown[]) => unknown) | undefined {
  return compiled.get(specKey(spec));
}
export async function resolveFn(spec: FnSpec): Promise<(...args: unknown[]) => unknown> {
  const key = specKey(spec);
  let fn = compiled.get(key);
  if (fn) return fn;
  if (spec.k === 'fn') {
    fn = compileShipped(spec);
  } else {
    const mod = await importTask(spec.url, spec.name);
    let value = mod[spec.name] ?? (spec.name === 'default' ? undefined : (mod.default as Record<string, unknown> | undefined)?.[spec.name]);
    // A module compiled to CommonJS (a .ts file under tsx or ts-node) has its default export
    // on `module.exports.default`, which `import()` gives as `default.default`.
    if (spec.name === 'default' && typeof value !== 'function') value = (value as Record<string, unknown> | undefined)?.default;
    if (typeof value !== 'function') {
      throw new TypeError(`task(${JSON.stringify(spec.url)}, ${JSON.stringify(spec.name)}): the module has no function export named ${JSON.stringify(spec.name)}`);
    }
    fn = value as (...args: unknown[]) => unknown;
  }
  compiled.set(key, fn);
  return fn;
}

/**
 * A module task's module. A file that `import()` has no loader for (a `.ts` file on Node 20,
 * where tsx and ts-node hook `require` in worker threads but not `import`) is required
 * instead when a loader hooks `require` for its extension, as it would be on the main thread;
 * without one, the error names the file and the ways to run it.
 */
async function importTask(url: string, name: string): Promise<Record<string, unknown>> {
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (err) {
    if ((err as { code?: unknown } | null)?.code !== 'ERR_UNKNOWN_FILE_EXTENSION' || !url.startsWith('file:')) throw err;
    const file = fileURLToPath(url);
    const ext = path.extname(file);
    const hooks = (Module as unknown as { _extensions?: Record<string, unknown> })._extensions ?? {};
    const what = `task(${JSON.stringify(url)}, ${JSON.stringify(name)}): the worker cannot load ${path.basename(file)}`;
    if (hooks[ext] !== undefined || (/^\.[cm]ts$/.test(ext) && hooks['.ts'] !== undefined)) {
      try {
        return { default: require(file) };
      } catch (required) {
        // An ES module a require hook will not take (ts-node's ESM loader on Node 20).
        if (!String((required as { code?: unknown } | null)?.code).startsWith('ERR_REQUIRE_')) throw required;
        throw new TypeError(
          `${what}: import() has no loader for "${ext}" files in this worker, and require() refused it as an ES module (${(required as Error).message.split('\n')[0]}). ` +
            'Run the program with tsx (npx tsx app.ts), ts-node in CommonJS mode (node --require ts-node/register app.ts), or node --experimental-strip-types app.ts on Node 22.6+, or compile the module and pass the .js file to task().',
          { cause: required },
        );
      }
    }
    throw new TypeError(
      `${what}: Node ${process.version} has no loader for "${ext}" files, ` +
        "and a pool's workers load modules with the main thread's loader. Run the program with a TypeScript runner (npx tsx app.ts, node --import tsx app.ts, " +
        'node --require ts-node/register app.ts, or node --experimental-strip-types app.ts on Node 22.6+), or compile the module and pass the .js file to task().',
      { cause: err },
    );
  }
}

/**
 * Compiles a shipped function's source. `currentProcess` is in scope (as if the function
 * had imported it), and so are the compiler helpers its source names (see helpers.ts). The
 * source starts on the line it has in the caller's file, which names the code
 * (`sourceURL`), so the worker's stack frames read `at fib (file:///…/app.mjs:12:9)`; when
 * the file is not known (a transpiled or another module), they read `shipped:fib:3:9` (a
 * line of the function itself).
 */
function compileShipped(spec: FnSpec & { k: 'fn' }): (...args: unknown[]) => unknown {
  const [names, values] = helpersFor(spec.src);
  const named = IDENT.test(spec.name) && !RESERVED.has(spec.name) && spec.name !== 'currentProcess' && !names.includes(spec.name);
  const params = ['currentProcess', ...names].join(', ');
  const url = (spec.file ?? `shipped:${spec.name || 'anonymous'}`).replace(/\s/g, encodeURIComponent);
  // Where the caller's file has it, the source starts on its own line and column: the wrapper
  // goes on the line before (or, for a function on line 1, before it on the same line).
  const line = spec.file !== undefined ? (spec.line ?? 1) : 1;
  const at = line > 1 ? `${'\n'.repeat(line - 2)}` : '';
  const open = line > 1 ? `\n${' '.repeat(spec.col ?? 0)}` : '';
  const code = named
    ? `${at}(function (${params}) { const ${spec.name} = (${open}${spec.src}\n);\nreturn ${spec.name}; })\n//# sourceURL=${url}`
    : `${at}(function (${params}) { return { anonymous: (${open}${spec.src}\n) }.anonymous; })\n//# sourceURL=${url}`;
  // An unnamed function gets the name `anonymous` (as new Function's do), so its frames do
  // not read `at eval`. Compiled by an indirect eval (eval called by another name runs in
  // the global scope), not new Function: eval's code starts at line 1 and column 1, so the
  // padding above puts the function at its own line and column.
  // biome-ignore lint/security/noGlobalEval: shipped functions are compiled from their source by design
  const globalEval = eval;
  const factory = globalEval(code) as (...args: unknown[]) => (...args: unknown[]) => unknown;
  return factory(currentProcess, ...values);
}

/** Turns "x is not defined" from a shipped function into the reason it happened, and adds a
 * hint to "crypto.createHash is not a function" when the name is a worker global that a
 * module import of the same name shadows on the caller's side. */
export function explain(err: unknown, spec: FnSpec): { err: unknown; serialization: boolean } {
  if (spec.k === 'fn' && err instanceof ReferenceError) {
    const m = /^(\S+) is not defined$/.exec(err.message);
    if (m) {
      const e = new ReferenceError(notDefined(m[1]!, spec.name || 'the function'));
      e.name = 'TaskSerializationError';
      e.stack = `${e.name}: ${e.message}\n${(err.stack ?? '').split('\n').slice(1).join('\n')}`;
      return { err: e, serialization: true };
    }
  }
  if (spec.k === 'fn' && err instanceof TypeError) {
    const m = /^(\w+)\.(\w+) is not a function$/.exec(err.message);
    if (m && shadowsModule(m[1]!)) {
      err.message += ` (in the worker, ${m[1]} is the global ${m[1]}, not the module 'node:${m[1]}': a shipped function does not take its module's imports along. Get the module inside the function, e.g. const ${m[1]} = process.getBuiltinModule('node:${m[1]}') (Node 20.16+) or await import('node:${m[1]}'), or use task(moduleUrl, exportName).)`;
      if (typeof err.stack === 'string') err.stack = err.stack.replace(/^[^\n]*/, `${err.name}: ${err.message}`);
    }
  }
  return { err, serialization: false };
}

/** Whether `name` is a worker global that differs from the Node module of the same name
 * (`crypto`: WebCrypto, not 'node:crypto'), which a caller's import may have shadowed. */
function shadowsModule(name: string): boolean {
  if (!(name in globalThis) || !isBuiltin(`node:${name}`)) return false;
  try {
    return require(`node:${name}`) !== (globalThis as Record<string, unknown>)[name];
  } catch {
    return false;
  }
}

/** Why a shipped function's name `name` is undefined in the worker, and what to do. */
function notDefined(name: string, fnName: string): string {
  const toolchain = helperToolchain(name);
  if (toolchain !== undefined) {
    return (
      `${fnName} uses ${name}, a helper that ${toolchain} inserts when it compiles a function, and one that ferropool does not provide to shipped functions. ` +
      'Compile for a newer target (tsconfig "target": "ES2022" or later; SWC "jsc.target": "es2022"), turn the helper\'s transform off, or put the function in a module and use task(moduleUrl, exportName).'
    );
  }
  if (/^\w+_\d+$/.test(name)) {
    return (
      `${fnName} uses ${name}, which is how TypeScript compiles a module import: a shipped function cannot use its module's imports, as functions are shipped by source. ` +
      'Import inside the function (await import(...), or process.getBuiltinModule for node: modules), or put the function in a module and use task(moduleUrl, exportName).'
    );
  }
  if (isBuiltin(name)) {
    return (
      `${fnName} uses ${name}, which does not exist in the worker: functions are shipped by source, so a module imported as ${name} in the caller's file does not come along. ` +
      `Get it inside the function: const ${name} = process.getBuiltinModule('node:${name}') (Node 20.16+) or await import('node:${name}'), or use task(moduleUrl, exportName).`
    );
  }
  return (
    `${fnName} uses ${name}, which does not exist in the worker: functions are shipped by source, so they cannot capture outer variables. ` +
    `Pass ${name} as an argument, set it on globalThis in the pool's initializer, or use task(moduleUrl, exportName).`
  );
}
