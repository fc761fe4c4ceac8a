/**
 * Metrics and spans with the OpenTelemetry SDK reading into memory: each counter moves exactly when
 * its event happens, and never for an attempt that failed and changed nothing.
 */
import { SpanStatusCode } from '@opentelemetry/api';
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { decodeJwt } from 'jose';
import { ConfigError, InvalidGrantError, StoreUnavailableError } from '../../lib/errors.js';
import type { TokenResponse } from '../../lib/sessions/deps.js';
import { ledgerOf } from '../../lib/internals.js';
import { bearer, get, postJson, startApp, type TestApp } from '../support/http.js';
import {
  ADMIN,
  ALICE,
  BOB,
  refreshSignedByKeys,
  testPlugin,
  type TestPlugin,
} from '../support/plugin.js';
import { telemetryHarness, type TelemetryHarness } from '../support/telemetry.js';

use(chaiAsPromised);

const ISSUED = 'jwtconnect.tokens.issued';
const REFRESHED = 'jwtconnect.tokens.refreshed';
const REVOCATIONS = 'jwtconnect.revocations';
const REUSE = 'jwtconnect.refresh_token.reuse_detected';
const REJECTIONS = 'jwtconnect.bearer.rejections';
const LOGIN_FAILURES = 'jwtconnect.login.failures';
const STORE = 'jwtconnect.store.duration';

const sidOf = (pair: TokenResponse) => decodeJwt(pair.access_token)['sid'] as string;

