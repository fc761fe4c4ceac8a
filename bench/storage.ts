/**
 * Bytes per session on MongoDB, measured: for sessions of one login and N refreshes, the BSON size
 * of their events, projection snapshots and personal-data keys as stored (`BSON.calculateObjectSize`
 * of each document read back: the same on any server), the bytes of their index entries (the BSON
 * size of each entry's key values plus an 8-byte record id, one entry per array element of a
 * multikey index: uncompressed, so an upper figure for WiredTiger's prefix-compressed indexes, and
 * the same on any server), the index sizes the server itself reports (`collStats`; on FerretDB
 * these are SQLite pages, not MongoDB's), and after archiving the archived-streams index entry left
 * per session and the gzip archive bytes per session. Not run by the tests:
 *   npx tsx bench/storage.ts [refreshes...]     (default: 0 16 48; MONGODB_URI or a test server)
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { BSON, MongoClient, type Db, type Document } from 'mongodb';
import { jwtconnect } from '../lib/index.js';
import { startTestServer } from '../spec/support/mongo-server.js';
import { commandLine } from './args.js';

const USAGE = `usage: npx tsx bench/storage.ts [refreshes...]

  refreshes    refreshes per session, one measurement each (default: 0 16 48)
  SESSIONS     environment: sessions per measurement (default 40)
  MONGODB_URI  environment: the server to measure on (default: a test server)`;
const cli = commandLine(USAGE, {}, { max: Infinity });
const SESSIONS = cli.number(process.env['SESSIONS'], 40, 'SESSIONS');
const counts = cli.positionals.map((text) => cli.number(text, 0, 'refreshes'));
const refreshCounts = counts.length > 0 ? counts : [0, 16, 48];
/** WiredTiger's record id beside each index key. */
const RECORD_ID_BYTES = 8;

/** The bytes of one BSON value: a one-field document with an empty name, less its framing. */
function valueBytes(value: unknown): number {
  return BSON.calculateObjectSize({ '': value ?? null }) - 7;
}

/** The values at a dotted path, through arrays as a multikey index reads them. */
function valuesAt(value: unknown, path: string[]): unknown[] {
  if (path.length === 0) return Array.isArray(value) ? value : [value];
  if (Array.isArray(value)) return value.flatMap((item) => valuesAt(item, path));
  if (value === null || typeof value !== 'object') return [null];
  const [head, ...rest] = path as [string, ...string[]];
  return valuesAt((value as Record<string, unknown>)[head], rest);
}

/** Bytes of the entries `doc` has in indexes with these key fields. */
function indexEntryBytes(doc: Document, indexes: string[][]): number {
  let total = 0;
  for (const fields of indexes) {
    const values = fields.map((field) => valuesAt(doc, field.split('.')));
    // At most one field of an index may hold an array: one entry per element of it.
    const entries = Math.max(1, ...values.map((v) => v.length));
    for (let i = 0; i < entries; i++) {
      total += RECORD_ID_BYTES;
      for (const value of values) total += valueBytes(value.length > 1 ? value[i] : value[0]);
    }
  }
  return total;
}

/** BSON bytes of a collection's documents, and the bytes of their entries in its indexes. */
async function collectionBytes(db: Db, name: string): Promise<{ bson: number; keys: number }> {
  const declared = await db.collection(name).indexes();
  const indexes = declared.map((index) => Object.keys(index.key));
  let bson = 0;
  let keys = 0;
  for await (const doc of db.collection(name).find({})) {
    bson += BSON.calculateObjectSize(doc);
    keys += indexEntryBytes(doc, indexes);
  }
  return { bson, keys };
}

async function indexBytes(db: Db, name: string): Promise<number | null> {
  try {
    const stats = await db.command({ collStats: name });
    const size = stats['totalIndexSize'];
    return typeof size === 'number' ? size : null;
  } catch (error) {
    // FerretDB v1 answers collStats, other compatible servers may not: reported as unknown.
    console.error(`collStats ${name}: ${(error as Error).message}`);
    return null;
  }
}

