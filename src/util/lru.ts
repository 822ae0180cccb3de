/**
 * A map of at most `max` entries that forgets the least recently used one first: the one
 * bound of every cache here (compiled functions, the express lane's function table, shipped
 * sources, job specs, cost measurements), so a program that makes new functions without end
 * (generated code, a closure a request) keeps a fixed amount of them.
 * @internal
 */
export class Lru<K, V> {
  readonly #map = new Map<K, V>();
  readonly #max: number;
  readonly #evicted: ((key: K, value: V) => void) | undefined;
  /** The most recently used key: a hot loop's lookups of it move nothing. */
  #newest: K | undefined;

  /** @param evicted - Told of each entry the bound drops (not of {@link delete}s). */
  constructor(max: number, evicted?: (key: K, value: V) => void) {
    this.#max = max;
    this.#evicted = evicted;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value of `key`, which becomes the most recently used. */
  get(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined && key !== this.#newest) {
      this.#map.delete(key);
      this.#map.set(key, value);
      this.#newest = key;
    }
    return value;
  }

  /** Sets `key` (now the most recently used); drops the least recently used beyond the bound. */
  set(key: K, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    this.#newest = key;
    if (this.#map.size > this.#max) {
      const [oldest, old] = this.#map.entries().next().value as [K, V];
      this.#map.delete(oldest);
      this.#evicted?.(oldest, old);
    }
  }

  delete(key: K): void {
    this.#map.delete(key);
    if (key === this.#newest) this.#newest = undefined;
  }

  /** The values, least recently used first. */
  values(): IterableIterator<V> {
    return this.#map.values();
  }
}
