/**
 * POST /token/introspection over HTTP (RFC 7662): the caller's own tokens, the introspection scope,
 * `{"active": false}` for everything else, and the 401s of a missing or bad caller.
 */
import { expect } from 'chai';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { ledgerOf } from '../../lib/internals.js';
import { oneInstance } from '../support/instances.js';
import {
  bearer,
  postForm,
  postJson,
  postRaw,
  startApp,
  type HeaderMap,
  type TestApp,
} from '../support/http.js';
import { newKeyPair } from '../support/keys.js';
import { ADMIN, ALICE, BOB, TEST_ISSUER, testPlugin, type TestPlugin } from '../support/plugin.js';
import { signRaw } from '../support/tokens.js';

describe('POST /token/introspection [MongoDB, HTTP]', () => {
  let p: TestPlugin;
  let app: TestApp;
  let url: string;
  let close: () => Promise<void>;

  before(async () => {
    ({ p, app, close } = await oneInstance('routes_introspection'));
    url = `${app.url}/token/introspection`;
  });
  after(() => close());

  it('describes an active access token of the caller’s own subject, found by token and by jti', async () => {
    const pair = await p.auth.issue(ALICE, { source: 'saml', scope: 'read' });
    const claims = decodeJwt(pair.access_token);
    const expected = {
      active: true,
      sub: claims.sub,
      jti: claims.jti,
      sid: claims['sid'],
      iat: claims.iat,
      exp: claims.exp,
      iss: TEST_ISSUER,
      scope: 'read',
      token_type: 'Bearer',
      ttype: 'T',
      username: 'alice',
    };
    const byToken = await postJson(url, { token: pair.access_token }, bearer(pair.access_token));
    expect(byToken.status).to.equal(200);
    expect(byToken.body).to.deep.equal(expected);
    expect(byToken.headers.get('cache-control')).to.equal('no-store');
    expect(byToken.headers.get('pragma')).to.equal('no-cache');
    const byJti = await postForm(url, { jti: claims.jti! }, bearer(pair.access_token));
    expect(byJti.status).to.equal(200);
    expect(byJti.body).to.deep.equal(expected);
  });

  it('describes an active refresh token as token_type refresh_token, whatever the hint says', async () => {
    const pair = await p.auth.issue(ALICE, { source: 'saml' });
    const refresh = decodeJwt(pair.refresh_token);
    for (const hint of [undefined, 'refresh_token', 'access_token', 'something_else']) {
      const reply = await postJson(
        url,
        { token: pair.refresh_token, ...(hint !== undefined && { token_type_hint: hint }) },
        bearer(pair.access_token),
      );
      expect(reply.status).to.equal(200);
      expect(reply.body).to.include({
        active: true,
        jti: refresh.jti,
        token_type: 'refresh_token',
        ttype: 'R',
        exp: refresh.exp,
      });
    }
  });

  it('answers exactly {"active": false} for another subject’s token without the introspection scope', async () => {
    const alice = await p.auth.issue(ALICE, { source: 'saml' });
    const bob = await p.auth.issue(BOB, { source: 'saml', scope: 'read write' });
    for (const params of [
      { token: alice.access_token },
      { token: alice.refresh_token },
      { jti: decodeJwt(alice.access_token).jti! },
    ]) {
      const reply = await postJson(url, params, bearer(bob.access_token));
      expect(reply.status).to.equal(200);
      expect(reply.text).to.equal('{"active":false}');
    }
  });

  it('describes any subject’s token to a caller with the introspection scope', async () => {
    const alice = await p.auth.issue(ALICE, { source: 'saml' });
    const admin = await p.auth.issue(ADMIN, { source: 'saml', scope: 'introspection' });
    const reply = await postJson(url, { token: alice.access_token }, bearer(admin.access_token));
    expect(reply.status).to.equal(200);
    expect(reply.body).to.include({ active: true, sub: decodeJwt(alice.access_token).sub });
  });

  it('answers {"active": false} for unknown, garbage, forged, rotated, revoked and expired tokens', async () => {
    const caller = await p.auth.issue(ALICE, { source: 'saml', scope: 'introspection' });
    const rotated = await p.auth.issue(ALICE, { source: 'saml' });
    await p.auth.refresh(rotated.refresh_token);
    const revoked = await p.auth.issue(ALICE, { source: 'saml' });
    await p.auth.revoke({ jti: decodeJwt(revoked.access_token).jti! }, { reason: 'logout' });
    const attacker = await newKeyPair('ES256');
    const forged = await signRaw(
      attacker.privateKey,
      decodeProtectedHeader(caller.access_token) as { alg: string },
      decodeJwt(caller.access_token),
    );
    const expiring = await p.auth.issue(ALICE, { source: 'saml' });
    p.clock.advance(1200 * 1000);
    const expiringAccess = { token: expiring.access_token };
    const caller2 = await p.auth.issue(ALICE, { source: 'saml', scope: 'introspection' });
    p.clock.advance(700 * 1000);

    for (const params of [
      { jti: 'no-such-token-id' },
      { token: 'garbage' },
      { token: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' },
      { token: forged },
      { token: rotated.refresh_token },
      { token: revoked.access_token },
      expiringAccess,
    ]) {
      const reply = await postJson(url, params, bearer(caller2.access_token));
      expect(reply.status, JSON.stringify(params)).to.equal(200);
      expect(reply.body, JSON.stringify(params)).to.deep.equal({ active: false });
    }
  });

  it('answers {"active": false} by jti for rotated, revoked, expired and pruned tokens', async () => {
    const jtiOf = (token: string) => decodeJwt(token).jti!;
    const rotated = await p.auth.issue(ALICE, { source: 'saml' });
    await p.auth.refresh(rotated.refresh_token);
    const revoked = await p.auth.issue(ALICE, { source: 'saml' });
    await p.auth.revoke({ jti: jtiOf(revoked.access_token) }, { reason: 'logout' });
    const pruned = await p.auth.issue(ALICE, { source: 'saml' });
    const expiring = await p.auth.issue(ALICE, { source: 'saml' });
    // Past the access tokens' expiry by more than the hour the projection keeps them; the next
    // event of `pruned`'s session drops its access token from the state (the log keeps it).
    p.clock.advance((1800 + 3600 + 60) * 1000);
    await p.auth.revoke({ sid: decodeJwt(pruned.access_token)['sid'] as string });
    const caller = await p.auth.issue(ALICE, { source: 'saml', scope: 'introspection' });
    for (const token of [
      rotated.refresh_token,
      revoked.access_token,
      expiring.access_token,
      pruned.access_token,
    ]) {
      const reply = await postJson(url, { jti: jtiOf(token) }, bearer(caller.access_token));
      expect(reply.status).to.equal(200);
      expect(reply.text, token).to.equal('{"active":false}');
    }
    const [state] = await ledgerOf(p.auth).store.loadStates([
      decodeJwt(pruned.access_token)['sid'] as string,
    ]);
    expect(state?.kind === 'session' && state.tokens.map((token) => token.jti)).to.not.include(
      jtiOf(pruned.access_token),
    );
  });

  it('answers 401 with WWW-Authenticate: Bearer without a caller token', async () => {
    const pair = await p.auth.issue(ALICE, { source: 'saml' });
    const headerSets: HeaderMap[] = [{}, { authorization: 'Basic YWxpY2U6YWxpY2U=' }];
    for (const headers of headerSets) {
      const reply = await postJson(url, { token: pair.access_token }, headers);
      expect(reply.status).to.equal(401);
      expect(reply.headers.get('www-authenticate')).to.equal('Bearer');
      expect(reply.body['error']).to.equal('invalid_request');
      expect(reply.text).to.not.include(pair.access_token);
    }
  });

  it('answers 401 invalid_token for a garbage, refresh, revoked or expired caller token', async () => {
    const revoked = await p.auth.issue(BOB, { source: 'saml' });
    await p.auth.revoke({ sid: decodeJwt(revoked.access_token)['sid'] as string });
    const expiring = await p.auth.issue(BOB, { source: 'saml' });
    p.clock.advance(1900 * 1000);
    const fresh = await p.auth.issue(BOB, { source: 'saml' });
    const asked = [{ token: fresh.access_token }, { jti: decodeJwt(fresh.access_token).jti! }];
    for (const caller of [
      'garbage',
      fresh.refresh_token,
      revoked.access_token,
      expiring.access_token,
    ]) {
      // By jti, the caller's ledger check runs after the body is read: it refuses all the same.
      for (const params of asked) {
        const reply = await postJson(url, params, bearer(caller));
        expect(reply.status, JSON.stringify(params)).to.equal(401);
        expect(reply.headers.get('www-authenticate')).to.match(/^Bearer error="invalid_token"/);
        expect(reply.body['error']).to.equal('invalid_token');
        expect(reply.headers.get('cache-control')).to.equal('no-store');
        expect(reply.text).to.not.include('active');
      }
    }
  });

  it('answers 401, not 400, to a revoked caller whatever its body holds', async () => {
    const revoked = await p.auth.issue(BOB, { source: 'saml' });
    await p.auth.revoke({ sid: decodeJwt(revoked.access_token)['sid'] as string });
    for (const reply of [
      await postJson(url, {}, bearer(revoked.access_token)),
      await postJson(url, { jti: 42 }, bearer(revoked.access_token)),
      await postRaw(url, '{"jti":', 'application/json', bearer(revoked.access_token)),
    ]) {
      expect(reply.status, reply.text).to.equal(401);
      expect(reply.body['error']).to.equal('invalid_token');
    }
  });

  it('finds a token by jti with the bounded-staleness revocation view as well, and never a revoked one', async () => {
    const viewed = await testPlugin(null, { revocation: { maxStalenessMs: 1000 } });
    const served = await startApp(viewed.auth);
    try {
      const caller = await viewed.auth.issue(ADMIN, { source: 'saml', scope: 'introspection' });
      const target = await viewed.auth.issue(ALICE, { source: 'saml' });
      const jti = decodeJwt(target.access_token).jti!;
      const at = `${served.url}/token/introspection`;
      const active = await postForm(at, { jti }, bearer(caller.access_token));
      expect(active.body).to.include({ active: true, jti });
      await viewed.auth.revoke({ sub: decodeJwt(target.access_token).sub! });
      const inactive = await postForm(at, { jti }, bearer(caller.access_token));
      expect(inactive.body).to.deep.equal({ active: false });
    } finally {
      await served.close();
      await viewed.auth.close();
    }
  });

  it('answers 400 invalid_request without "token" or "jti", and with both', async () => {
    const pair = await p.auth.issue(ALICE, { source: 'saml' });
    for (const reply of [
      await postJson(url, {}, bearer(pair.access_token)),
      await postJson(url, { token_type_hint: 'access_token' }, bearer(pair.access_token)),
      await postJson(
        url,
        { token: pair.access_token, jti: decodeJwt(pair.access_token).jti },
        bearer(pair.access_token),
      ),
      await postRaw(url, '', 'application/json', bearer(pair.access_token)),
    ]) {
      expect(reply.status).to.equal(400);
      expect(reply.body['error']).to.equal('invalid_request');
    }
  });
});