async function measure(db: Db, refreshes: number, dir: string) {
  let now = Date.UTC(2026, 0, 15, 12);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const auth = await jwtconnect({
    issuer: 'https://auth.example.org',
    keys: {
      privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      alg: 'ES256',
    },
    subjectSecret: 'bench-subject-secret-of-at-least-32-characters',
    // Archives take a session once no data key can open it: the 30-day retention of the
    // capacity table in docs/checkpoints.md.
    personalData: { retentionDays: 30 },
    store: { mongo: { db } },
    clock: () => now,
    logger: { warn: () => {}, error: () => {} },
  });
  for (let i = 0; i < SESSIONS; i++) {
    let pair = await auth.issue(
      { id: `user-${i}`, username: `user${i}`, email: `user${i}@example.org` },
      { source: 'saml', method: 'idp.example.org' },
    );
    for (let r = 0; r < refreshes; r++) {
      now += 1000;
      pair = await auth.refresh(pair.refresh_token);
    }
  }
  const events = await collectionBytes(db, 'jwtconnect_events');
  const state = await collectionBytes(db, 'jwtconnect_state');
  const dataKeys = await collectionBytes(db, 'jwtconnect_data_keys');
  const live = {
    events: events.bson / SESSIONS,
    snapshots: state.bson / SESSIONS,
    dataKeys: dataKeys.bson / SESSIONS,
    eventIndexEntries: events.keys / SESSIONS,
    stateIndexEntries: state.keys / SESSIONS,
    dataKeyIndexEntries: dataKeys.keys / SESSIONS,
    total:
      (events.bson + state.bson + dataKeys.bson + events.keys + state.keys + dataKeys.keys) /
      SESSIONS,
    serverEventIndexes: ((await indexBytes(db, 'jwtconnect_events')) ?? NaN) / SESSIONS,
    serverStateIndexes: ((await indexBytes(db, 'jwtconnect_state')) ?? NaN) / SESSIONS,
  };
  // Past the retention of the month the sessions ran in: their data keys expire, then they
  // are archivable.
  now += 62 * 86_400_000;
  await auth.personalData.expire();
  const out = join(dir, `archive-${refreshes}.ndjson.gz`);
  const run = await auth.audit.archive({ before: new Date(now - 3_600_000), out });
  if (run.streams !== SESSIONS) {
    throw new Error(`archived ${run.streams} of ${SESSIONS} sessions (${run.leftForKeys} kept)`);
  }
  const index = await collectionBytes(db, 'jwtconnect_archived');
  const archived = {
    indexEntry: index.bson / SESSIONS,
    indexEntryKeys: index.keys / SESSIONS,
    serverIndexes: ((await indexBytes(db, 'jwtconnect_archived')) ?? NaN) / SESSIONS,
    fileGzip: (await stat(out)).size / SESSIONS,
  };
  await auth.close();
  return { refreshes, eventsPerSession: refreshes + 1, live, archived };
}

const server = process.env['MONGODB_URI'] ? undefined : await startTestServer();
const uri = process.env['MONGODB_URI'] ?? (server?.uri as string);
const client = new MongoClient(uri);
await client.connect();
const dir = await mkdtemp(join(tmpdir(), 'jwtconnect-storage-'));
const rows = [];
try {
  const hello = await client.db('admin').command({ buildInfo: 1 });
  for (const refreshes of refreshCounts) {
    const db = client.db(`bench_storage_${refreshes}`);
    await db.dropDatabase();
    rows.push(await measure(db, refreshes, dir));
    console.error(`measured ${SESSIONS} sessions of ${refreshes} refreshes`);
    await db.dropDatabase();
  }
  const round = (value: unknown): unknown =>
    typeof value === 'number'
      ? Number.isNaN(value)
        ? null
        : Math.round(value)
      : value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, round(v)]))
        : value;
  console.log(
    JSON.stringify(
      {
        // FerretDB answers buildInfo with the MongoDB version it emulates, and its own beside it.
        server: hello['ferretdbVersion']
          ? `FerretDB ${String(hello['ferretdbVersion'])} (reports MongoDB ${String(hello['version'])})`
          : `MongoDB ${String(hello['version'])}`,
        sessions: SESSIONS,
        rows: rows.map(round),
      },
      null,
      2,
    ),
  );
} finally {
  await client.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
}
