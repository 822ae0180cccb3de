/**
 * The standard typed-array kinds, in one order: the wire formats that carry typed arrays (the
 * plain-data codec, raw argument lists) number a kind by its index here, so both ends of a
 * payload read the same table.
 * @internal
 */

/** Every standard typed-array constructor; a kind is an index of this list. The first three
 * are the numeric arrays ferropool reads and writes in place (raw argument lists carry them
 * inline). */
export const TYPED_ARRAYS = [Float64Array, Float32Array, Int32Array, Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Uint32Array, BigInt64Array, BigUint64Array] as const;

/** An instance of one of {@link TYPED_ARRAYS}. */
export type TypedArray = InstanceType<(typeof TYPED_ARRAYS)[number]>;

const KIND_OF = new Map<object | null, number>(TYPED_ARRAYS.map((C, i) => [C.prototype, i]));

/**
 * The kind of `x` (an index of {@link TYPED_ARRAYS}) when its prototype is exactly that
 * constructor's, else -1: a subclass such as Buffer, a DataView or any other object is not a
 * kind here (structured clone would not give a Buffer back as one).
 */
export function typedKind(x: object): number {
  return kindOfPrototype(Object.getPrototypeOf(x));
}

/** {@link typedKind} for a caller that already holds the value's prototype. */
export function kindOfPrototype(proto: object | null): number {
  return KIND_OF.get(proto) ?? -1;
}
