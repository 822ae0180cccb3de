/**
 * How a task's error crosses a thread: what it threw, made a cloneable {@link WireError}
 * (its name, message, stack, own properties and a few levels of causes), encoded and
 * decoded; and the error of a result that cannot be sent back. The calling side rebuilds
 * it (engine/remote.ts).
 * @internal
 */
import { deserialize } from 'node:v8';
import { cloneMessage, serializeClone } from '../util/clone';
import { decodeAny, encodeAny, isPlain } from '../util/codec';
import type { Items, WireError } from './protocol';

/** A copy of `value` as it would cross a thread (throws what cloning it throws). */
function cloneValue(value: unknown): unknown {
  return isPlain(value) ? value : deserialize(serializeClone(value));
}

/** How deep a chain of causes crosses a thread. */
const MAX_CAUSES = 4;

function isErrorLike(value: unknown): value is Record<string, unknown> {
  return value instanceof Error || (typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string');
}

/** What a task threw at input position `index`, as a cloneable object. */
export function toWireError(err: unknown, index: number, partial: Items, serialization = false, depth = 0): WireError {
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as Record<string, unknown>;
  const props: Record<string, unknown> = {};
  let cause: WireError['cause'];
  if (depth < MAX_CAUSES && 'cause' in e) {
    try {
      const c = e.cause;
      if (isErrorLike(c)) cause = { error: toWireError(c, index, [], false, depth + 1) };
      else cause = { value: cloneValue(c) };
    } catch {
      cause = { value: String(e.cause) };
    }
  }
  for (const key of Object.keys(e)) {
    if (key === 'message' || key === 'stack' || key === 'name' || key === 'cause') continue;
    try {
      props[key] = cloneValue(e[key]);
    } catch {
      props[key] = String(e[key]);
    }
  }
  return {
    name: typeof e.name === 'string' ? e.name : err instanceof Error ? err.name : 'Error',
    message: typeof e.message === 'string' ? e.message : String(err),
    stack: typeof e.stack === 'string' ? e.stack : undefined,
    props,
    index,
    partial,
    serialization,
    ...(err instanceof DOMException ? { dom: true } : {}),
    ...(cause === undefined ? {} : { cause }),
  };
}

/** Serialises what a task threw at input position `index`. */
export function encodeError(err: unknown, index: number, partial: Items, serialization = false): Buffer {
  const wire = toWireError(err, index, partial, serialization);
  try {
    return encodeAny(wire);
  } catch {
    return encodeAny({ ...wire, partial: [] });
  }
}

export function decodeError(bytes: Uint8Array): WireError {
  return decodeAny(bytes) as WireError;
}

/**
 * The error of a result that cannot be sent back: a TypeError naming its input position
 * (`position`; -1 for the result of an `apply`), with what went wrong as its `cause`. (One
 * rule with arguments that cannot be sent, on the calling side.)
 */
export function uncloneable(cause: unknown, position: number): Error {
  const what = position < 0 ? 'the result of the call' : `the result for input[${position}]`;
  const why = cloneMessage('result', cause, true);
  return new TypeError(`${what} cannot be sent back from the worker: ${why} (return plain data: structured-clone values)`, { cause });
}
