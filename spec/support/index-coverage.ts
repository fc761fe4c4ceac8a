/**
 * Whether an index serves a recorded query: its equality fields (plain values and `$in`), then its
 * sort fields, form a prefix of one declared index (range conditions may follow). This stands in
 * for `explain` on MongoDB, which the test server cannot answer the same way.
 */
import type { RecordedCommand } from './command-recorder.js';

type Query = RecordedCommand['queries'][number];

function equalityFields(filter: Record<string, unknown>): string[] {
  const fields: string[] = [];
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and') {
      for (const part of value as Record<string, unknown>[]) fields.push(...equalityFields(part));
    } else if (key.startsWith('$')) continue;
    else if (typeof value !== 'object' || value === null || value instanceof Date) fields.push(key);
    else if ('$in' in value) fields.push(key);
  }
  return [...new Set(fields)];
}

function rangeFields(filter: Record<string, unknown>): string[] {
  return Object.entries(filter)
    .filter(([key, value]) => !key.startsWith('$') && typeof value === 'object' && value !== null)
    .filter(([, value]) => !(value instanceof Date) && !('$in' in (value as object)))
    .map(([key]) => key);
}

/**
 * Whether `query` is served by one of `indexes` (each an ordered list of key fields): the index
 * begins with equality fields of the query (others are checked on the documents it bounds), the
 * sort fields come right after them, and it bounds the query at all (an equality, a sort, or a
 * range on its first field).
 */
export function servedBy(query: Query, indexes: readonly string[][]): boolean {
  if (servedWithoutOr(query, indexes)) return true;
  // An `$or` whose every branch (with the rest of the filter) an index serves is answered by one
  // index scan per branch (MongoDB's OR plan); sorting their union would need a sort in memory.
  const { $or: branches, ...rest } = query.filter;
  if (!Array.isArray(branches) || query.sort !== undefined) return false;
  return (branches as Record<string, unknown>[]).every((branch) =>
    servedWithoutOr({ filter: { ...rest, ...branch } }, indexes),
  );
}

function servedWithoutOr(query: Query, indexes: readonly string[][]): boolean {
  const equal = equalityFields(query.filter);
  const range = rangeFields(query.filter);
  const sort = Object.keys(query.sort ?? {}).filter((field) => !equal.includes(field));
  return indexes.some((keys) => {
    let lead = 0;
    while (lead < keys.length && equal.includes(keys[lead]!)) lead += 1;
    if (!sort.every((field, i) => keys[lead + i] === field)) return false;
    if (equal.length > 0) return lead > 0;
    return sort.length > 0 || range.includes(keys[0]!);
  });
}
