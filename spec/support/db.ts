/**
 * One database per spec file on the run's shared server (see fixtures.ts).
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { MongoClient, type Db } from 'mongodb';

/**
 * The `appName` of the clients through which specs read and edit a database themselves (dumps,
 * tampering, crash set-ups): their queries are not the product's, and the index coverage check
 * (wire-recorder.ts) leaves them out.
 */
export const INSPECTION_APP_NAME = 'jwtconnect-spec-inspection';

/** Set by no-server.ts, which the unit set loads instead of the server fixture. */
export const UNIT_SET_FLAG = 'JWTCONNECT_TEST_UNIT_SET';

/** Thrown where a spec of the unit set reaches for a database server. */
export class NoServerInUnitSetError extends Error {
  constructor() {
    super(
      'This spec needs the test database server, but it runs in the unit set ' +
        '(npm run test:unit, .mocharc.unit.json), which starts none. Take it out of the ' +
        "unit set's globs: npm test runs every spec with the server.",
    );
    this.name = 'NoServerInUnitSetError';
  }
}

/** Throws in the unit set, whatever server address the environment holds. */
export function assertServerAllowed(env: NodeJS.ProcessEnv = process.env): void {
  if (env[UNIT_SET_FLAG]) throw new NoServerInUnitSetError();
}

export function testServerUri(env: NodeJS.ProcessEnv = process.env): string {
  assertServerAllowed(env);
  const uri = env['JWTCONNECT_TEST_MONGODB_URI'];
  if (!uri) throw new Error('the mocha global fixture (spec/support/fixtures.ts) did not run');
  return uri;
}

export interface TestDatabase {
  /** The specs' own client (see `INSPECTION_APP_NAME`), shared by the run: do not close it. */
  client: MongoClient;
  /** The database to hand the plugin; collections a spec takes from it are read through `client`. */
  db: Db;
  /** Drops the database and closes its client. */
  dispose(): Promise<void>;
}

/** A fresh, uniquely named database; call `dispose` in `after`. */
export async function openTestDatabase(label: string): Promise<TestDatabase> {
  const client = new MongoClient(testServerUri(), { serverSelectionTimeoutMS: 5000 });
  const inspection = await openInspectionClient();
  await client.connect();
  const name = `t_${label.replace(/[^a-z0-9]/gi, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const db = inspectedBySpecs(client.db(name), inspection);
  return {
    client: inspection,
    db,
    dispose: async () => {
      await inspection.db(name).dropDatabase();
      await client.close();
    },
  };
}

let inspectionClient: Promise<MongoClient> | undefined;

/** The client of the run's server named as the specs' own, one for the run. */
export function openInspectionClient(): Promise<MongoClient> {
  inspectionClient ??= new MongoClient(testServerUri(), {
    serverSelectionTimeoutMS: 5000,
    appName: INSPECTION_APP_NAME,
  }).connect();
  return inspectionClient;
}

/** Closes the inspection client, after the last spec (fixtures.ts). */
export async function closeInspectionClient(): Promise<void> {
  const client = inspectionClient;
  inspectionClient = undefined;
  await (await client)?.close();
}

const SPECS = fileURLToPath(new URL('../', import.meta.url));

/** What a spec may do to its database itself: collections, commands, catalog, dropping it. */
const DB_METHODS = [
  'collection',
  'command',
  'aggregate',
  'listCollections',
  'createCollection',
  'dropCollection',
  'dropDatabase',
] as const;

/**
 * `db`, whose own methods answer a caller in spec/ through the inspection client: the plugin given
 * `db` queries through `db`'s own client, the spec that checks on it through `inspection`. The
 * caller is the frame right above the method (a synchronous call, so the stack always holds it).
 */
export function inspectedBySpecs(db: Db, inspection: MongoClient): Db {
  const spec = inspection.db(db.databaseName);
  for (const name of DB_METHODS) {
    const own = db[name] as (...args: unknown[]) => unknown;
    const theirs = spec[name] as (...args: unknown[]) => unknown;
    Object.defineProperty(db, name, {
      configurable: true,
      writable: true,
      value: (...args: unknown[]) => {
        const caller = new Error().stack?.split('\n')[2] ?? '';
        return caller.includes(SPECS) ? theirs.apply(spec, args) : own.apply(db, args);
      },
    });
  }
  return db;
}
