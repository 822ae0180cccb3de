/**
 * The helpers esbuild inserts (tsx among others): `__name` for `keepNames`, and those of
 * lowered syntax. See helpers.ts.
 * @internal
 */
import { defineField, type Fn, type Obj, restOf, spreadKeys } from './helpers-common';
import { __awaiter } from './helpers-tsc';

function __name<T extends Fn>(target: T, value: string): T {
  return Object.defineProperty(target, 'name', { value, configurable: true });
}

function __publicField(obj: Obj, key: PropertyKey, value: unknown): unknown {
  defineField(obj, typeof key === 'symbol' ? key : `${String(key)}`, value);
  return value;
}

function privateCheck(obj: unknown, member: WeakMap<object, unknown> | WeakSet<object>, what: string): void {
  if (!member.has(obj as object)) throw new TypeError(`Cannot ${what}`);
}

function __privateAdd(obj: object, member: WeakMap<object, unknown> | WeakSet<object>, value?: unknown): void {
  if (member.has(obj)) throw new TypeError('Cannot add the same private member more than once');
  if (member instanceof WeakSet) member.add(obj);
  else member.set(obj, value);
}

function __privateGet(obj: object, member: WeakMap<object, unknown>, getter?: Fn): unknown {
  privateCheck(obj, member, 'read from private field');
  return getter ? getter.call(obj) : member.get(obj);
}

function __privateSet(obj: object, member: WeakMap<object, unknown>, value: unknown, setter?: Fn): unknown {
  privateCheck(obj, member, 'write to private field');
  if (setter) setter.call(obj, value);
  else member.set(obj, value);
  return value;
}

function __privateMethod(obj: object, member: WeakSet<object>, method: Fn): Fn {
  privateCheck(obj, member, 'access private method');
  return method;
}

function __privateWrapper(obj: object, member: WeakMap<object, unknown>, setter?: Fn, getter?: Fn): { _: unknown } {
  return {
    set _(value: unknown) {
      __privateSet(obj, member, value, setter);
    },
    get _() {
      return __privateGet(obj, member, getter);
    },
  };
}

function __privateIn(member: WeakMap<object, unknown> | WeakSet<object>, obj: unknown): boolean {
  if (Object(obj) !== obj) throw new TypeError('Cannot use the "in" operator on this value');
  return member.has(obj as object);
}

export function __spreadValues(target: Obj, source: Obj): Obj {
  if (source !== null && source !== undefined) for (const key of spreadKeys(Object(source))) defineField(target, key, source[key]);
  return target;
}

export function __spreadProps(target: Obj, source: Obj): Obj {
  return Object.defineProperties(target, Object.getOwnPropertyDescriptors(source));
}

function __objRest(source: unknown, excluded: PropertyKey[]): Obj {
  return restOf(source, excluded);
}

function __async(thisArg: unknown, args: unknown, generator: Fn): Promise<unknown> {
  return __awaiter(thisArg, args, undefined, generator);
}

function __template(cooked: string[], raw: string[] = cooked.slice()): string[] {
  return Object.freeze(Object.defineProperty(cooked, 'raw', { value: Object.freeze(raw) })) as string[];
}

/** esbuild's helpers. */
export const ESBUILD = {
  __name,
  __publicField,
  __privateAdd,
  __privateGet,
  __privateSet,
  __privateMethod,
  __privateWrapper,
  __privateIn,
  __spreadValues,
  __spreadProps,
  __objRest,
  __async,
  __template,
  __pow: Math.pow,
};
