/**
 * The helpers tsc inserts when it lowers syntax (a `target` below ES2022), also as tslib
 * exports them (`tslib_1.__awaiter` under `importHelpers`). See helpers.ts.
 * @internal
 */
import { drive, type Fn, hasOwn, iteratorOf, type Obj, restOf, take } from './helpers-common';

/**
 * tsc's generator state machine (`target` ES5): the compiled body is a `switch` over
 * `state.label` that returns instructions `[op, value]`: 0 next, 1 throw, 2 return,
 * 3 jump to a label, 4 yield, 5 yield* (delegate), 6 an exception, 7 end of a finally
 * block. `state.trys` holds the open try blocks as `[try, catch, finally, end]` labels and
 * `state.ops` the completions waiting for a finally block to end.
 */
export function __generator(thisArg: unknown, body: Fn): Generator {
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

export function __awaiter(thisArg: unknown, args: unknown, P: PromiseConstructor | undefined, generator: Fn): Promise<unknown> {
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

export function __spreadArray(to: unknown[], from: ArrayLike<unknown>, ...pack: [boolean?]): unknown[] {
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

/** tsc's helpers, also as tslib exports them (`tslib_1.__awaiter` under `importHelpers`). */
export const TSC = {
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
