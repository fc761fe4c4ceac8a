/**
 * POST /token/refresh over HTTP: rotation, the accepted parameter shapes, every refusal, and reuse
 * of a spent token (RFC 9700 section 4.14.2) within and after the grace.
 */
import { expect } from 'chai';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { oneInstance } from '../support/instances.js';
import { bearer, get, pairOf, postForm, postJson, type TestApp } from '../support/http.js';
import { newKeyPair } from '../support/keys.js';
import { ADMIN, ALICE, BOB, type TestPlugin } from '../support/plugin.js';
import { signRaw } from '../support/tokens.js';

function sidOf(token: string): string {
  return decodeJwt(token)['sid'] as string;
}

describe('POST /token/refresh [MongoDB, HTTP]', () => {
  let p: TestPlugin;
  let app: TestApp;
  let url: string;
  let close: () => Promise<void>;

  before(async () => {
    ({ p, app, close } = await oneInstance('routes_refresh'));
    url = `${app.url}/token/refresh`;
  });
  after(() => close());

  it('rotates a refresh token sent as JSON "token" and answers a new pair that must not be cached', async () => {
    const first = await p.auth.issue(ALICE, { source: 'saml' });
    const reply = await postJson(url, { token: first.refresh_token });
    expect(reply.status).to.equal(200);
    expect(reply.headers.get('cache-control')).to.equal('no-store');
    expect(reply.headers.get('pragma')).to.equal('no-cache');
    expect(reply.body).to.have.keys([
      'access_token',
      'refresh_token',
      'token_type',
      'expires_in',
      'refresh_expires_in',
    ]);
    expect(reply.body).to.include({
      token_type: 'Bearer',
      expires_in: 1800,
      refresh_expires_in: 3600,
    });
    const next = pairOf(reply);
    expect(next.refresh_token).to.not.equal(first.refresh_token);
    expect(sidOf(next.access_token)).to.equal(sidOf(first.access_token));
    expect(decodeProtectedHeader(next.access_token).typ).to.equal('at+jwt');
    const me = await get(`${app.url}/api/me`, bearer(next.access_token));
    expect(me.status).to.equal(200);
    expect(me.body['jti']).to.equal(decodeJwt(next.access_token).jti);
  });

  it('accepts "refresh_token" with grant_type=refresh_token as a form and as JSON', async () => {
    const first = await p.auth.issue(ALICE, { source: 'saml' });
    const form = await postForm(url, {
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token,
    });
    expect(form.status).to.equal(200);
    const json = await postJson(url, {
      grant_type: 'refresh_token',
      refresh_token: pairOf(form).refresh_token,
    });
    expect(json.status).to.equal(200);
    expect(pairOf(json).token_type).to.equal('Bearer');
  });

  it('accepts "refresh_token" without grant_type and "token" as a form', async () => {
    const first = await p.auth.issue(BOB, { source: 'oidc' });
    const second = await postJson(url, { refresh_token: first.refresh_token });
    expect(second.status).to.equal(200);
    const third = await postForm(url, { token: pairOf(second).refresh_token });
    expect(third.status).to.equal(200);
  });

  it('ignores unknown parameters', async () => {
    const first = await p.auth.issue(BOB, { source: 'oidc' });
    const reply = await postJson(url, { token: first.refresh_token, client_id: 'x', $where: '1' });
    expect(reply.status).to.equal(200);
  });

  it('refuses another grant_type with 400 unsupported_grant_type and spends nothing', async () => {
    const first = await p.auth.issue(ALICE, { source: 'saml' });
    for (const grantType of ['password', 'authorization_code', 'client_credentials']) {
      const reply = await postForm(url, {
        grant_type: grantType,
        refresh_token: first.refresh_token,
      });
      expect(reply.status).to.equal(400);
      expect(reply.body['error']).to.equal('unsupported_grant_type');
      expect(reply.headers.get('cache-control')).to.equal('no-store');
    }
    expect((await postJson(url, { token: first.refresh_token })).status).to.equal(200);
  });

  it('answers 400 invalid_request when the refresh token is missing [empty JSON, empty form, empty value, null]', async () => {
    for (const reply of [
      await postJson(url, {}),
      await postForm(url, {}),
      await postJson(url, { token: '' }),
      await postJson(url, { token: null }),
      await postForm(url, { grant_type: 'refresh_token' }),
    ]) {
      expect(reply.status).to.equal(400);
      expect(reply.body['error']).to.equal('invalid_request');
      expect(reply.body['error_description']).to.be.a('string').and.not.equal('');
      expect(reply.headers.get('cache-control')).to.equal('no-store');
      expect(reply.headers.get('pragma')).to.equal('no-cache');
    }
  });

  it('answers 400 invalid_request when both "token" and "refresh_token" are given', async () => {
    const first = await p.auth.issue(ALICE, { source: 'saml' });
    const reply = await postJson(url, {
      token: first.refresh_token,
      refresh_token: first.refresh_token,
    });
    expect(reply.status).to.equal(400);
    expect(reply.body['error']).to.equal('invalid_request');
    expect((await postJson(url, { token: first.refresh_token })).status).to.equal(200);
  });

  it('answers 400 invalid_grant for an access token, garbage and a forged refresh token', async () => {
    const pair = await p.auth.issue(ALICE, { source: 'saml' });
    const attacker = await newKeyPair('ES256');
    const header = decodeProtectedHeader(pair.refresh_token);
    const forged = await signRaw(
      attacker.privateKey,
      { alg: 'ES256', kid: header.kid!, typ: 'rt+jwt' },
      decodeJwt(pair.refresh_token),
    );
    for (const token of [pair.access_token, 'garbage', 'a.b.c', forged, `${pair.refresh_token}x`]) {
      const reply = await postJson(url, { token });
      expect(reply.status, token).to.equal(400);
      expect(reply.body).to.deep.equal({
        error: 'invalid_grant',
        error_description: reply.body['error_description'],
      });
      expect(reply.text).to.not.include(pair.refresh_token);
    }
    expect((await postJson(url, { token: pair.refresh_token })).status).to.equal(200);
  });

  it('answers 400 invalid_grant for a refresh token of a revoked session and for an expired one', async () => {
    const revoked = await p.auth.issue(BOB, { source: 'saml' });
    await p.auth.revoke({ sid: sidOf(revoked.access_token) }, { reason: 'logout' });
    const reply = await postJson(url, { token: revoked.refresh_token });
    expect(reply.status).to.equal(400);
    expect(reply.body['error']).to.equal('invalid_grant');

    const expiring = await p.auth.issue(BOB, { source: 'saml' });
    p.clock.advance((3600 + 6) * 1000);
    const expired = await postJson(url, { token: expiring.refresh_token });
    expect(expired.status).to.equal(400);
    expect(expired.body['error']).to.equal('invalid_grant');
  });

  it('refuses a spent refresh token within the reuse grace and keeps the session', async () => {
    const first = await p.auth.issue(ALICE, { source: 'saml' });
    const second = pairOf(await postJson(url, { token: first.refresh_token }));
    const again = await postJson(url, { token: first.refresh_token });
    expect(again.status).to.equal(400);
    expect(again.body['error']).to.equal('invalid_grant');
    expect((await get(`${app.url}/api/me`, bearer(second.access_token))).status).to.equal(200);
    expect((await postJson(url, { token: second.refresh_token })).status).to.equal(200);
    const types = (await p.auth.audit.history({ sid: sidOf(first.access_token) })).events.map(
      (event) => event.type,
    );
    expect(types).to.deep.equal(['issued', 'refreshed', 'refreshed']);
  });

  it('revokes the whole session when a spent refresh token is presented after the grace', async () => {
    const admin = await p.auth.issue(ADMIN, { source: 'saml', scope: 'introspection' });
    const first = await p.auth.issue(ALICE, { source: 'saml' });
    const child = pairOf(await postJson(url, { token: first.refresh_token }));
    p.clock.advance(10_000);

    const reuse = await postJson(
      url,
      { token: first.refresh_token },
      { 'user-agent': 'stolen-token-client/1.0' },
    );
    expect(reuse.status).to.equal(400);
    expect(reuse.body['error']).to.equal('invalid_grant');

    const me = await get(`${app.url}/api/me`, bearer(child.access_token));
    expect(me.status).to.equal(401);
    expect(me.headers.get('www-authenticate')).to.match(/^Bearer error="invalid_token"/);
    const childRefresh = await postJson(url, { token: child.refresh_token });
    expect(childRefresh.status).to.equal(400);
    expect(childRefresh.body['error']).to.equal('invalid_grant');
    for (const token of [child.access_token, child.refresh_token]) {
      const introspection = await postJson(
        `${app.url}/token/introspection`,
        { token },
        bearer(admin.access_token),
      );
      expect(introspection.status).to.equal(200);
      expect(introspection.body).to.deep.equal({ active: false });
    }

    const events = (await p.auth.audit.history({ sid: sidOf(first.access_token) })).events;
    expect(events.map((event) => event.type)).to.deep.equal(['issued', 'refreshed', 'revoked']);
    expect(events[2]!.meta).to.include({
      reason: 'refresh_token_reuse',
      ip: '127.0.0.1',
      userAgent: 'stolen-token-client/1.0',
    });
  });
});
