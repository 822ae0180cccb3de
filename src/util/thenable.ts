/**
 * Telling a promise-like value from a plain one (a task may return either).
 * @internal
 */

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}
