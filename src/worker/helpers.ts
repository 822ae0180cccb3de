/**
 * The helper functions TypeScript toolchains insert into the code they emit, provided to
 * shipped functions in the worker.
 *
 * A function travels by its source. A compiler that lowers syntax for an older target (or,
 * like esbuild under tsx, keeps function names) calls helpers it declares once at the top of
 * the module: `__name(fn, "fn")` (esbuild's `keepNames`, on by default in tsx),
 * `__awaiter`/`__generator`/`__rest` (tsc), `_async_to_generator`/`_object_spread` (SWC).
 * The function's own source names them, but they are not part of it, so without these the
 * worker would fail with "__name is not defined". Each helper here is written for ferropool
 * from the behaviour the compiler's output relies on; the worker passes a helper to a shipped
 * function only when the function's source names it and the worker has no global of that
 * name.
 * @internal
 */
import { currentProcess } from '../util/identity';

type Fn = (...args: any[]) => any;
type Obj = Record<PropertyKey, any>;

const hasOwn = Object.prototype.hasOwnProperty;
const isEnumerable = Object.prototype.propertyIsEnumerable;

/** Own enumerable keys, strings then symbols (the keys an object spread copies). */
function spreadKeys(source: object): PropertyKey[] {
  const keys: PropertyKey[] = Object.keys(source);
  for (const s of Object.getOwnPropertySymbols(source)) if (isEnumerable.call(source, s)) keys.push(s);
  return keys;
}

/** Defines `key` as an ordinary data property, even over an inherited setter. */
function defineField(obj: Obj, key: PropertyKey, value: unknown): void {
  if (key in obj) Object.defineProperty(obj, key, { value, enumerable: true, configurable: true, writable: true });
  else obj[key] = value;
}

/** `{ ...source }` without the keys in `excluded` (object rest). */
function restOf(source: unknown, excluded: PropertyKey[]): Obj {
  const out: Obj = {};
  if (source === null || source === undefined) return out;
  const from = Object(source) as Obj;
  for (const key of spreadKeys(from)) if (!excluded.includes(key)) out[key] = from[key];
  return out;
}

