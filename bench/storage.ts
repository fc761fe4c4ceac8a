/**
 * Bytes per session on MongoDB, measured: for sessions of one login and N refreshes, the BSON size
 * of their events and projection snapshots as stored, the index sizes the server reports
 * (`collStats`; a server without it is said so), and after archiving, the archived-streams index
 * entry left per session and the gzip archive bytes per session. Not run by the tests:
 *   npx tsx bench/storage.ts [refreshes...]     (default: 0 8 16; MONGODB_URI or a test server)
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { BSON, MongoClient, type Db } from 'mongodb';
import { jwtconnect } from '../lib/index.js';
import { startTestServer } from '../spec/support/mongo-server.js';

const SESSIONS = Number(process.env['SESSIONS'] ?? 40);
const counts = process.argv.slice(2).map(Number);
const refreshCounts = counts.length > 0 ? counts : [0, 8, 16];

async function bsonBytes(db: Db, name: string): Promise<number> {
  let total = 0;
  for await (const doc of db.collection(name).find({})) total += BSON.calculateObjectSize(doc);
  return total;
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
  const live = {
    events: (await bsonBytes(db, 'jwtconnect_events')) / SESSIONS,
    snapshots: (await bsonBytes(db, 'jwtconnect_state')) / SESSIONS,
    eventIndexes: ((await indexBytes(db, 'jwtconnect_events')) ?? NaN) / SESSIONS,
    stateIndexes: ((await indexBytes(db, 'jwtconnect_state')) ?? NaN) / SESSIONS,
  };
  now += 2 * 3_600_000;
  const out = join(dir, `archive-${refreshes}.ndjson.gz`);
  await auth.audit.archive({ before: new Date(now - 3_600_000), out });
  const archived = {
    indexEntry: (await bsonBytes(db, 'jwtconnect_archived')) / SESSIONS,
    indexIndexes: ((await indexBytes(db, 'jwtconnect_archived')) ?? NaN) / SESSIONS,
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
        server: hello['ferretdb']
          ? `FerretDB ${String(hello['ferretdb']['version'] ?? '')}`
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
