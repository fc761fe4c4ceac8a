/**
 * What each operation costs on MongoDB, counted in commands and sequential round trips (the
 * driver's command monitoring). Counts are the same on any MongoDB-compatible server, so these
 * budgets hold on MongoDB although the run may use FerretDB. The table in docs/performance.md is
 * printed by this spec (`COMMAND_COUNTS=1`).
 */
import { join } from 'node:path';
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import { ledgerOf } from '../../lib/internals.js';
import { CommandRecorder, type Measured } from '../support/command-recorder.js';
import { servedBy } from '../support/index-coverage.js';
import { tempDir } from '../support/keys.js';
import { postForm, startApp, type TestApp } from '../support/http.js';
import { ALICE, ADMIN, BOB, testPlugin, type TestPlugin } from '../support/plugin.js';

describe('MongoDB command counts per operation', () => {
  let recorder: CommandRecorder;
  let plugin: TestPlugin;
  let app: TestApp;
  const table: [string, Measured][] = [];

  before(async () => {
    recorder = await CommandRecorder.open('counts');
    plugin = await testPlugin(recorder.db);
    app = await startApp(plugin.auth);
  });
  after(async () => {
    if (process.env['COMMAND_COUNTS']) {
      for (const [name, m] of table) {
        const names = m.commands.map((c) => `${c.name} ${c.collection}`).join(', ');
        process.stdout.write(`| ${name} | ${m.commands.length} | ${m.roundTrips} | ${names} |\n`);
      }
    }
    await app.close();
    await plugin.auth.close();
    await recorder.dispose();
  });

  async function measure(name: string, action: () => Promise<unknown>): Promise<Measured> {
    const measured = await recorder.measure(action);
    table.push([name, measured]);
    return measured;
  }

  it('checks a Bearer token with one command', async () => {
    const tokens = await plugin.auth.issue(ALICE, { source: 'test' });
    const m = await measure('Bearer check', () => plugin.auth.tokens.verify(tokens.access_token));
    expect(m.commands).to.have.length(1);
  });

  it('issues a session in at most 3 sequential round trips', async () => {
    const m = await measure('issue', () => plugin.auth.issue(ALICE, { source: 'test' }));
    expect(m.roundTrips).to.be.at.most(3);
  });

  it('refreshes in at most 4 sequential round trips, the state load included', async () => {
    const first = await plugin.auth.issue(ALICE, { source: 'test' });
    const m = await measure('refresh', () => plugin.auth.refresh(first.refresh_token));
    expect(m.roundTrips).to.be.at.most(4);
    const second = await plugin.auth
      .refresh((await plugin.auth.refresh(first.refresh_token).catch(() => first)).refresh_token)
      .catch(() => first);
    expect(second.refresh_token).to.be.a('string');
  });

  it('introspects a token with 2 commands, the caller’s Bearer check included', async () => {
    const caller = await plugin.auth.issue(ADMIN, { source: 'test', scope: 'introspection' });
    const target = await plugin.auth.issue(ALICE, { source: 'test' });
    const bearer = { authorization: `Bearer ${caller.access_token}` };
    const url = `${app.url}/token/introspection`;
    const byToken = await measure('introspection by token (route, with the caller check)', () =>
      postForm(url, { token: target.access_token }, bearer),
    );
    expect(byToken.commands.length).to.be.at.most(2);
    const jti = JSON.parse(Buffer.from(target.access_token.split('.')[1]!, 'base64url').toString())
      .jti as string;
    const byJti = await measure('introspection by jti (route, with the caller check)', () =>
      postForm(url, { jti }, bearer),
    );
    // By jti: the token's session is found first (two reads: a match may be an older snapshot),
    // then read with its subject.
    expect(byJti.commands.length - 1).to.be.at.most(3);
  });

  it('counts revocations of a token, a session and a subject', async () => {
    const tokens = await plugin.auth.issue(ALICE, { source: 'test' });
    const claims = (await plugin.auth.tokens.verify(tokens.access_token)).claims;
    const token = await measure('revoke { jti }', () => plugin.auth.revoke({ jti: claims.jti }));
    const session = await measure('revoke { sid }', () => plugin.auth.revoke({ sid: claims.sid }));
    const subject = await measure('revoke { sub }', () => plugin.auth.revoke({ sub: claims.sub }));
    expect(token.roundTrips).to.be.at.most(6);
    for (const m of [session, subject]) expect(m.roundTrips).to.be.at.most(5);
  });

  it('reads a history page in two round trips: its events (and archived sessions), then their data keys', async () => {
    const sub = plugin.auth.subjectOf(ALICE);
    const m = await measure('history page', () => plugin.auth.audit.history({ sub, limit: 20 }));
    expect(m.commands.map((c) => c.collection)).to.have.members([
      'jwtconnect_archived',
      'jwtconnect_events',
      'jwtconnect_data_keys',
    ]);
    expect(m.roundTrips).to.be.at.most(2);
  });

  it('refreshes on another instance in at most 4 round trips once it holds the data key', async () => {
    const other = await testPlugin(recorder.db);
    try {
      const carol = { id: 'u-carol', username: 'carol' };
      const warm = await plugin.auth.issue(carol, { source: 'test' });
      await other.auth.refresh(warm.refresh_token);
      const first = await plugin.auth.issue(carol, { source: 'test' });
      const m = await measure('refresh (another instance)', () =>
        other.auth.refresh(first.refresh_token),
      );
      expect(m.roundTrips).to.be.at.most(4);
    } finally {
      await other.auth.close();
    }
  });

  it('completes a projection the log is ahead of in a bounded number of round trips', async () => {
    const { auth } = await testPlugin(recorder.db);
    const tokens = await auth.issue(BOB, { source: 'test' });
    const { sid, sub } = (await auth.tokens.verify(tokens.access_token)).claims;
    await auth.refresh(tokens.refresh_token);
    // The refresh's projection write lost: its snapshot gone, its pending mark left behind.
    const state = recorder.db.collection('jwtconnect_state');
    const [latest] = await ledgerOf(auth).store.loadStates([sid]);
    await state.deleteMany({ stream: sid, seq: latest!.seq });
    await ledgerOf(auth).store.markPending(sid, latest!.seq);
    const m = await measure('projection catch-up (session read behind the log)', () =>
      ledgerOf(auth).loadSession(sid, sub),
    );
    expect(m.roundTrips).to.be.at.most(4);
    expect((await ledgerOf(auth).loadSession(sid, sub)).session?.seq).to.equal(latest!.seq);
    await auth.close();
  });

  it('archives with one query per 500 sessions for their first events, their ciphertexts and their data keys', async () => {
    const dir = await tempDir();
    try {
      const plain = await plugin.auth.issue({ id: 'u-counts-plain' }, { source: 'test' });
      const held = await plugin.auth.issue({ ...ALICE, id: 'u-counts-held' }, { source: 'test' });
      for (const pair of [plain, held]) {
        await plugin.auth.revoke({ sid: decodeJwt(pair.access_token)['sid'] as string });
      }
      // Past the checkpoint's settle time: the revocations are in the tree it signs.
      plugin.clock.advance(60_000);
      const out = join(dir.path, 'counts.ndjson.gz');
      let result: { streams: number; leftForKeys: number } | undefined;
      const m = await measure('archive (one run, a few sessions)', async () => {
        result = await plugin.auth.audit.archive({ before: new Date(plugin.clock()), out });
      });
      expect(result?.streams).to.be.at.least(1);
      expect(result?.leftForKeys).to.be.at.least(1);
      const count = (name: string, collection: string) =>
        m.commands.filter((c) => c.name === name && c.collection === collection).length;
      expect(count('find', 'jwtconnect_data_keys')).to.equal(1);
      expect(count('delete', 'jwtconnect_events')).to.equal(1);
      expect(count('delete', 'jwtconnect_state')).to.equal(1);
    } finally {
      await dir.dispose();
    }
  });

  it('sends only queries a declared index serves', async () => {
    const indexes = new Map<string, string[][]>();
    for (const name of [
      'jwtconnect_events',
      'jwtconnect_state',
      'jwtconnect_data_keys',
      'jwtconnect_archived',
      'jwtconnect_checkpoints',
      'jwtconnect_archives',
    ]) {
      const declared = await recorder.db.collection(name).indexes();
      indexes.set(
        name,
        declared.map((index) => Object.keys(index.key)),
      );
    }
    if (process.env['COMMAND_COUNTS'] === 'queries') {
      for (const c of recorder.all)
        process.stdout.write(`${c.name} ${c.collection} ${JSON.stringify(c.queries)}\n`);
    }
    const unserved = recorder.all.flatMap((command) =>
      command.queries
        .filter((query) => !servedBy(query, indexes.get(command.collection) ?? []))
        .map((query) => `${command.name} ${command.collection} ${JSON.stringify(query)}`),
    );
    expect(unserved).to.deep.equal([]);
  });
});
