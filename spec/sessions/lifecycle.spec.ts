import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { InvalidGrantError, InvalidTokenError } from '../../lib/errors.js';
import { ledgerOf } from '../../lib/internals.js';
import { openTestDatabase, type TestDatabase } from '../support/db.js';
import { ALICE, BOB, testPlugin, type TestPlugin } from '../support/plugin.js';

use(chaiAsPromised);

describe('session lifecycle [MongoDB]', () => {
  let t: TestDatabase;
  let p: TestPlugin;

  before(async () => {
    t = await openTestDatabase('lifecycle');
    p = await testPlugin(t.db);
  });
  after(async () => {
    await p.auth.close();
    await t.dispose();
  });

  it('issues a pair after an external login and records one issued event', async () => {
    const pair = await p.auth.issue(ALICE, { source: 'saml', method: 'idp.example.org' });
    expect(pair.token_type).to.equal('Bearer');
    expect(pair.expires_in).to.equal(1800);
    const access = decodeJwt(pair.access_token);
    expect(decodeProtectedHeader(pair.access_token).typ).to.equal('at+jwt');
    expect(decodeProtectedHeader(pair.refresh_token).typ).to.equal('rt+jwt');
    expect(access).to.include({ username: 'alice', given_name: 'Alice', ttype: 'T' });
    expect(decodeJwt(pair.refresh_token)).to.not.have.property('username');
    const page = await p.auth.audit.history({ sid: access['sid'] as string });
    expect(page.events.map((e) => e.type)).to.deep.equal(['issued']);
    expect(page.events[0]!.meta).to.include({ source: 'saml', method: 'idp.example.org' });
    expect(JSON.stringify(page.events)).to.not.include(pair.access_token.split('.')[2]);
  });

  it('rotates a refresh token once and refuses its reuse, revoking the session', async () => {
    const first = await p.auth.issue(ALICE, { source: 'password' });
    const second = await p.auth.refresh(first.refresh_token);
    await expect(p.auth.tokens.verify(second.access_token)).to.be.fulfilled;
    p.clock.advance(10_000);
    await expect(p.auth.refresh(first.refresh_token)).to.be.rejectedWith(InvalidGrantError);
    await expect(p.auth.tokens.verify(second.access_token))
      .to.be.rejectedWith(InvalidTokenError)
      .and.eventually.have.property('reason', 'revoked');
    await expect(p.auth.refresh(second.refresh_token)).to.be.rejectedWith(InvalidGrantError);
    const sid = decodeJwt(first.access_token)['sid'] as string;
    const types = (await p.auth.audit.history({ sid })).events.map((e) => [e.type, e.meta.reason]);
    expect(types).to.deep.equal([
      ['issued', undefined],
      ['refreshed', undefined],
      ['revoked', 'refresh_token_reuse'],
    ]);
  });

  it('lets exactly one of many concurrent refreshes of one token succeed', async () => {
    const pair = await p.auth.issue(BOB, { source: 'oidc' });
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => p.auth.refresh(pair.refresh_token)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
    const sid = decodeJwt(pair.access_token)['sid'] as string;
    const events = (await p.auth.audit.history({ sid })).events.map((e) => e.type);
    expect(events).to.deep.equal(['issued', 'refreshed']);
  });

  it('enforces revocation by token, by session and by subject', async () => {
    const a = await p.auth.issue(ALICE, { source: 'saml' });
    const b = await p.auth.issue(ALICE, { source: 'saml' });
    await p.auth.revoke(
      { jti: decodeJwt(a.access_token).jti! },
      { reason: 'logout', actor: 'alice' },
    );
    await expect(p.auth.tokens.verify(a.access_token)).to.be.rejectedWith(InvalidTokenError);
    await expect(p.auth.refresh(a.refresh_token)).to.be.fulfilled;
    await p.auth.revoke({ sid: decodeJwt(b.access_token)['sid'] as string }, { reason: 'logout' });
    await expect(p.auth.tokens.verify(b.access_token)).to.be.rejectedWith(InvalidTokenError);
    p.clock.advance(1000);
    const c = await p.auth.issue(ALICE, { source: 'saml' });
    await p.auth.revoke(
      { sub: p.auth.subjectOf(ALICE) },
      { reason: 'compromised', actor: 'admin' },
    );
    await expect(p.auth.tokens.verify(c.access_token)).to.be.rejectedWith(InvalidTokenError);
    p.clock.advance(1000);
    const d = await p.auth.issue(ALICE, { source: 'saml' });
    await expect(p.auth.tokens.verify(d.access_token)).to.be.fulfilled;
  });

  describe('after the projection has pruned long-expired tokens', () => {
    /** A session refreshed every 50 minutes for three hours: its first tokens are pruned. */
    async function longSession() {
      const first = await p.auth.issue(BOB, { source: 'oidc' });
      let current = first;
      for (let i = 0; i < 4; i++) {
        p.clock.advance(50 * 60_000);
        current = await p.auth.refresh(current.refresh_token);
      }
      const sid = decodeJwt(first.access_token)['sid'] as string;
      const [state] = await ledgerOf(p.auth).store.loadStates([sid]);
      const jtis = (state as { tokens: { jti: string }[] }).tokens.map((token) => token.jti);
      expect(jtis, 'the first refresh token is pruned').to.not.include(
        decodeJwt(first.refresh_token).jti,
      );
      return { first, current, sid };
    }

    it('still revokes the session when its pruned, rotated refresh token is revoked by jti', async () => {
      const { first, current } = await longSession();
      const result = await p.auth.revoke(
        { jti: decodeJwt(first.refresh_token).jti! },
        { reason: 'compromised', actor: 'admin' },
      );
      expect(result.revoked).to.equal(true);
      await expect(p.auth.tokens.verify(current.access_token))
        .to.be.rejectedWith(InvalidTokenError)
        .and.eventually.have.property('reason', 'revoked');
    });

    it('answers revoke by jti of a pruned access token with revoked: false, recording nothing', async () => {
      const { first, current, sid } = await longSession();
      const before = (await p.auth.audit.history({ sid })).events.length;
      const result = await p.auth.revoke({ jti: decodeJwt(first.access_token).jti! }, {});
      expect(result.revoked).to.equal(false);
      expect((await p.auth.audit.history({ sid })).events).to.have.length(before);
      await expect(p.auth.tokens.verify(current.access_token)).to.be.fulfilled;
    });

    it('gives the whole rotation lineage, pruned tokens included', async () => {
      const { first, sid } = await longSession();
      const links = await p.auth.audit.lineage(sid);
      expect(links).to.have.length(2 + 4 * 2);
      expect(links[0]).to.include({ jti: decodeJwt(first.access_token).jti, type: 'access' });
      const spent = links.find((link) => link.jti === decodeJwt(first.refresh_token).jti);
      expect(spent?.replacedBy).to.be.a('string');
    });
  });
});
