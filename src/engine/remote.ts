/**
 * Errors that come from elsewhere, rebuilt on the calling thread: a worker's (from its
 * {@link WireError}) and the addon's.
 * @internal
 */
import { CALL_MARKER, userFrames, WORKER_MARKER, workerStack } from './callsite';
import { TaskSerializationError } from './errors';
import type { WireError } from '../wire/protocol';

/** The results an error carries for the items before the one that threw (for imap). */
export const PARTIAL = Symbol('ferropool.partial');

const STANDARD: Record<string, new (message?: string) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** Rebuilds a worker's error on this side: same class where it is standard (or a
 * `DOMException`), same name,
 * message and own properties, `index`, and a stack that starts with the worker's. */
export function rebuildError(w: WireError): Error {
  const Ctor = w.serialization ? TaskSerializationError : (STANDARD[w.name] ?? Error);
  const err = (w.dom ? new DOMException(w.message, w.name) : new Ctor(w.message)) as Error & Record<string | symbol, unknown>;
  if (err.name !== w.name) Object.defineProperty(err, 'name', { value: w.name, writable: true, configurable: true, enumerable: false });
  for (const [k, v] of Object.entries(w.props)) err[k] = v;
  err.index = w.index;
  // The worker's frames without ferropool's own, then the caller's (see callsite.ts).
  const local = userFrames(err.stack);
  err.stack = `${workerStack(w.stack ?? `${w.name}: ${w.message}`)}\n${local.length > 0 ? `${CALL_MARKER}\n${local.join('\n')}` : WORKER_MARKER}`;
  Object.defineProperty(err, PARTIAL, { value: w.partial, enumerable: false });
  if (w.cause !== undefined) {
    const cause = 'error' in w.cause ? rebuildError(w.cause.error) : w.cause.value;
    Object.defineProperty(err, 'cause', { value: cause, writable: true, configurable: true, enumerable: false });
  }
  return err;
}

/** Turns the addon's errors into the JS errors they stand for (`InvalidArg` → TypeError). */
export function fromNative(err: unknown): Error {
  const e = err as Error & { code?: string };
  if (e && e.code === 'InvalidArg') return new TypeError(e.message);
  return e instanceof Error ? e : new Error(String(err));
}
