/**
 * POST /token/revocation over HTTP (RFC 7009): own tokens, the admin scope, 200 for everything the
 * caller may not or cannot revoke (nothing revealed, nothing revoked), and the 401s of the caller.
 */
import { expect } from 'chai';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { TestDatabase } from '../support/db.js';
import { oneInstance } from '../support/instances.js';
import { bearer, get, postForm, postJson, type Reply, type TestApp } from '../support/http.js';
import { newKeyPair } from '../support/keys.js';
import { ADMIN, ALICE, BOB, type TestPlugin } from '../support/plugin.js';
import { signRaw } from '../support/tokens.js';

function expectEmpty200(reply: Reply): void {
  expect(reply.status).to.equal(200);
  expect(reply.text).to.equal('');
  expect(reply.headers.get('cache-control')).to.equal('no-store');
  expect(reply.headers.get('pragma')).to.equal('no-cache');
}

describe('POST /token/revocation [MongoDB, HTTP]', () => {
  let t: TestDatabase;
  let p: TestPlugin;
  let app: TestApp;
  let url: string;
  let close: () => Promise<void>;

  const events = () => t.db.collection('jwtconnect_events').countDocuments();
  const me = (token: string) => get(`${app.url}/api/me`, bearer(token));

  before(async () => {
    ({ t, p, app, close } = await oneInstance('routes_revocation'));
    url = `${app.url}/token/revocation`;
  });
  after(() => close());

  it('revokes one access token of the caller’s own subject and records who and why', async () => {
    const caller = await p.auth.issue(ALICE, { source: 'saml' });
    const target = await p.auth.issue(ALICE, { source: 'saml' });
    const reply = await postJson(
      url,
      { token: target.access_token, token_type_hint: 'access_token' },
      bearer(caller.access_token),
    );
    expectEmpty200(reply);
    expect((await me(target.access_token)).status).to.equal(401);
    // An access token alone: its session's refresh token still works.
    await p.auth.refresh(target.refresh_token);
    const sid = decodeJwt(target.access_token)['sid'] as string;
    const [, revoked] = (await p.auth.audit.history({ sid })).events;
    expect(revoked).to.deep.include({
      type: 'revoked',
      target: { kind: 'token', jti: decodeJwt(target.access_token).jti },
    });
    expect(revoked!.meta).to.include({
      reason: 'revoked_by_client',
      actor: decodeJwt(caller.access_token).sub,
      ip: '127.0.0.1',
    });
  });

  it('revokes the whole session for a refresh token [as a form, with and without a hint]', async () => {
    const caller = await p.auth.issue(BOB, { source: 'saml' });
    for (const hint of [undefined, 'refresh_token', 'access_token']) {
      const target = await p.auth.issue(BOB, { source: 'saml' });
      const reply = await postForm(
        url,
        { token: target.refresh_token, ...(hint !== undefined && { token_type_hint: hint }) },
        bearer(caller.access_token),
      );
      expectEmpty200(reply);
      expect((await me(target.access_token)).status).to.equal(401);
      const refresh = await postJson(`${app.url}/token/refresh`, { token: target.refresh_token });
      expect(refresh.status).to.equal(400);
      expect(refresh.body['error']).to.equal('invalid_grant');
    }
    expect((await me(caller.access_token)).status).to.equal(200);
  });

  it('lets a caller revoke the very token it authenticates with', async () => {
    const pair = await p.auth.issue(ALICE, { source: 'saml' });
    expectEmpty200(await postJson(url, { token: pair.access_token }, bearer(pair.access_token)));
    expect((await me(pair.access_token)).status).to.equal(401);
  });

  it('answers 200 and revokes nothing for another subject’s token without the admin scope', async () => {
    const bob = await p.auth.issue(BOB, { source: 'saml', scope: 'introspection audit' });
    const alice = await p.auth.issue(ALICE, { source: 'saml' });
    const before = await events();
    for (const token of [alice.access_token, alice.refresh_token]) {
      expectEmpty200(await postJson(url, { token }, bearer(bob.access_token)));
    }
    expect(await events()).to.equal(before);
    expect((await me(alice.access_token)).status).to.equal(200);
  });

  it('revokes any subject’s tokens for a caller with the admin scope', async () => {
    const admin = await p.auth.issue(ADMIN, { source: 'saml', scope: 'admin' });
    const alice = await p.auth.issue(ALICE, { source: 'saml' });
    expectEmpty200(await postJson(url, { token: alice.refresh_token }, bearer(admin.access_token)));
    expect((await me(alice.access_token)).status).to.equal(401);
    const sid = decodeJwt(alice.access_token)['sid'] as string;
    const last = (await p.auth.audit.history({ sid })).events.at(-1);
    expect(last?.meta.actor).to.equal(decodeJwt(admin.access_token).sub);
  });

  it('answers 200 and records nothing for unknown, garbage, forged, expired and already revoked tokens', async () => {
    const caller = await p.auth.issue(ALICE, { source: 'saml', scope: 'admin' });
    const attacker = await newKeyPair('ES256');
    const forged = await signRaw(
      attacker.privateKey,
      decodeProtectedHeader(caller.access_token) as { alg: string },
      decodeJwt(caller.access_token),
    );
    const revoked = await p.auth.issue(ALICE, { source: 'saml' });
    await p.auth.revoke({ sid: decodeJwt(revoked.access_token)['sid'] as string });
    const expiring = await p.auth.issue(ALICE, { source: 'saml' });
    p.clock.advance(1000 * 1000);
    const fresh = await p.auth.issue(ALICE, { source: 'saml', scope: 'admin' });
    p.clock.advance(900 * 1000);
    const before = await events();
    for (const token of [
      'garbage',
      'a.b.c',
      forged,
      revoked.refresh_token,
      expiring.access_token,
    ]) {
      expectEmpty200(await postJson(url, { token }, bearer(fresh.access_token)));
    }
    expect(await events()).to.equal(before);
  });

  it('answers 400 invalid_request without a token', async () => {
    const caller = await p.auth.issue(ALICE, { source: 'saml' });
    for (const body of [{}, { token_type_hint: 'access_token' }, { token: '' }]) {
      const reply = await postJson(url, body, bearer(caller.access_token));
      expect(reply.status).to.equal(400);
      expect(reply.body['error']).to.equal('invalid_request');
    }
  });

  it('answers 401 without a valid caller token and revokes nothing', async () => {
    const pair = await p.auth.issue(BOB, { source: 'saml' });
    const before = await events();
    const missing = await postJson(url, { token: pair.access_token });
    expect(missing.status).to.equal(401);
    expect(missing.headers.get('www-authenticate')).to.equal('Bearer');
    for (const caller of ['garbage', pair.refresh_token]) {
      const reply = await postJson(url, { token: pair.access_token }, bearer(caller));
      expect(reply.status).to.equal(401);
      expect(reply.headers.get('www-authenticate')).to.match(/^Bearer error="invalid_token"/);
    }
    expect(await events()).to.equal(before);
    expect((await me(pair.access_token)).status).to.equal(200);
  });
});
