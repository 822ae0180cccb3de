/**
 * Turning a user's function into something a worker can run: a self-contained function
 * shipped by its source, or a module export named with {@link task}.
 * @module
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { definitionSite } from '../engine/callsite';
import { TaskSerializationError } from '../engine/errors';
import { describe } from '../util/describe';
import { Lru } from '../util/lru';
import type { FnSpec } from '../wire/protocol';

const TASK = Symbol.for('ferropool.task');

/**
 * A module export for workers to import and call; made by {@link task}. `F` is the
 * export's type, when given to {@link task}, so that a call's results are typed (without it,
 * they are `unknown`).
 * @typeParam F - The export's function type, e.g. `typeof import('./tasks.js')['sha']`.
 * @example
 * ```ts
 * const sha: ModuleTask = task('./tasks.mjs', 'sha');
 * sha.url;        // 'file:///…/tasks.mjs' (the path resolved from the current directory)
 * sha.exportName; // 'sha'
 * ```
 */
export interface ModuleTask<F extends (...args: any[]) => unknown = never> {
  /** The module's URL (a `file:` URL for a path). */
  readonly url: string;
  /** The export's name. */
  readonly exportName: string;
  /** The export's type, for type inference only: never set at run time. */
  readonly signature?: F;
}

/**
 * Names an export of an ES or CommonJS module as a task. Every worker imports the module
 * once, so the function may use imports, closures and module state. Give the export's type
 * (`typeof import('./tasks.js')['sha']`) to type the results of the calls that run it.
 *
 * @typeParam F - The export's function type (optional): the calls' arguments and results
 *   are checked against it.
 * @example
 * ```ts
 * // tasks.mjs: import { createHash } from 'node:crypto';
 * //            export function sha(s) { return createHash('sha256').update(s).digest('hex') }
 * const hashes = await pool.map(task(new URL('./tasks.mjs', import.meta.url), 'sha'), strings);
 *
 * // TypeScript: the results are typed after the export (string[] here).
 * const sha = task<typeof import('./tasks.js')['sha']>(new URL('./tasks.js', import.meta.url), 'sha');
 * const typed: string[] = await pool.map(sha, strings);
 * ```
 */
export function task<F extends (...args: any[]) => unknown = never>(moduleUrlOrPath: string | URL, exportName = 'default'): ModuleTask<F> {
  let url: string;
  if (moduleUrlOrPath instanceof URL) url = moduleUrlOrPath.href;
  else if (typeof moduleUrlOrPath === 'string' && moduleUrlOrPath.length > 0) {
    url = /^(file|data|node):/.test(moduleUrlOrPath) ? moduleUrlOrPath : pathToFileURL(path.resolve(moduleUrlOrPath)).href;
  } else {
    throw new TypeError(`task: moduleUrlOrPath must be a path or URL string, got ${describe(moduleUrlOrPath)}`);
  }
  if (typeof exportName !== 'string' || exportName.length === 0) {
    throw new TypeError(`task: exportName must be a non-empty string, got ${describe(exportName)}`);
  }
  return Object.freeze({ [TASK]: true, url, exportName }) as ModuleTask<F>;
}

/** Whether `value` was made by {@link task}. */
export function isTask(value: unknown): value is ModuleTask {
  return typeof value === 'object' && value !== null && (value as { [TASK]?: boolean })[TASK] === true;
}

/** Specs by function object (the first of each source), and by source: a loop that passes
 * a fresh arrow each time (`pool.apply(() => work())`) checks its source once. */
const shipped = new WeakMap<object, FnSpec>();
const bySource = new Lru<string, FnSpec>(512);

/**
 * The spec a worker needs to run `fn`, or a `TaskSerializationError` saying why `fn`
 * cannot be shipped (a native or bound function, a class, a method with a computed name).
 * Closures are caught in the worker, where the captured name turns out undefined.
 */
export function shipFunction(fn: unknown, argName: string): FnSpec {
  if (isTask(fn)) return { k: 'mod', url: fn.url, name: fn.exportName };
  if (typeof fn !== 'function') {
    throw new TypeError(`${argName} must be a function, a task() or a kernel, got ${describe(fn)}`);
  }
  const cached = shipped.get(fn);
  if (cached) return cached;
  const src = Function.prototype.toString.call(fn);
  const name = fn.name;
  // A function of a known source: a hot loop that writes its function inline makes a new
  // closure a call, and remembering each one (a WeakMap entry a call) costs more than this
  // lookup by source. Keyed by the source alone, the string V8 gives (no key to build and
  // hash a call); one of the same source under another name, by both.
  let known = bySource.get(src);
  if (known !== undefined && known.name !== name) known = bySource.get(`${name}\u0000${src}`);
  if (known !== undefined) return known;
  if (/\{\s*\[native code\]\s*\}\s*$/.test(src)) {
    const what = name.startsWith('bound ') ? `a bound function (${name})` : `a native function (${name || 'anonymous'})`;
    throw new TaskSerializationError(
      `${argName} is ${what}, which cannot be shipped to a worker by source. Wrap it in a self-contained function, e.g. (x) => Math.sqrt(x), pass values as arguments instead of binding them, or use task(moduleUrl, exportName).`,
    );
  }
  if (/^class\b/.test(src)) {
    throw new TaskSerializationError(`${argName} is a class; pass a function`);
  }
  const spec: FnSpec = { k: 'fn', src: asExpression(src, name, argName), name };
  // Where it was defined, so the worker's stack frames name the user's file and line.
  const site = definitionSite(src);
  if (site !== undefined) Object.assign(spec, site);
  bySource.set(bySource.get(src) === undefined ? src : `${name}\u0000${src}`, spec);
  shipped.set(fn, spec);
  return spec;
}

/** The function's source as an expression: method shorthand becomes a function expression. */
function asExpression(src: string, name: string, argName: string): string {
  if (parses(`(${src})`)) return src;
  // `square(x) { … }`, `async square(x) { … }`, `*gen() { … }`: a method's source.
  const method = /^(async\s+)?(\*\s*)?/.exec(src)![0];
  const rest = src.slice(method.length);
  if (name && rest.startsWith(name)) {
    const expr = `${method.includes('async') ? 'async ' : ''}function${method.includes('*') ? '*' : ''} ${rest}`;
    if (parses(`(${expr})`)) return expr;
  }
  throw new TaskSerializationError(`${argName} (${name || 'anonymous'}) cannot be shipped: its source is not a function expression. Define it with function or =>, or use task(moduleUrl, exportName).`);
}

function parses(expr: string): boolean {
  try {
    new Function(`return ${expr}\n;`);
    return true;
  } catch {
    return false;
  }
}
