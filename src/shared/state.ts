/**
 * How a Lock, Value or Queue crosses to another thread: the state it travels as, and the
 * object rebuilt over the same memory on the other side (wire/payloads.ts calls these).
 * @internal
 */
import { Lock } from './lock';
import { Queue } from './queue';
import { Value, type ValueType } from './value';
import { BRAND } from './wait';

/** What a shared object is when it travels: its kind, its memory and its settings. */
export interface SharedState {
  [BRAND]: 'Lock' | 'Value' | 'Queue';
  buffer: SharedArrayBuffer;
  /** A Value's element type. */
  type?: ValueType;
}

/**
 * Whether `value` is a Lock, Value or Queue, or the state one travels as.
 * @internal
 */
export function isShared(value: object): boolean {
  const v = value as Partial<SharedState>;
  return (v[BRAND] === 'Lock' || v[BRAND] === 'Value' || v[BRAND] === 'Queue') && v.buffer instanceof SharedArrayBuffer;
}

/**
 * The Lock, Value or Queue whose travelling state (as a worker decoded it) is `value`, or
 * `value` itself when it is no such state.
 * @internal
 */
export function fromState(value: object): unknown {
  if (Object.getPrototypeOf(value) !== Object.prototype || !isShared(value)) return value;
  const state = value as SharedState;
  if (state[BRAND] === 'Lock') return new Lock(state.buffer);
  if (state[BRAND] === 'Value') return new Value(state.type ?? 'f64', undefined, state.buffer);
  return new Queue(undefined, state.buffer);
}