/** Runs a generator that yields promises as an async function would await them. */
function drive(gen: Generator, Ctor: PromiseConstructor = Promise): Promise<unknown> {
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
function iteratorOf(value: any): Iterator<unknown> {
  const own = value?.[Symbol.iterator];
  if (typeof own === 'function') return own.call(value);
  if (value !== null && value !== undefined && typeof value.length === 'number') {
    let i = 0;
    return { next: () => (i < value.length ? { value: value[i++], done: false } : { value: undefined, done: true }) };
  }
  throw new TypeError(value === null || value === undefined ? `${value} is not iterable` : 'Object is not iterable.');
}

/** Up to `n` (default all) values of an iterable, closing it if stopped early. */
function take(value: any, n?: number): unknown[] {
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

// ---- tsc (and tslib) ------------------------------------------------------------------

/**
 * tsc's generator state machine (`target` ES5): the compiled body is a `switch` over
 * `state.label` that returns instructions `[op, value]`: 0 next, 1 throw, 2 return,
 * 3 jump to a label, 4 yield, 5 yield* (delegate), 6 an exception, 7 end of a finally
 * block. `state.trys` holds the open try blocks as `[try, catch, finally, end]` labels and
 * `state.ops` the completions waiting for a finally block to end.
 */
function __generator(thisArg: unknown, body: Fn): Generator {
  let received: [number, unknown] = [0, undefined];
  const state = {
    label: 0,
    sent(): unknown {
      if (received[0] === 1) throw received[1];
      return received[1];
    },
    trys: [] as Array<[number, number | undefined, number | undefined, number]>,
    ops: [] as Array<[number, unknown]>,
  };
  let started = false;
  let finished = false;
  let running = false;
  let inner: Iterator<unknown> | undefined;
  const resume = (op: [number, unknown]): IteratorResult<unknown> => {
    if (running) throw new TypeError('Generator is already executing.');
    if (!started) {
      started = true;
      if (op[0] !== 0) finished = true; // thrown into or returned before it started
    }
    running = true;
    try {
      while (!finished) {
        try {
          if (inner !== undefined) {
            const it = inner;
            const method = op[0] === 2 ? it.return : op[0] === 1 ? it.throw : it.next;
            if (method === undefined) {
              inner = undefined;
              if (op[0] === 1) it.return?.(); // no throw(): close it and throw here
            } else {
              const r = method.call(it, op[1]);
              if (!r.done) return r;
              inner = undefined;
              op = [op[0] === 2 ? 2 : 0, r.value];
            }
          }
          switch (op[0]) {
            case 0:
            case 1:
              received = op;
              break;
            case 4:
              state.label++;
              return { value: op[1], done: false };
            case 5:
              state.label++;
              inner = op[1] as Iterator<unknown>;
              op = [0, undefined];
              continue;
            case 7:
              op = state.ops.pop()!;
              state.trys.pop();
              continue;
            default: {
              const t = state.trys[state.trys.length - 1];
              if (t === undefined && (op[0] === 6 || op[0] === 2)) {
                finished = true;
                continue;
              }
              if (op[0] === 3 && (t === undefined || ((op[1] as number) > t[0] && (op[1] as number) < t[3]))) {
                state.label = op[1] as number;
                break;
              }
              if (op[0] === 6 && t![1] !== undefined && state.label < t![1]) {
                state.label = t![1];
                received = op;
                break;
              }
              if (t![2] !== undefined && state.label < t![2]) {
                state.label = t![2];
                state.ops.push(op);
                break;
              }
              if (t![2] !== undefined) state.ops.pop();
              state.trys.pop();
              continue;
            }
          }
          op = body.call(thisArg, state);
        } catch (err) {
          op = [6, err];
          inner = undefined;
        }
      }
    } finally {
      running = false;
    }
    if (op[0] === 1 || op[0] === 6) throw op[1];
    return { value: op[0] === 2 ? op[1] : undefined, done: true };
  };
  const gen = {
    next: (v?: unknown) => resume([0, v]),
    throw: (e?: unknown) => resume([1, e]),
    return: (v?: unknown) => resume([2, v]),
    [Symbol.iterator]() {
      return gen;
    },
  };
  return gen as unknown as Generator;
}

function __awaiter(thisArg: unknown, args: unknown, P: PromiseConstructor | undefined, generator: Fn): Promise<unknown> {
  const Ctor = P ?? Promise;
  return new Ctor((resolve, reject) => {
    try {
      drive(generator.apply(thisArg, (args as unknown[] | undefined) ?? []), Ctor).then(resolve, reject);
    } catch (err) {
      reject(err);
    }
  });
}

function __assign(target: Obj, ...sources: Obj[]): Obj {
  for (const s of sources) for (const k in s) if (hasOwn.call(s, k)) target[k] = s[k];
  return target;
}

function __rest(source: unknown, excluded: PropertyKey[]): Obj {
  return restOf(source, excluded);
}

function __spreadArray(to: unknown[], from: ArrayLike<unknown>, ...pack: [boolean?]): unknown[] {
  let items: unknown[];
  // Packed (holes read as undefined) unless told not to: tsc passes `false` for array
  // literals whose holes must stay holes.
  if (pack.length === 0 || pack[0]) {
    items = new Array(from.length);
    for (let i = 0; i < from.length; i++) items[i] = from[i];
  } else items = Array.prototype.slice.call(from);
  return to.concat(items);
}

function __read(value: unknown, n?: number): unknown {
  if (typeof (value as any)?.[Symbol.iterator] !== 'function') return value;
  return take(value, n);
}

function __spread(...values: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const v of values) out.push(...(__read(v) as unknown[]));
  return out;
}

function __values(value: unknown): Iterator<unknown> {
  return iteratorOf(value);
}

function __extends(derived: Fn, base: Fn | null): void {
  if (typeof base !== 'function' && base !== null) throw new TypeError(`Class extends value ${String(base)} is not a constructor or null`);
  Object.setPrototypeOf(derived, base ?? Function.prototype);
  derived.prototype = Object.create(base === null ? null : base.prototype, {
    constructor: { value: derived, writable: true, configurable: true },
  });
}

function isPrivateHolder(receiver: unknown, state: WeakMap<object, unknown> | WeakSet<object> | Fn, f: unknown): boolean {
  return typeof state === 'function' ? receiver === state && f !== undefined : state.has(receiver as object);
}

function __classPrivateFieldGet(receiver: unknown, state: any, kind: 'f' | 'a' | 'm', f?: any): unknown {
  if (kind === 'a' && !f) throw new TypeError('Private accessor was defined without a getter');
  if (!isPrivateHolder(receiver, state, f)) {
    throw new TypeError('Cannot read private member from an object whose class did not declare it');
  }
  if (kind === 'm') return f;
  if (kind === 'a') return f.call(receiver);
  return f ? f.value : state.get(receiver);
}

function __classPrivateFieldSet(receiver: unknown, state: any, value: unknown, kind: 'f' | 'a' | 'm', f?: any): unknown {
  if (kind === 'm') throw new TypeError('Private method is not writable');
  if (kind === 'a' && !f) throw new TypeError('Private accessor was defined without a setter');
  if (!isPrivateHolder(receiver, state, f)) {
    throw new TypeError('Cannot write private member to an object whose class did not declare it');
  }
  if (kind === 'a') f.call(receiver, value);
  else if (f) f.value = value;
  else state.set(receiver, value);
  return value;
}

function __classPrivateFieldIn(state: any, receiver: unknown): boolean {
  if (receiver === null || (typeof receiver !== 'object' && typeof receiver !== 'function')) throw new TypeError("Cannot use 'in' operator on non-object");
  return typeof state === 'function' ? receiver === state : state.has(receiver);
}

function __makeTemplateObject(cooked: string[], raw: string[]): string[] {
  Object.defineProperty(cooked, 'raw', { value: raw });
  return cooked;
}

// ---- esbuild (tsx) ------------------------------------------------------------------

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

function __spreadValues(target: Obj, source: Obj): Obj {
  if (source !== null && source !== undefined) for (const key of spreadKeys(Object(source))) defineField(target, key, source[key]);
  return target;
}

function __spreadProps(target: Obj, source: Obj): Obj {
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

// ---- SWC ------------------------------------------------------------------------------

function _async_to_generator(fn: Fn): Fn {
  return function (this: unknown, ...args: unknown[]) {
    try {
      return drive(fn.apply(this, args));
    } catch (err) {
      return Promise.reject(err);
    }
  };
}

function _define_property(obj: Obj, key: PropertyKey, value: unknown): Obj {
  defineField(obj, key, value);
  return obj;
}

function _object_spread(target: Obj, ...sources: Obj[]): Obj {
  for (const s of sources) __spreadValues(target, s);
  return target;
}

function _object_spread_props(target: Obj, source: Obj | null | undefined): Obj {
  return source === null || source === undefined ? target : __spreadProps(target, source);
}

function _object_without_properties(source: unknown, excluded: PropertyKey[]): Obj {
  return restOf(source, excluded);
}

function _object_without_properties_loose(source: unknown, excluded: PropertyKey[]): Obj {
  const out: Obj = {};
  if (source === null || source === undefined) return out;
  for (const key of Object.keys(source)) if (!excluded.includes(key)) out[key] = (source as Obj)[key];
  return out;
}

type PrivateSlot = { value?: unknown; writable?: boolean; get?: Fn; set?: Fn };

function privateSlot(receiver: object, map: WeakMap<object, PrivateSlot>, action: string): PrivateSlot {
  if (!map.has(receiver)) throw new TypeError(`attempted to ${action} private field on non-instance`);
  return map.get(receiver)!;
}

function _class_private_field_init(obj: object, map: WeakMap<object, PrivateSlot>, value: PrivateSlot): void {
  if (map.has(obj)) throw new TypeError('Cannot initialize the same private elements twice on an object');
  map.set(obj, value);
}

function _class_private_field_get(receiver: object, map: WeakMap<object, PrivateSlot>): unknown {
  const slot = privateSlot(receiver, map, 'get');
  return slot.get ? slot.get.call(receiver) : slot.value;
}

function _class_private_field_set(receiver: object, map: WeakMap<object, PrivateSlot>, value: unknown): unknown {
  const slot = privateSlot(receiver, map, 'set');
  if (slot.set) slot.set.call(receiver, value);
  else {
    if (!slot.writable) throw new TypeError('attempted to set read only private field');
    slot.value = value;
  }
  return value;
}

function _class_private_field_update(receiver: object, map: WeakMap<object, PrivateSlot>): { value: unknown } {
  privateSlot(receiver, map, 'update');
  return {
    get value() {
      return _class_private_field_get(receiver, map);
    },
    set value(v: unknown) {
      _class_private_field_set(receiver, map, v);
    },
  };
}

function _class_private_method_init(obj: object, set: WeakSet<object>): void {
  if (set.has(obj)) throw new TypeError('Cannot initialize the same private elements twice on an object');
  set.add(obj);
}

function _class_private_method_get(receiver: object, set: WeakSet<object>, fn: Fn): Fn {
  if (!set.has(receiver)) throw new TypeError('attempted to get private field on non-instance');
  return fn;
}

function _class_call_check(instance: unknown, Ctor: Fn): void {
  if (!(instance instanceof Ctor)) throw new TypeError('Cannot call a class as a function');
}

type MemberDescriptor = PropertyDescriptor & { key: PropertyKey };

function defineMembers(target: object, members: MemberDescriptor[] | undefined): void {
  for (const d of members ?? []) {
    d.enumerable = d.enumerable ?? false;
    d.configurable = true;
    if ('value' in d) d.writable = true;
    Object.defineProperty(target, d.key, d);
  }
}

function _create_class(Ctor: Fn, protoMembers?: MemberDescriptor[], staticMembers?: MemberDescriptor[]): Fn {
  defineMembers(Ctor.prototype, protoMembers);
  defineMembers(Ctor, staticMembers);
  return Ctor;
}

function _to_consumable_array(value: unknown): unknown[] {
  if (Array.isArray(value)) return __spreadArray([], value, true);
  if (value !== null && value !== undefined && typeof (value as any)[Symbol.iterator] === 'function') return Array.from(value as Iterable<unknown>);
  throw new TypeError('Invalid attempt to spread non-iterable instance.');
}

function _sliced_to_array(value: unknown, n?: number): unknown[] {
  if (Array.isArray(value)) return value;
  if (value !== null && value !== undefined && typeof (value as any)[Symbol.iterator] === 'function') return take(value, n);
  throw new TypeError('Invalid attempt to destructure non-iterable instance.');
}

function _to_array(value: unknown): unknown[] {
  return _sliced_to_array(value);
}

function _type_of(value: unknown): string {
  return typeof value;
}

function _instanceof(left: unknown, right: any): boolean {
  if (right !== null && right !== undefined && typeof right[Symbol.hasInstance] === 'function') return !!right[Symbol.hasInstance](left);
  return left instanceof right;
}

function _inherits(derived: Fn, base: Fn | null): void {
  if (typeof base !== 'function' && base !== null) throw new TypeError('Super expression must either be null or a function');
  derived.prototype = Object.create(base === null ? null : base.prototype, {
    constructor: { value: derived, writable: true, configurable: true },
  });
  if (base !== null) Object.setPrototypeOf(derived, base);
}

function _assert_this_initialized(self: unknown): unknown {
  if (self === undefined) throw new ReferenceError("this hasn't been initialised - super() hasn't been called");
  return self;
}

function _possible_constructor_return(self: unknown, result: unknown): unknown {
  if (result !== null && (typeof result === 'object' || typeof result === 'function')) return result;
  return _assert_this_initialized(self);
}

/** `super(...args)` in a lowered derived class's constructor. */
function _call_super(self: object, derived: Fn, args?: ArrayLike<unknown>): unknown {
  const base = Object.getPrototypeOf(derived);
  return _possible_constructor_return(self, Reflect.construct(base, Array.from(args ?? []), Object.getPrototypeOf(self).constructor));
}

/** Older SWC's form of {@link _call_super}: a function that calls the base constructor. */
function _create_super(derived: Fn): Fn {
  return function (this: object, ...args: unknown[]) {
    return _call_super(this, derived, args);
  };
}

/** tsc's helpers, also as tslib exports them (`tslib_1.__awaiter` under `importHelpers`). */
const TSC = {
  __generator,
  __awaiter,
  __assign,
  __rest,
  __spreadArray,
  __read,
  __spread,
  __values,
  __extends,
  __classPrivateFieldGet,
  __classPrivateFieldSet,
  __classPrivateFieldIn,
  __makeTemplateObject,
};

const ESBUILD = {
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

const SWC: Record<string, Fn> = {
  _async_to_generator,
  _define_property,
  _object_spread,
  _object_spread_props,
  _object_without_properties,
  _object_without_properties_loose,
  _class_private_field_init,
  _class_private_field_get,
  _class_private_field_set,
  _class_private_field_update,
  _class_private_method_init,
  _class_private_method_get,
  _class_call_check,
  _create_class,
  _to_consumable_array,
  _sliced_to_array,
  _to_array,
  _type_of,
  _instanceof,
  _ts_generator: __generator,
  _inherits,
  _call_super,
  _create_super,
  _assert_this_initialized,
  _possible_constructor_return,
  _get_prototype_of: Object.getPrototypeOf,
  _set_prototype_of: Object.setPrototypeOf,
};
// With `externalHelpers`, SWC's CommonJS output calls `_async_to_generator._(fn)`.
for (const helper of Object.values(SWC)) if (!Object.hasOwn(helper, '_')) Object.defineProperty(helper, '_', { value: helper });

/**
 * How compilers name an import of ferropool in CommonJS output (tsc `ferropool_1`, SWC
 * `_ferropool`, esbuild `import_ferropool`): a shipped function that calls
 * `currentProcess()` it imported reads it from there, so the worker provides it.
 */
const FERROPOOL_IMPORTS = 'ferropool_\\d+|_ferropool|import_ferropool';
const FERROPOOL_IMPORT = new RegExp(`^(?:${FERROPOOL_IMPORTS})$`);

/** Every helper by the name the compiled code calls it. */
export const HELPERS: ReadonlyMap<string, unknown> = new Map<string, unknown>([
  ...Object.entries(TSC),
  ...Object.entries(ESBUILD),
  ...Object.entries(SWC),
  ['tslib_1', Object.freeze({ ...TSC })],
]);

const NAMES = new RegExp(`\\b(?:${[...HELPERS.keys()].join('|')}|${FERROPOOL_IMPORTS})\\b`, 'g');

/**
 * The helpers `src` names that the worker has no global for: `[names, values]`, to be
 * passed as the parameters of the function that compiles the shipped source.
 */
export function helpersFor(src: string): [string[], unknown[]] {
  const names: string[] = [];
  const values: unknown[] = [];
  for (const m of src.matchAll(NAMES)) {
    const name = m[0];
    if (names.includes(name) || name in globalThis) continue;
    names.push(name);
    values.push(FERROPOOL_IMPORT.test(name) ? { currentProcess } : HELPERS.get(name));
  }
  return [names, values];
}

/**
 * Which toolchain inserts a helper of this name (for the error a missing one gets), or
 * `undefined` if the name does not look like a compiler's helper.
 */
export function helperToolchain(name: string): string | undefined {
  if (/^tslib(_\d+)?$/.test(name)) return 'tsc with "importHelpers"';
  if (/^__[a-zA-Z]+$/.test(name)) return 'tsc (a "target" below ES2022) or esbuild/tsx';
  if (/^_[a-z]+(_[a-z]+)+$/.test(name)) return 'SWC (a "jsc.target" below ES2022)';
  if (/^_[a-z]+[A-Z][a-zA-Z]*$/.test(name)) return 'Babel';
  return undefined;
}