describe('metrics and spans [memory, OpenTelemetry SDK in memory]', () => {
  let h: TelemetryHarness;
  let p: TestPlugin;
  let app: TestApp;

  beforeEach(async () => {
    h = telemetryHarness();
    p = await testPlugin(null, {
      telemetry: { meterProvider: h.meterProvider, tracerProvider: h.tracerProvider },
    });
    const login = {
      verifyPassword: (username: string, password: string) =>
        password === 'right' ? { id: username, username } : null,
    };
    app = await startApp(p.auth, { routes: { login } });
  });
  afterEach(async () => {
    await app.close();
    await p.auth.close();
    await h.shutdown();
  });

  it('counts each issued pair by login source, and not an issue the store could not record', async () => {
    await p.auth.issue(ALICE, { source: 'saml' });
    await p.auth.issue(BOB, { source: 'saml' });
    await p.auth.issue(BOB, { source: 'Password Form #3' });
    expect(await h.count(ISSUED)).to.equal(3);
    expect(await h.count(ISSUED, { 'jwtconnect.login.source': 'saml' })).to.equal(2);
    // Free text that is not a keyword is folded into one series.
    expect(await h.count(ISSUED, { 'jwtconnect.login.source': 'other' })).to.equal(1);

    await ledgerOf(p.auth).store.close();
    await expect(p.auth.issue(ALICE, { source: 'saml' })).to.be.rejectedWith(StoreUnavailableError);
    await ledgerOf(p.auth).open();
    expect(await h.count(ISSUED)).to.equal(3);
    const failed = h
      .spans()
      .filter((span) => span.name === 'jwtconnect.issue')
      .at(-1)!;
    expect(failed.status).to.deep.equal({
      code: SpanStatusCode.ERROR,
      message: 'ERR_STORE_UNAVAILABLE',
    });
  });

  it('counts each rotation, and not a refresh answered invalid_request or invalid_grant', async () => {
    const pair = await p.auth.issue(ALICE, { source: 'saml' });
    const refresh = (body: unknown) => postJson(`${app.url}/token/refresh`, body);
    expect((await refresh({})).body['error']).to.equal('invalid_request');
    expect((await refresh({ token: 'garbage' })).body['error']).to.equal('invalid_grant');
    expect((await refresh({ token: pair.access_token })).body['error']).to.equal('invalid_grant');
    expect(await h.count(REFRESHED)).to.equal(0);

    const next = await refresh({ token: pair.refresh_token });
    expect(next.status).to.equal(200);
    await p.auth.refresh((next.body as unknown as TokenResponse).refresh_token);
    expect(await h.count(REFRESHED)).to.equal(2);
    expect(await h.count(REUSE)).to.equal(0);
  });

  it('counts reuse once, when it revokes the session, not for a racing request within the grace', async () => {
    const pair = await p.auth.issue(ALICE, { source: 'saml' });
    await p.auth.refresh(pair.refresh_token);
    await expect(p.auth.refresh(pair.refresh_token)).to.be.rejectedWith(InvalidGrantError);
    expect(await h.count(REUSE)).to.equal(0);
    expect(await h.count(REVOCATIONS)).to.equal(0);

    p.clock.advance(10_000);
    await expect(p.auth.refresh(pair.refresh_token)).to.be.rejectedWith(InvalidGrantError);
    expect(await h.count(REUSE)).to.equal(1);
    expect(
      await h.count(REVOCATIONS, {
        'jwtconnect.revocation.reason': 'refresh_token_reuse',
        'jwtconnect.revocation.target': 'session',
      }),
    ).to.equal(1);
    await expect(p.auth.refresh(pair.refresh_token)).to.be.rejectedWith(InvalidGrantError);
    expect(await h.count(REUSE)).to.equal(1);
    expect(await h.count(REFRESHED)).to.equal(1);
  });

  it('counts revocations by reason and target, and not one that revoked nothing', async () => {
    const [one, two] = [
      await p.auth.issue(ALICE, { source: 'saml' }),
      await p.auth.issue(ALICE, { source: 'saml' }),
    ];
    await p.auth.revoke({ sid: sidOf(one) }, { reason: 'logout' });
    await p.auth.revoke({ sid: sidOf(one) }, { reason: 'logout' });
    await p.auth.revoke({ jti: decodeJwt(two.access_token)['jti'] as string });
    await p.auth.revoke({ sub: p.auth.subjectOf(ALICE) }, { reason: 'Fired on 2026-01-15!' });
    await p.auth.revoke({ sid: 'no-such-session' });
    const points = await h.points(REVOCATIONS);
    const byLabels = points.map((point) => [
      point.attributes['jwtconnect.revocation.reason'],
      point.attributes['jwtconnect.revocation.target'],
      point.value,
    ]);
    expect(byLabels).to.have.deep.members([
      ['logout', 'session', 1],
      ['none', 'token', 1],
      ['other', 'subject', 1],
    ]);
  });

  it('counts Bearer rejections by reason, at the middleware and at the routes, and no success', async () => {
    const pair = await p.auth.issue(ALICE, { source: 'saml' });
    const me = (headers = {}) => get(`${app.url}/api/me`, headers);
    expect((await me(bearer(pair.access_token))).status).to.equal(200);
    expect(await h.points(REJECTIONS)).to.deep.equal([]);

    await me();
    await me(bearer('garbage'));
    // A refresh token is refused for its key (invalid), or for its typ when keys signed it.
    await me(bearer(pair.refresh_token));
    await me(bearer(await refreshSignedByKeys(pair)));
    await get(`${app.url}/token/sessions`);
    // A valid token without the audit scope: 403, not a rejected token.
    await get(`${app.url}/token/audit?sub=x`, bearer(pair.access_token));
    const other = await p.auth.issue(BOB, { source: 'saml' });
    await p.auth.revoke({ sid: sidOf(other) });
    await me(bearer(other.access_token));
    p.clock.advance(3600_000);
    await me(bearer(pair.access_token));
    const reasons = Object.fromEntries(
      (await h.points(REJECTIONS)).map((point) => [
        point.attributes['jwtconnect.rejection.reason'],
        point.value,
      ]),
    );
    expect(reasons).to.deep.equal({
      missing: 2,
      invalid: 2,
      wrong_type: 1,
      revoked: 1,
      expired: 1,
    });
  });

  it('counts failed password logins and throttled ones, not a success or a malformed request', async () => {
    const login = (body: unknown) => postJson(`${app.url}/token/login`, body);
    expect((await login({ username: 'carol', password: 'right' })).status).to.equal(200);
    expect((await login({ username: 'carol' })).status).to.equal(400);
    expect(await h.points(LOGIN_FAILURES)).to.deep.equal([]);
    for (let i = 0; i < 5; i++) await login({ username: 'dave', password: 'wrong' });
    expect((await login({ username: 'dave', password: 'right' })).status).to.equal(429);
    const reasons = Object.fromEntries(
      (await h.points(LOGIN_FAILURES)).map((point) => [
        point.attributes['jwtconnect.login.failure.reason'],
        point.value,
      ]),
    );
    expect(reasons).to.deep.equal({ invalid_credentials: 5, throttled: 1 });
    expect(await h.count(ISSUED)).to.equal(1);
  });

  it('times store operations by name, failed ones with their error code', async () => {
    const pair = await p.auth.issue(ALICE, { source: 'saml' });
    await p.auth.tokens.verify(pair.access_token);
    const ops = (await h.points(STORE)).map((point) => point.attributes['db.operation.name']);
    expect(ops).to.include.members(['appendEvent', 'readStates', 'saveState', 'markPending']);
    const loads = await h.count(STORE, { 'db.operation.name': 'readStates' });
    await p.auth.tokens.verify(pair.access_token);
    expect(await h.count(STORE, { 'db.operation.name': 'readStates' })).to.equal(loads + 1);

    await ledgerOf(p.auth).store.close();
    await expect(p.auth.tokens.verify(pair.access_token)).to.be.rejectedWith(StoreUnavailableError);
    await ledgerOf(p.auth).open();
    expect(
      await h.count(STORE, {
        'db.operation.name': 'readStates',
        'error.type': 'ERR_STORE_UNAVAILABLE',
      }),
    ).to.equal(1);
  });

  it('records a span for issue, refresh and revoke, with the error code of a failure and no token', async () => {
    const pair = await p.auth.issue(ADMIN, { source: 'saml' });
    const next = await p.auth.refresh(pair.refresh_token);
    await expect(p.auth.refresh('garbage')).to.be.rejectedWith(InvalidGrantError);
    await postJson(
      `${app.url}/token/revocation`,
      { token: next.refresh_token },
      bearer(next.access_token),
    );
    const spans = h.spans().map((span) => [span.name, span.status.code]);
    expect(spans).to.deep.equal([
      ['jwtconnect.issue', SpanStatusCode.UNSET],
      ['jwtconnect.refresh', SpanStatusCode.UNSET],
      ['jwtconnect.refresh', SpanStatusCode.ERROR],
      ['jwtconnect.revoke', SpanStatusCode.UNSET],
    ]);
    expect(h.spans()[2]!.attributes).to.deep.equal({ 'error.type': 'ERR_INVALID_GRANT' });
    const recorded = JSON.stringify(h.spans().map((span) => [span.attributes, span.events]));
    for (const token of [pair.access_token, pair.refresh_token, next.refresh_token]) {
      expect(recorded).to.not.include(token.split('.')[2]);
    }
  });
});

describe('the telemetry option', () => {
  it('refuses a provider that is not one, naming the option', async () => {
    await expect(testPlugin(null, { telemetry: { meterProvider: {} as never } }))
      .to.be.rejectedWith(ConfigError, 'options.telemetry.meterProvider')
      .and.eventually.have.property('code', 'ERR_CONFIG');
    await expect(
      testPlugin(null, { telemetry: { tracerProvider: { getTracer: 'x' } as never } }),
    ).to.be.rejectedWith(ConfigError, 'options.telemetry.tracerProvider.getTracer');
  });

  it('works without an SDK: the API is a no-op', async () => {
    const p = await testPlugin(null);
    const pair = await p.auth.issue(ALICE, { source: 'saml' });
    await expect(p.auth.refresh(pair.refresh_token)).to.be.fulfilled;
    await p.auth.close();
  });
});
