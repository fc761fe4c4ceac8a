/**
 * One database per spec file on the run's shared server (see fixtures.ts).
 */
import { randomBytes } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';

export function testServerUri(): string {
  const uri = process.env['JWTCONNECT_TEST_MONGODB_URI'];
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
