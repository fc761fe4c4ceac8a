import { InvalidGrantError } from '../../lib/errors.js';
import { expect } from '../ledger/expect.js';
import { decodeJwt } from 'jose';
import { openTestDatabase, testServerUri, type TestDatabase } from '../support/db.js';
import { SUBJECT_SECRET, testPlugin, type TestPlugin } from '../support/plugin.js';
import { DISTINCT, ZELDA, request } from '../personal-data/support.js';
import { cli } from './run.js';

describe('koa-jwtconnect subject erase, personal-data expire [real binary, MongoDB]', () => {
  let t: TestDatabase;
  let p: TestPlugin;
  let sub: string;
  let refreshToken: string;
  const run = (args: readonly string[], secret = true) =>
    cli(['--db', t.db.databaseName, ...args], {
      MONGODB_URI: testServerUri(),
      JWTCONNECT_SUBJECT_SECRET: secret ? SUBJECT_SECRET : undefined,
    });
  const historyJson = async (secret: boolean) => {
    const result = await run(['audit', 'history', '--sub', sub, '--json'], secret);
    expect(result.code, result.stderr).to.equal(0);
    return JSON.parse(result.stdout) as { type: string; personal?: string; meta: object }[];
  };

  before(async () => {
    t = await openTestDatabase('cli_personal');
    p = await testPlugin(t.db);
    sub = p.auth.subjectOf(ZELDA);
    const ctx = request(DISTINCT.ips[0] as string, DISTINCT.agents[0] as string);
    const pair = await p.auth.issue(ZELDA, { source: 'saml', ctx });
    refreshToken = pair.refresh_token;
    expect(decodeJwt(pair.access_token)).to.include({ email: DISTINCT.email });
    await p.auth.issue({ id: 'u-other' }, { source: 'saml', ctx });
  });
  after(async () => {
    await p.auth.close();
    await t.dispose();
  });

  it('audit history decrypts personal fields with the subject secret, and marks them without it', async () => {
    const clear = await historyJson(true);
    expect(clear[0]).to.deep.include({
      personal: 'decrypted',
      claims: { username: ZELDA.username, given_name: DISTINCT.givenName, email: DISTINCT.email },
    });
    expect(clear[0]?.meta).to.include({ ip: DISTINCT.ips[0], userAgent: DISTINCT.agents[0] });
    const locked = await historyJson(false);
    expect(locked[0]?.personal).to.equal('unavailable');
    expect(JSON.stringify(locked)).to.not.include(DISTINCT.email).and.not.include('198.51');
    const table = await run(['audit', 'history', '--sub', sub], false);
    expect(table.stdout).to.include('(unavailable)');
  });

  it('subject erase --user erases the subject once, then has nothing to erase', async () => {
    const noSecret = await run(['subject', 'erase', '--user', ZELDA.id], false);
    expect(noSecret.code).to.equal(2);
    expect(noSecret.stderr).to.include('JWTCONNECT_SUBJECT_SECRET');

    const first = await run(['subject', 'erase', '--user', ZELDA.id, '--actor', 'dpo']);
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout).to.include(`erased ${sub}`).and.include('1 data key destroyed');
    const again = await run(['subject', 'erase', '--sub', sub]);
    expect(again.stdout).to.include('nothing to erase');

    const events = await historyJson(true);
    expect(events.map((event) => event.type)).to.deep.equal(['issued', 'revoked', 'erased']);
    expect(events[0]?.personal).to.equal('erased');
    expect((await run(['audit', 'verify', '--no-progress'])).code).to.equal(0);
    expect((await run(['projection', 'rebuild', '--dry-run', '--no-progress'])).code).to.equal(0);
    await expect(p.auth.refresh(refreshToken)).to.be.rejectedWith(InvalidGrantError);
  });

  it('personal-data expire destroys the keys of months past retention', async () => {
    // The plugin's clock is in January 2026; the CLI's is the real one, months later.
    const result = await run(['personal-data', 'expire', '--retention-days', '30']);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/: 1 data keys destroyed, 0 kept/);
    const other = await run([
      'audit',
      'history',
      '--sub',
      p.auth.subjectOf({ id: 'u-other' }),
      '--json',
    ]);
    expect((JSON.parse(other.stdout) as { personal?: string }[])[0]?.personal).to.equal('expired');
  });
});
