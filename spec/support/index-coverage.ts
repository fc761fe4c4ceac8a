/**
 * Whether a declared index serves a query, the way MongoDB's planner would without a blocking
 * sort or a collection scan. This stands in for `explain`, which the test server cannot answer as
 * MongoDB does. The rules, for one index (its keys in order, each with a direction):
 * - it begins with fields the query tests for equality (plain values and `$eq`) or `$in`; other
 *   conditions of the query are checked on the documents these bounds select;
 * - the sort follows those leading fields at once, in the index's directions or all reversed
 *   (sort fields bound by a plain equality are constants and drop out). An `$in` bounds like an
 *   equality but yields several runs of the index, each in order, not one: a sort must then
 *   begin with the `$in` field itself;
 * - a query without equalities is served by an index that begins with one of its range
 *   conditions, or by one whose order is its sort (an ordered walk: whole-log scans, "the latest"
 *   with a limit);
 * - `$or`: served when the other conditions are, with the `$or` checked on their documents, or
 *   when every branch, joined to the other conditions, is served (one index scan per branch).
 */
import type { IndexDescription } from 'mongodb';
import type { QueryShape, Skeleton } from './query-shape.js';

/** An index's keys in order, each with its direction. */
export type IndexKeys = readonly (readonly [string, number])[];

interface Conditions {
  equal: Set<string>;
  /** Fields tested with `$in`. */
  within: Set<string>;
  /** Fields tested with `$gt`, `$gte`, `$lt`, `$lte`. */
  range: Set<string>;
  /** Each `$or` of the filter, as its branches. */
  ors: Skeleton[][];
}

const RANGE = ['$gt', '$gte', '$lt', '$lte'];

/** The keys of declared indexes (`IndexDescription[]`, as given to `createIndexes`). */
export function keysOf(indexes: readonly IndexDescription[]): IndexKeys[] {
  return indexes.map((index) =>
    Object.entries(index.key as Record<string, number>).map(([field, direction]) => [
      field,
      direction < 0 ? -1 : 1,
    ]),
  );
}

export function servedBy(query: QueryShape, indexes: readonly IndexKeys[]): boolean {
  return served(conditions(query.filter), query.sort ?? [], indexes);
}

function served(
  where: Conditions,
  sort: [string, number][],
  indexes: readonly IndexKeys[],
): boolean {
  const plain = { ...where, ors: [] };
  if (indexes.some((keys) => servedByIndex(plain, sort, keys))) return true;
  const [first, ...others] = where.ors;
  if (!first) return false;
  return first.every((branch) => {
    const joined = conditions(branch);
    return served(
      {
        equal: new Set([...where.equal, ...joined.equal]),
        within: new Set([...where.within, ...joined.within]),
        range: new Set([...where.range, ...joined.range]),
        ors: [...others, ...joined.ors],
      },
      sort,
      indexes,
    );
  });
}

function servedByIndex(where: Conditions, sort: [string, number][], keys: IndexKeys): boolean {
  const order = sort.filter(([field]) => !where.equal.has(field));
  let lead = 0;
  while (lead < keys.length) {
    const field = keys[lead]![0];
    if (where.equal.has(field) || (order.length === 0 && where.within.has(field))) lead += 1;
    else break;
  }
  if (order.length > 0) {
    const span = keys.slice(lead, lead + order.length);
    if (span.length < order.length || !span.every(([field], i) => field === order[i]![0])) {
      return false;
    }
    const same = span.every(([, direction], i) => direction === order[i]![1]);
    const reversed = span.every(([, direction], i) => direction === -order[i]![1]);
    if (!same && !reversed) return false;
  }
  const first = keys[0]?.[0];
  if (first === undefined) return false;
  if (where.equal.size > 0 || where.within.size > 0) {
    return where.equal.has(first) || where.within.has(first);
  }
  return where.range.has(first) || order.length > 0;
}

/** The conditions of a filter, its `$and` flattened. */
function conditions(filter: Skeleton): Conditions {
  const where: Conditions = { equal: new Set(), within: new Set(), range: new Set(), ors: [] };
  const add = (part: Skeleton) => {
    for (const [key, value] of Object.entries(part)) {
      if (key === '$and') for (const inner of value as Skeleton[]) add(inner);
      else if (key === '$or') where.ors.push(value as Skeleton[]);
      else if (key.startsWith('$'))
        continue; // $nor, $expr, $comment...: checked per document
      else if (value === '?') where.equal.add(key);
      else if (typeof value === 'object' && !Array.isArray(value)) {
        const operators = Object.keys(value);
        if (operators.includes('$eq')) where.equal.add(key);
        else if (operators.includes('$in')) where.within.add(key);
        else if (operators.some((operator) => RANGE.includes(operator))) where.range.add(key);
        // $exists, $ne, $nin, $not, $elemMatch...: checked per document
      }
    }
  };
  add(filter);
  return where;
}
