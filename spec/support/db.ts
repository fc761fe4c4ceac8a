/**
 * One database per spec file on the run's shared server (see fixtures.ts).
 */
import { randomBytes } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';

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
  client: MongoClient;
  db: Db;
  /** Drops the database and closes the client. */
  dispose(): Promise<void>;
}

/** A fresh, uniquely named database; call `dispose` in `after`. */
export async function openTestDatabase(label: string): Promise<TestDatabase> {
  const client = new MongoClient(testServerUri(), { serverSelectionTimeoutMS: 5000 });
  await client.connect();
  const name = `t_${label.replace(/[^a-z0-9]/gi, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const db = client.db(name);
  return {
    client,
    db,
    dispose: async () => {
      await db.dropDatabase();
      await client.close();
    },
  };
}
