/**
 * Deeply immutable values, so a store can hand out what it holds without copying it on every read.
 *
 * `Object.freeze` does not stop a Date from changing (its time is an internal slot, not a
 * property), so stored Dates are `ReadonlyDate`s: real Dates (`instanceof Date`, BSON and JSON treat
 * them as such, `structuredClone` gives a plain Date back) whose setters throw.
 */

/** A Date whose setters throw; frozen once made. */
export class ReadonlyDate extends Date {}

for (const name of Object.getOwnPropertyNames(Date.prototype)) {
  if (!name.startsWith('set')) continue;
  Object.defineProperty(ReadonlyDate.prototype, name, {
    value: function refuse(): never {
      throw new TypeError(`a stored Date is read-only (${name})`);
    },
  });
}
Object.freeze(ReadonlyDate.prototype);

/**
 * Values known to be deeply immutable, made by `frozenCopy`. A value reached from one of these is
 * immutable too, so a copy shares it instead of walking it again. Holding no values alive, this is
 * a property of values, not state of any store.
 */
const immutable = new WeakSet<object>();

/**
 * A deeply frozen copy of `value`: plain objects, arrays and Dates are copied (Dates as
 * `ReadonlyDate`), parts made by an earlier `frozenCopy` are shared as they are. Events and states
 * hold nothing else (claims are JWT claims, JSON); any other object (a Map, a typed array) is copied
 * with `structuredClone` as the stores always did, but cannot be frozen.
 *
 * @example const stored = frozenCopy(event); // the caller may go on changing `event`
 */
export function frozenCopy<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (immutable.has(value)) return value;
  let copy: object;
  if (value instanceof Date) {
    copy = new ReadonlyDate(value.getTime());
  } else if (Array.isArray(value)) {
    const items: unknown[] = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) items[i] = frozenCopy(value[i] as unknown);
    copy = items;
  } else if (isPlainObject(value)) {
    const fields: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const inner = frozenCopy((value as Record<string, unknown>)[key]);
      // A `__proto__` key (JSON.parse makes them) stays a field, never a prototype.
      if (key === '__proto__') {
        Object.defineProperty(fields, key, { value: inner, enumerable: true });
      } else fields[key] = inner;
    }
    copy = fields;
  } else {
    const cloned = structuredClone(value);
    // A class instance clones to a plain object, which can be frozen; a Map stays a Map.
    return isPlainObject(cloned) ? frozenCopy(cloned) : cloned;
  }
  Object.freeze(copy);
  immutable.add(copy);
  return copy as T;
}

function isPlainObject(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
