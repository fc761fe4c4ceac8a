import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { decodeJwt } from 'jose';
import type { Context } from 'koa';
import { InvalidGrantError, LedgerInputError } from '../../lib/errors.js';
import { openTestDatabase, type TestDatabase } from '../support/db.js';
import { ALICE, BOB, testPlugin, type TestPlugin } from '../support/plugin.js';

use(chaiAsPromised);

const MINUTE = 60_000;
const sidOf = (token: string) => decodeJwt(token)['sid'] as string;
const request = (ip: string, agent: string) => ({ ip, get: () => agent }) as unknown as Context;

for (const kind of ['memory', 'MongoDB'] as const) {
  describe(`auth.sessions [${kind}]`, () => {
    let t: TestDatabase | undefined;
    let p: TestPlugin;

    beforeEach(async () => {
      t = kind === 'MongoDB' ? await openTestDatabase('sessions_list') : undefined;
      p = await testPlugin(t?.db ?? null);
    });
    afterEach(async () => {
      await p.auth.close();
      await t?.dispose();
    });

    it("lists a user's live sessions, newest first, with login, client, refresh and expiry", async () => {
      const laptop = await p.auth.issue(ALICE, {
        source: 'saml',
        method: 'idp.example.org',
        scope: 'read',
        ctx: request('198.51.100.4', 'Laptop/1.0'),
      });
      p.clock.advance(MINUTE);
      const phone = await p.auth.issue(ALICE, {
        source: 'password',
        ctx: request('203.0.113.9', 'Phone/2.0'),
      });
      await p.auth.issue(BOB, { source: 'password' });
      p.clock.advance(MINUTE);
      await p.auth.refresh(laptop.refresh_token, request('198.51.100.5', 'Laptop/1.1'));
      const refreshedAt = new Date(p.clock());

      const sessions = await p.auth.sessions.list(ALICE.id);
      expect(sessions.map((s) => s.sid)).to.deep.equal([
        sidOf(phone.access_token),
        sidOf(laptop.access_token),
      ]);
      const [newest, oldest] = sessions;
      expect(newest).to.deep.equal({
        sid: sidOf(phone.access_token),
        sub: p.auth.subjectOf(ALICE),
        createdAt: new Date(p.clock() - MINUTE),
        refreshedAt: null,
        expiresAt: new Date(p.clock() - MINUTE + 3600_000),
        login: { source: 'password' },
        client: { ip: '203.0.113.9', userAgent: 'Phone/2.0' },
      });
      expect(oldest).to.deep.include({
        refreshedAt,
        expiresAt: new Date(refreshedAt.getTime() + 3600_000),
        login: { source: 'saml', method: 'idp.example.org' },
        client: { ip: '198.51.100.4', userAgent: 'Laptop/1.0' },
        scope: 'read',
      });
      expect(await p.auth.sessions.list({ sub: p.auth.subjectOf(ALICE) })).to.deep.equal(sessions);
    });

    it('leaves out revoked, expired and cut-off sessions', async () => {
      const expired = await p.auth.issue(ALICE, { source: 'password' });
      p.clock.advance(3600_000);
      const revoked = await p.auth.issue(ALICE, { source: 'password' });
      const live = await p.auth.issue(ALICE, { source: 'password' });
      await p.auth.revoke({ sid: sidOf(revoked.access_token) });
      const listed = (await p.auth.sessions.list(ALICE.id)).map((s) => s.sid);
      expect(listed).to.deep.equal([sidOf(live.access_token)]);
      expect(listed).to.not.include(sidOf(expired.access_token));

      await p.auth.revoke({ sub: p.auth.subjectOf(ALICE) });
      expect(await p.auth.sessions.list(ALICE.id)).to.deep.equal([]);
      p.clock.advance(1000);
      const after = await p.auth.issue(ALICE, { source: 'password' });
      expect((await p.auth.sessions.list(ALICE.id)).map((s) => s.sid)).to.deep.equal([
        sidOf(after.access_token),
      ]);
    });

    it("ends a user's other sessions and keeps the one named, recording actor and reason", async () => {
      const [one, two, three] = [
        await p.auth.issue(ALICE, { source: 'password' }),
        await p.auth.issue(ALICE, { source: 'password' }),
        await p.auth.issue(ALICE, { source: 'password' }),
      ];
      const bob = await p.auth.issue(BOB, { source: 'password' });
      const keep = sidOf(two.access_token);
      const ended = await p.auth.sessions.revokeOthers(ALICE.id, {
        keep,
        reason: 'logout_others',
        actor: 'alice',
      });
      expect(ended).to.have.members([sidOf(one.access_token), sidOf(three.access_token)]);
      expect((await p.auth.sessions.list(ALICE.id)).map((s) => s.sid)).to.deep.equal([keep]);
      await expect(p.auth.refresh(one.refresh_token)).to.be.rejectedWith(InvalidGrantError);
      await expect(p.auth.tokens.verify(two.access_token)).to.be.fulfilled;
      await expect(p.auth.tokens.verify(bob.access_token)).to.be.fulfilled;
      const revoked = await p.auth.audit.history({ sid: sidOf(one.access_token), type: 'revoked' });
      expect(revoked.events[0]!.meta).to.include({ reason: 'logout_others', actor: 'alice' });
      expect(await p.auth.sessions.revokeOthers(ALICE.id, { keep })).to.deep.equal([]);
    });

    it('ends every session of a user with one cut-off when none is kept', async () => {
      const [one, two] = [
        await p.auth.issue(ALICE, { source: 'password' }),
        await p.auth.issue(ALICE, { source: 'saml' }),
      ];
      const ended = await p.auth.sessions.revokeOthers(
        { sub: p.auth.subjectOf(ALICE) },
        { reason: 'compromised', actor: 'admin' },
      );
      expect(ended).to.have.members([sidOf(one.access_token), sidOf(two.access_token)]);
      expect(await p.auth.sessions.list(ALICE.id)).to.deep.equal([]);
      const page = await p.auth.audit.history({ user: ALICE.id, type: 'revoked' });
      expect(page.events.map((e) => [e.type, e.meta.reason, e.meta.actor])).to.deep.equal([
        ['revoked', 'compromised', 'admin'],
      ]);
      expect(await p.auth.sessions.revokeOthers(ALICE.id)).to.deep.equal([]);
    });

    it("reads a user's history by the host's user id", async () => {
      const pair = await p.auth.issue(ALICE, { source: 'password' });
      await p.auth.issue(BOB, { source: 'password' });
      await p.auth.refresh(pair.refresh_token);
      const byUser = await p.auth.audit.history({ user: 'u-alice' });
      const bySub = await p.auth.audit.history({ sub: p.auth.subjectOf(ALICE) });
      expect(byUser.events.map((e) => e.type)).to.deep.equal(['issued', 'refreshed']);
      expect(byUser).to.deep.equal(bySub);
      const numeric = await testPlugin(null);
      await numeric.auth.issue({ id: 42 }, { source: 'password' });
      expect((await numeric.auth.audit.history({ user: 42 })).events).to.have.length(1);
      await numeric.auth.close();
    });

    it('refuses a user id of the wrong shape, and a user with a sub', async () => {
      for (const bad of [{ $ne: null }, '', Number.NaN, ['u-alice'], null]) {
        await expect(p.auth.sessions.list(bad as never))
          .to.be.rejectedWith(LedgerInputError)
          .and.eventually.have.property('code', 'ERR_LEDGER_INPUT');
        await expect(p.auth.audit.history({ user: bad as never })).to.be.rejectedWith(
          LedgerInputError,
        );
      }
      await expect(p.auth.sessions.list({ sub: { $ne: null } } as never)).to.be.rejectedWith(
        LedgerInputError,
      );
      await expect(p.auth.audit.history({ user: 'u-alice', sub: 'x' })).to.be.rejectedWith(
        LedgerInputError,
      );
      await expect(
        p.auth.sessions.revokeOthers(ALICE.id, { reason: 'x'.repeat(600) }),
      ).to.be.rejectedWith(LedgerInputError);
    });
  });
}
