/**
 * What the toolchain helpers (helpers-tsc.ts, helpers-esbuild.ts, helpers-swc.ts) are built
 * from: object spread and rest, driving a generator as an async function, iterating.
 * @internal
 */

export type Fn = (...args: any[]) => any;
export type Obj = Record<PropertyKey, any>;

export const hasOwn = Object.prototype.hasOwnProperty;
const isEnumerable = Object.prototype.propertyIsEnumerable;

/** Own enumerable keys, strings then symbols (the keys an object spread copies). */
export function spreadKeys(source: object): PropertyKey[] {
  const keys: PropertyKey[] = Object.keys(source);
  for (const s of Object.getOwnPropertySymbols(source)) if (isEnumerable.call(source, s)) keys.push(s);
  return keys;
}

/** Defines `key` as an ordinary data property, even over an inherited setter. */
export function defineField(obj: Obj, key: PropertyKey, value: unknown): void {
  if (key in obj) Object.defineProperty(obj, key, { value, enumerable: true, configurable: true, writable: true });
  else obj[key] = value;
}

/** `{ ...source }` without the keys in `excluded` (object rest). */
export function restOf(source: unknown, excluded: PropertyKey[]): Obj {
  const out: Obj = {};
  if (source === null || source === undefined) return out;
  const from = Object(source) as Obj;
  for (const key of spreadKeys(from)) if (!excluded.includes(key)) out[key] = from[key];
  return out;
}

/** Runs a generator that yields promises as an async function would await them. */
export function drive(gen: Generator, Ctor: PromiseConstructor = Promise): Promise<unknown> {
  return new Ctor((resolve, reject) => {
    const resume = (method: 'next' | 'throw', arg: unknown): void => {
      let r: IteratorResult<unknown>;
      try {
        r = gen[method](arg);
      } catch (err) {
        reject(err);
        return;
      }
      if (r.done) resolve(r.value);
      else Ctor.resolve(r.value).then(onValue, onError);
    };
    const onValue = (v: unknown) => resume('next', v);
    const onError = (e: unknown) => resume('throw', e);
    resume('next', undefined);
  });
}

/** An iterator over `value` (its own, or by index over an array-like). */
export function iteratorOf(value: any): Iterator<unknown> {
  const own = value?.[Symbol.iterator];
  if (typeof own === 'function') return own.call(value);
  if (value !== null && value !== undefined && typeof value.length === 'number') {
    let i = 0;
    return { next: () => (i < value.length ? { value: value[i++], done: false } : { value: undefined, done: true }) };
  }
  throw new TypeError(value === null || value === undefined ? `${value} is not iterable` : 'Object is not iterable.');
}

/** Up to `n` (default all) values of an iterable, closing it if stopped early. */
export function take(value: any, n?: number): unknown[] {
  const it = iteratorOf(value);
  const out: unknown[] = [];
  let r: IteratorResult<unknown> | undefined;
  try {
    while ((n === undefined || out.length < n) && !(r = it.next()).done) out.push(r.value);
  } catch (err) {
    r = undefined; // a throwing iterator is not closed
    throw err;
  } finally {
    if (r !== undefined && !r.done) it.return?.();
  }
  return out;
}
