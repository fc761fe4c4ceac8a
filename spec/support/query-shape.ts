/**
 * The shape of a command as the index coverage check sees it: which collection, which fields each
 * filter tests and how (values replaced by `?`, operators kept), and the sort. Two commands that
 * differ only in their values have one shape, so the whole run reduces to a short list.
 */

/** A filter with its values replaced by `?`; operators, `$and`/`$or` and sub-filters kept. */
export type Skeleton = { [key: string]: SkeletonValue };
type SkeletonValue = '?' | Skeleton | Skeleton[];

/** One filter and its sort (field and direction, in order). */
export interface QueryShape {
  filter: Skeleton;
  sort?: [string, number][];
}

export interface CommandShape {
  name: string;
  /** Empty for commands that name no collection (handshake, catalog of databases). */
  collection: string;
  /** One per statement that selects documents; none for commands that select nothing. */
  queries: QueryShape[];
}

/** The commands that select documents by a filter, and where their filters and sorts are. */
export const QUERY_COMMANDS = new Set([
  'find',
  'aggregate',
  'count',
  'distinct',
  'delete',
  'update',
  'findAndModify',
]);

/** Commands that name a collection as their first field's value. */
const ON_COLLECTION = new Set([
  ...QUERY_COMMANDS,
  'insert',
  'createIndexes',
  'listIndexes',
  'drop',
  'collStats',
]);

export function commandShape(command: Record<string, unknown>): CommandShape {
  const name = Object.keys(command)[0] ?? '';
  const collection = ON_COLLECTION.has(name) ? String(command[name]) : '';
  const queries: QueryShape[] = [];
  const query = (filter: unknown, sort: unknown = undefined) => {
    const shape: QueryShape = { filter: skeleton(filter) };
    // In-process command monitoring hands a sort as an ordered Map, the wire as a document.
    const order = sort instanceof Map ? Object.fromEntries(sort) : sort;
    if (isDocument(order) && Object.keys(order).length > 0) shape.sort = sortOf(order);
    queries.push(shape);
  };
  if (name === 'find') query(command['filter'], command['sort']);
  else if (name === 'findAndModify') query(command['query'], command['sort']);
  else if (name === 'count' || name === 'distinct') query(command['query']);
  else if (name === 'delete' || name === 'update') {
    const statements = command[name === 'delete' ? 'deletes' : 'updates'] as { q: unknown }[];
    for (const statement of statements) query(statement.q);
  } else if (name === 'aggregate') {
    // Only a leading $match (and a $sort right after it) can use an index.
    const [first, second] = command['pipeline'] as Record<string, unknown>[];
    if (first && '$match' in first) query(first['$match'], second?.['$sort']);
    else if (first && '$sort' in first) query({}, first['$sort']);
    else query({});
  }
  return { name, collection, queries };
}

/** A filter with every value replaced by `?`; repeated `$or` branches of one shape kept once. */
export function skeleton(filter: unknown): Skeleton {
  const out: Skeleton = {};
  if (!isDocument(filter)) return out;
  for (const key of Object.keys(filter).sort()) {
    const value = filter[key];
    if (key === '$and' || key === '$or' || key === '$nor') {
      const parts = (value as unknown[]).map(skeleton);
      const unique = new Map(parts.map((part) => [JSON.stringify(part), part]));
      out[key] = [...unique].sort(([a], [b]) => a.localeCompare(b)).map(([, part]) => part);
    } else if (key.startsWith('$')) out[key] = '?';
    else out[key] = valueSkeleton(value);
  }
  return out;
}

function valueSkeleton(value: unknown): SkeletonValue {
  if (!isDocument(value)) return '?';
  const keys = Object.keys(value);
  // A sub-document without operators is matched whole: an equality.
  if (keys.length === 0 || !keys.every((key) => key.startsWith('$'))) return '?';
  const out: Skeleton = {};
  for (const key of keys.sort()) {
    const operand = value[key];
    out[key] = key === '$not' || key === '$elemMatch' ? skeleton(operand) : '?';
  }
  return out;
}

function sortOf(sort: Record<string, unknown>): [string, number][] {
  return Object.entries(sort).map(([field, direction]) => [field, Number(direction) < 0 ? -1 : 1]);
}

/** A plain document (as `bson` decodes one), not an array, date or other BSON value. */
function isDocument(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
