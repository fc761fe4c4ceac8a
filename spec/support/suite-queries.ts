/**
 * The check run once after the whole suite (a root hook in fixtures.ts): every query the product
 * sent to the test server, whatever sent it (the plugin, the CLI, the tools), is served by an index
 * the MongoDB store declares. The declarations are read from the store's modules, not from the
 * server, so a declaration removed there fails here.
 */
import type { IndexDescription } from 'mongodb';
import {
  ARCHIVE_INDEXES,
  ARCHIVED_INDEXES,
  CHECKPOINT_INDEXES,
} from '../../lib/ledger/mongo-archive.js';
import {
  DATA_KEY_INDEXES,
  DEFAULT_COLLECTIONS,
  EVENT_INDEXES,
  STATE_INDEXES,
} from '../../lib/ledger/mongo-store.js';
import { keysOf, servedBy, type IndexKeys } from './index-coverage.js';
import { QUERY_COMMANDS, skeleton } from './query-shape.js';
import type { RecordedShape } from './wire-recorder.js';

/** Each collection of the store, by what it holds, with the indexes declared for it. */
export const DECLARED_INDEXES: Record<string, readonly IndexDescription[]> = {
  events: EVENT_INDEXES,
  state: STATE_INDEXES,
  dataKeys: DATA_KEY_INDEXES,
  checkpoints: CHECKPOINT_INDEXES,
  archives: ARCHIVE_INDEXES,
  archived: ARCHIVED_INDEXES,
};

const DEFAULT_NAMES: Record<string, string> = {
  [DEFAULT_COLLECTIONS.events]: 'events',
  [DEFAULT_COLLECTIONS.state]: 'state',
  [DEFAULT_COLLECTIONS.dataKeys]: 'dataKeys',
  jwtconnect_checkpoints: 'checkpoints',
  jwtconnect_archives: 'archives',
  jwtconnect_archived: 'archived',
};

/**
 * Commands that select no documents by a filter, so no index can serve or fail them: each is
 * answered without reading a collection's documents, or continues a query checked already.
 */
const NO_QUERY: Record<string, string> = {
  hello: 'handshake and server monitoring',
  isMaster: 'handshake (legacy name)',
  ismaster: 'handshake (legacy name)',
  ping: 'liveness',
  buildInfo: 'server version',
  endSessions: 'releases server sessions at close',
  insert: 'adds documents; the unique indexes it checks are declared',
  createIndexes: 'creates the declared indexes',
  listIndexes: 'reads the catalog of a collection',
  listCollections: 'reads the catalog of a database (opening a ledger read-only)',
  listDatabases: 'reads the catalog of the server (where is the ledger?)',
  getMore: 'continues a cursor whose query was checked when it was opened',
  killCursors: 'closes a cursor',
  dropDatabase: 'removes a whole database (a command recorder disposing of its own)',
};

/**
 * Queries that need no index, each with why: `role command filter` as in a finding's line.
 */
const UNINDEXED: Record<string, string> = {
  // `countEvents()` (countDocuments): the progress total of `audit verify` and `projection
  // rebuild`, which then read every event anyway; an index would not spare that read.
  'aggregate events {}': 'a count of the whole log, before a walk of the whole log',
};

/** Where and how each unserved query was sent, one line each; empty when all are served. */
export function unservedQueries(
  shapes: readonly RecordedShape[],
  created: ReadonlyMap<string, ReadonlySet<string>>,
): string[] {
  const declared = new Map(
    Object.entries(DECLARED_INDEXES).map(([role, list]) => [role, keysOf(list)] as const),
  );
  const findings = new Map<string, number>();
  const report = (line: string, count: number) => {
    findings.set(line, (findings.get(line) ?? 0) + count);
  };
  for (const shape of shapes) {
    if (!QUERY_COMMANDS.has(shape.name)) {
      if (!(shape.name in NO_QUERY)) {
        report(`${shape.name}: a command this check does not know; classify it`, shape.count);
      }
      continue;
    }
    const role = roleOf(shape.db, shape.collection, created);
    const indexes: readonly IndexKeys[] | undefined = role ? declared.get(role) : undefined;
    for (const query of shape.queries) {
      if (indexes && servedBy(query, indexes)) continue;
      const where = role ?? `${shape.collection} (not a collection of the store)`;
      const sort = query.sort ? ` sort ${JSON.stringify(Object.fromEntries(query.sort))}` : '';
      const line = `${shape.name} ${where} ${JSON.stringify(query.filter)}${sort}`;
      if (!(line in UNINDEXED)) report(line, shape.count);
    }
  }
  return [...findings].map(([line, count]) => `${line} (sent ${count}x)`).sort();
}

/**
 * What a collection holds: from the indexes the store gave it (collection names are options),
 * else from its default name.
 */
function roleOf(
  db: string,
  collection: string,
  created: ReadonlyMap<string, ReadonlySet<string>>,
): string | undefined {
  const names = created.get(`${db}.${collection}`);
  if (names && names.size > 0) {
    const matches = Object.entries(DECLARED_INDEXES).filter(([, list]) =>
      [...names].every((name) => list.some((index) => index.name === name)),
    );
    if (matches.length === 1) return matches[0]![0];
  }
  return DEFAULT_NAMES[collection];
}

/** A command as the driver's command monitoring hands it (bench/command-counts.ts). */
interface MonitoredCommand {
  name: string;
  collection: string;
  queries: { filter: Record<string, unknown>; sort?: Record<string, number> }[];
}

/** `unservedQueries` for commands recorded in process on the store's default collections. */
export function unservedCommands(commands: readonly MonitoredCommand[]): string[] {
  const shapes = commands.map((command) => ({
    ...command,
    queries: command.queries.map(({ filter, sort }) => ({
      filter: skeleton(filter),
      ...(sort && { sort: Object.entries(sort) }),
    })),
    db: '',
    count: 1,
  }));
  return unservedQueries(shapes, new Map());
}
