/**
 * Where the user's code is, for errors: the call site of a pool call (captured when the call
 * is made) and the file and line where a shipped function was defined.
 * @internal
 */
import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lru } from '../util/lru';

/** ferropool's own files (dist/ in a build, this file being in dist/engine/): frames there
 * are not the user's. */
const OWN_DIR = path.join(__dirname, '..') + path.sep;
/** What follows the worker's frames in a task error's stack (then the caller's frames). */
export const CALL_MARKER = '    --- the task ran in a pool worker; the call was made: ---';
/** The same, when the call's site is not known (applies, which do not capture it). */
export const WORKER_MARKER = '    --- the task ran in a pool worker ---';

/** Any of the markers above, or cluster mode's (`--- the task ran on cluster host h ---`). */
const MARKER = /^ {4}--- the task ran (in a pool worker|on cluster host [^;\n]*?)(?:; the call was made:)? ---$/m;

const LOCATION = /\(?((?:file:\/\/|\/|[A-Za-z]:[\\/])[^()]*?):(\d+):(\d+)\)?$/;

/** The file of a stack frame line (`    at f (file:///a.mjs:3:7)`), or undefined. */
function frameFile(line: string): string | undefined {
  const m = LOCATION.exec(line);
  if (!m) return undefined;
  return m[1]!.startsWith('file://') ? fileURLToPath(m[1]!) : m[1]!;
}

/** Whether a frame line is ferropool's own code or Node's internals. */
function isInternal(line: string): boolean {
  if (line.includes('(node:') || /^\s+at node:/.test(line) || line.includes('(<anonymous>)')) return true;
  const file = frameFile(line);
  return file?.startsWith(OWN_DIR) === true;
}

/** The frame lines of `stack` outside ferropool and Node's internals. */
export function userFrames(stack: string | undefined): string[] {
  if (!stack) return [];
  return stack.split('\n').filter((line) => /^\s+at /.test(line) && !isInternal(line));
}

/** Holds a call's stack, formatted only if an error needs it. */
export interface CallSite {
  stack?: string;
}

/** The stack of the code calling ferropool now (formatted lazily, if ever read). */
export function captureCallSite(): CallSite {
  const site: CallSite = {};
  Error.captureStackTrace(site, captureCallSite);
  return site;
}

/**
 * `promise`, whose rejection's stack ends with the frames of the code calling this now (see
 * {@link attachCallSite}). Costs a stack capture, so the hot per-call paths
 * (`apply`) do without it.
 */
export function withCallSite<T>(promise: Promise<T>): Promise<T> {
  const site = captureCallSite();
  return promise.catch((err: unknown) => {
    attachCallSite(err, site);
    throw err;
  });
}

/**
 * Makes `err`'s stack end with the frames of the user's code that made the call: a task
 * error's "the call was made" part (which, coming back from a worker, would otherwise list
 * only ferropool's internals), or, for an error ferropool made when the call failed later
 * (a timeout, a crashed worker), a part of its own.
 */
export function attachCallSite(err: unknown, site: CallSite): void {
  if (!(err instanceof Error) || typeof err.stack !== 'string') return;
  const frames = userFrames(site.stack);
  if (frames.length === 0) return;
  const stack = err.stack;
  // Where the task ran: "in a pool worker", or "on cluster host <name>" (cluster mode).
  const marker = MARKER.exec(stack);
  if (marker) err.stack = `${stack.slice(0, marker.index)}    --- the task ran ${marker[1]}; the call was made: ---\n${frames.join('\n')}`;
  else if (userFrames(stack).length === 0) err.stack = `${stack.split('\n    at ')[0]}\n    --- the call was made: ---\n${frames.join('\n')}`;
}

/** The worker's frames of a task error without ferropool's internals (the chunk loop). */
export function workerStack(stack: string): string {
  return stack
    .split('\n')
    .filter((line) => !/^\s+at /.test(line) || !(isInternal(line) || line.includes('eval at loopFor')))
    .join('\n');
}

const texts = new Lru<string, string | null>(8);

/** A source file's text, if it is a readable file of at most 4 MB (a few kept). */
function fileText(file: string): string | null {
  let text = texts.get(file);
  if (text === undefined) {
    try {
      text = statSync(file).size <= 4 * 1024 * 1024 ? readFileSync(file, 'utf8') : null;
    } catch {
      text = null;
    }
    texts.set(file, text);
  }
  return text;
}

/**
 * Where a function whose source is `src` was defined: the first file on the current stack
 * outside ferropool (the caller's), if its text holds `src`, as `{ file, line, col }` (`file` as
 * the stack names it: a path or a `file:` URL). Undefined when the function came from
 * elsewhere or its file was transpiled (tsx, ts-node: the source is not in the file).
 */
export function definitionSite(src: string): { file: string; line: number; col: number } | undefined {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 30;
  Error.captureStackTrace(holder, definitionSite);
  Error.stackTraceLimit = limit;
  const frame = userFrames(holder.stack)[0];
  const m = frame === undefined ? null : LOCATION.exec(frame);
  if (!m) return undefined;
  const file = frameFile(frame!)!;
  const text = fileText(file);
  const at = text === null ? -1 : text.indexOf(src);
  if (at < 0) return undefined;
  let line = 1;
  for (let i = text!.indexOf('\n'); i >= 0 && i < at; i = text!.indexOf('\n', i + 1)) line++;
  return { file: m[1]!, line, col: at - (text!.lastIndexOf('\n', at - 1) + 1) };
}
