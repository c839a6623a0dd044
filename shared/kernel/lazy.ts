/** An object made on first use, and whether it was made. */
export interface Lazy<T extends object> {
  /** Stands in for the object: the first property read makes it (methods come bound to it). */
  readonly value: T;
  /** The object once something used it; undefined before (closing then has nothing to close). */
  readonly made: T | undefined;
}

/**
 * `create()`'s object, made when first used. The composition root builds every client at start-up;
 * through this an SDK client that an instance's first invocations never touch (and the SDK's own
 * module graph, when `create` requires it) costs the cold start nothing.
 */
export function lazy<T extends object>(create: () => T): Lazy<T> {
  let made: T | undefined;
  const real = (): T => {
    made ??= create();
    return made;
  };
  const value = new Proxy({} as T, {
    get: (_, property) => {
      const target = real();
      const member = Reflect.get(target, property, target);
      return typeof member === 'function' ? member.bind(target) : member;
    },
    set: (_, property, member) => Reflect.set(real(), property, member),
    has: (_, property) => Reflect.has(real(), property),
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
  });
  return {
    value,
    get made() {
      return made;
    },
  };
}
