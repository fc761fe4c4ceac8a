/**
 * Commands that only read create nothing on the server, and a database without a ledger is an
 * error naming the databases that have one, never an empty answer. Checked on the run's real test
 * server by listing its databases, collections and indexes before and after.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import type { Db, MongoClient } from 'mongodb';
import { openTestDatabase, testServerUri, type TestDatabase } from '../support/db.js';
import { ALICE, testPlugin, type TestPlugin } from '../support/plugin.js';
import { cli, cliOn } from './run.js';

async function databaseNames(client: MongoClient): Promise<string[]> {
  const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
  return databases.map(({ name }) => name).sort();
}

/** Every collection of `db` with the names of its indexes. */
async function layout(db: Db): Promise<Record<string, string[]>> {
  const collections = await db.listCollections({}, { nameOnly: true }).toArray();
  const entries = await Promise.all(
    collections.map(async ({ name }) => {
      const indexes = await db.collection(name).indexes();
      return [name, indexes.map((index) => String(index.name)).sort()] as const;
    }),
  );
  return Object.fromEntries(entries);
}

const READ_ONLY: readonly (readonly string[])[] = [
  ['audit', 'history', '--sid', 'some-session'],
  ['audit', 'verify', '--no-progress'],
  ['projection', 'rebuild', '--dry-run', '--no-progress'],
];

describe('koa-jwtconnect read-only commands [real binary, MongoDB]', () => {
  let t: TestDatabase;
  let p: TestPlugin;
  let sid: string;
  before(async () => {
    t = await openTestDatabase('cli_read_only');
    p = await testPlugin(t.db);
    const pair = await p.auth.issue(ALICE, { source: 'saml' });
    sid = decodeJwt(pair.access_token)['sid'] as string;
  });
  after(async () => {
    await p.auth.close();
    await t.dispose();
  });

  for (const args of READ_ONLY) {
    it(`exits 2 on a database without a ledger, naming those with one, and creates it not [${args.slice(0, 2).join(' ')}]`, async () => {
      const missing = `t_no_ledger_${randomBytes(4).toString('hex')}`;
      const before = await databaseNames(t.client);
      const { code, stdout, stderr } = await cliOn(testServerUri(), missing)(args);
      expect(code).to.equal(2);
      expect(stdout).to.equal('');
      const [line] = stderr.split('\n');
      expect(line).to.match(
        new RegExp(
          `^error: database "${missing}" has no ledger \\(no "jwtconnect_events" collection\\); ` +
            'databases with a ledger: .*Choose one with --db <name>$',
        ),
      );
      expect(line).to.include(t.db.databaseName);
      expect(await databaseNames(t.client)).to.deep.equal(before);
    });
  }

  it('uses the default database when the URI names none and --db is absent, and still requires it', async () => {
    const before = await databaseNames(t.client);
    // Precondition: no spec of this run leaves a ledger in the default database.
    expect(before).to.not.include('jwtconnect');
    const uri = `${testServerUri().replace(/\/[^/]*$/, '')}/`;
    const { code, stderr } = await cli(['audit', 'history', '--sid', 'some-session'], {
      MONGODB_URI: uri,
    });
    expect(code).to.equal(2);
    expect(stderr).to.match(/^error: database "jwtconnect" has no ledger/);
    expect(await databaseNames(t.client)).to.deep.equal(before);
  });

  it('reads an existing ledger without creating an index that is missing', async () => {
    const run = cliOn(testServerUri(), t.db.databaseName);
    await t.db.collection('jwtconnect_events').dropIndex('sub_time_stream_seq');
    const before = await layout(t.db);
    expect(before['jwtconnect_events']).to.not.include('sub_time_stream_seq');
    for (const args of [['audit', 'history', '--sid', sid], ...READ_ONLY.slice(1)]) {
      const { code, stderr } = await run(args);
      expect(code, stderr).to.equal(0);
    }
    expect(await layout(t.db)).to.deep.equal(before);
  });

  it('reads an existing ledger without creating a collection that is missing', async () => {
    await t.db.collection('jwtconnect_state').drop();
    const before = await layout(t.db);
    expect(before).to.not.have.property('jwtconnect_state');
    const history = await cliOn(
      testServerUri(),
      t.db.databaseName,
    )(['audit', 'history', '--sid', sid]);
    expect(history.code, history.stderr).to.equal(0);
    expect(history.stderr).to.include('1 event');
    expect(await layout(t.db)).to.deep.equal(before);
  });
});
