/**
 * The helpers SWC inserts when it lowers syntax (a `jsc.target` below ES2022). See helpers.ts.
 * @internal
 */
import { defineField, drive, type Fn, type Obj, restOf, take } from './helpers-common';
import { __spreadProps, __spreadValues } from './helpers-esbuild';
import { __generator, __spreadArray } from './helpers-tsc';

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

/** SWC's helpers. */
export const SWC: Record<string, Fn> = {
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
