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
 * Values found deeply frozen. Freezing cannot be undone, so such a value stays so, and asking again
 * walks nothing: a session's state keeps its tokens across refreshes, and each refresh would
 * otherwise walk every one of them again.
 */
const knownFrozen = new WeakSet<object>();

/**
 * A deeply frozen copy of `value`: plain objects, arrays and Dates are copied (Dates as
 * `ReadonlyDate`); parts that are deeply frozen already (a stored value, or what `evolve` kept of
 * one) are shared, not copied. Events and states hold nothing else (claims are JWT claims, JSON);
 * any other object (a Map, a typed array) is copied with `structuredClone` as the stores always
 * did, but cannot be frozen.
 *
 * @example const stored = frozenCopy(event); // the caller may go on changing `event`
 */
export function frozenCopy<T>(value: T): T {
  if (typeof value !== 'object' || value === null || isDeeplyFrozen(value)) return value;
  return copyOf(value) as T;
}

function copyOf(value: object): object {
  if (value instanceof Date) return Object.freeze(new ReadonlyDate(value.getTime()));
  if (Array.isArray(value)) {
    const items: unknown[] = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) items[i] = frozenCopy(value[i] as unknown);
    return Object.freeze(items);
  }
  if (!isPlainObject(value)) {
    const cloned: unknown = structuredClone(value);
    // A class instance clones to a plain object, which can be frozen; a Map stays a Map.
    return isPlainObject(cloned as object) ? copyOf(cloned as object) : (cloned as object);
  }
  // Spread copies own enumerable fields as data properties (a `__proto__` key stays a field).
  const fields: Record<string, unknown> = { ...value };
  for (const key of Object.keys(fields)) {
    const inner = fields[key];
    if (typeof inner !== 'object' || inner === null || isDeeplyFrozen(inner)) continue;
    if (key === '__proto__') {
      Object.defineProperty(fields, key, { value: copyOf(inner), enumerable: true });
    } else fields[key] = copyOf(inner);
  }
  return Object.freeze(fields);
}

/**
 * Whether nothing reachable from `value` can change: every object frozen, every Date a frozen
 * `ReadonlyDate`. Such a value can be shared by anyone, whoever made it.
 */
function isDeeplyFrozen(value: object): boolean {
  if (knownFrozen.has(value)) return true;
  if (!walkFrozen(value)) return false;
  knownFrozen.add(value);
  return true;
}

function walkFrozen(value: object): boolean {
  if (!Object.isFrozen(value)) return false;
  if (value instanceof Date) return value instanceof ReadonlyDate;
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) {
      if (typeof item === 'object' && item !== null && !isDeeplyFrozen(item)) return false;
    }
    return true;
  }
  if (!isPlainObject(value)) return false;
  for (const key of Object.keys(value)) {
    const inner = (value as Record<string, unknown>)[key];
    if (typeof inner === 'object' && inner !== null && !isDeeplyFrozen(inner)) return false;
  }
  return true;
}

function isPlainObject(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
