/**
 * How a value is named in the error messages of argument checks ("got a string (\"x\")").
 * @internal
 */

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return `a string (${JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}…` : value)})`;
    case 'undefined':
      return 'undefined';
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${typeof value} ${String(value)}`;
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default: {
      const ctor = (value as object).constructor;
      if (!ctor || typeof ctor.name !== 'string' || !ctor.name || ctor.name === 'Object') return 'an object';
      return `${/^[AEIOU]/.test(ctor.name) ? 'an' : 'a'} ${ctor.name}`;
    }
  }
}
