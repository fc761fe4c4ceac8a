/**
 * Absolute session lifetime (`sessionMaxAge`, RFC 9700 section 4.14.2): however often a session is
 * refreshed, it ends at its login plus the maximum. The end is recorded at login, no token outlives
 * it, and refresh, introspection and the Bearer check refuse after it; the idle timeout stays the
 * refresh token's lifetime. On both stores, with an injected clock.
 */
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { decodeJwt } from 'jose';
import {
  DEFAULT_SESSION_MAX_AGE,
  resolveConfig,
  type JwtConnectOptions,
} from '../../lib/config.js';
import { ConfigError, InvalidGrantError, InvalidTokenError } from '../../lib/errors.js';
import { MemoryStore, type IssuedEvent, type SessionState } from '../../lib/ledger/index.js';
import { newSessionId, newTokenId } from '../../lib/tokens/claims.js';
import { ledgerOf } from '../../lib/internals.js';
import { fakeClock, type FakeClock } from '../support/clock.js';
import { bearer, get, postJson, startApp } from '../support/http.js';
import { pluginsPerTest } from '../support/instances.js';
import { keyPair } from '../support/keys.js';
import {
  ADMIN,
  ALICE,
  BOB,
  SUBJECT_SECRET,
  TEST_ISSUER,
  testPlugin,
  type TestPlugin,
} from '../support/plugin.js';
import { signRaw } from '../support/tokens.js';

use(chaiAsPromised);

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const T0S = T0 / 1000;
/** Two hours: two refreshes of an hour-long refresh token reach it. */
const MAX_AGE = 7200;
const LIFETIMES = { accessTokenTtl: 1800, refreshTokenTtl: 3600, sessionMaxAge: MAX_AGE };

describe('sessionMaxAge option', () => {
  const base = {
    issuer: TEST_ISSUER,
    keys: { secret: 'x'.repeat(32), alg: 'HS256' },
    subjectSecret: SUBJECT_SECRET,
    store: { memory: true },
  } as JwtConnectOptions;

  it('defaults to 30 days', () => {
    expect(resolveConfig(base).sessionMaxAge).to.equal(DEFAULT_SESSION_MAX_AGE).and.equal(2592000);
  });

  it('refuses a lifetime that is not a positive whole number of seconds [0, 1.5, "1h"]', () => {
    for (const sessionMaxAge of [0, 1.5, '1h']) {
      expect(() => resolveConfig({ ...base, sessionMaxAge } as JwtConnectOptions))
        .to.throw(ConfigError)
        .with.property('message')
        .that.matches(/^options\.sessionMaxAge must be /);
    }
  });
});

for (const kind of ['memory', 'MongoDB'] as const) {
  describe(`session lifetime [${kind}]`, () => {
    const plugins = pluginsPerTest(kind, 'lifetime');
    let store: JwtConnectOptions['store'];
    let clock: FakeClock;

    beforeEach(() => {
      // Instances of one test share one store and one clock, like app instances behind a balancer.
      const db = plugins.db();
      store = db ? { mongo: { db } } : { custom: new MemoryStore() };
      clock = fakeClock(T0);
    });

    async function plugin(overrides: Partial<JwtConnectOptions> = {}): Promise<TestPlugin> {
      return plugins.track(await testPlugin(null, { store, ...LIFETIMES, ...overrides }, clock));
    }

    async function eventsOf(p: TestPlugin, token: string) {
      return (await p.auth.audit.history({ sid: decodeJwt(token)['sid'] as string })).events;
    }

    /** A session refreshed at +3000 s and +6000 s: its last pair reaches the session's end. */
    async function refreshedToTheEnd(p: TestPlugin) {
      const first = await p.auth.issue(ALICE, { source: 'saml' });
      clock.advance(3000_000);
      const second = await p.auth.refresh(first.refresh_token);
      clock.advance(3000_000);
      const last = await p.auth.refresh(second.refresh_token);
      return { first, second, last };
    }

    it('records the session end at login and lets no token of the session expire after it', async () => {
      const p = await plugin();
      const { first, second, last } = await refreshedToTheEnd(p);
      const [issued] = await eventsOf(p, first.access_token);
      expect((issued as IssuedEvent).sessionExp).to.equal(T0S + MAX_AGE);
      expect(first).to.include({ expires_in: 1800, refresh_expires_in: 3600 });
      expect(decodeJwt(second.refresh_token).exp).to.equal(T0S + 3000 + 3600);
      expect(second).to.include({ expires_in: 1800, refresh_expires_in: 3600 });
      // At +6000 s, 1200 s are left: both tokens end with the session, and the answer says so.
      expect(decodeJwt(last.access_token).exp).to.equal(T0S + MAX_AGE);
      expect(decodeJwt(last.refresh_token).exp).to.equal(T0S + MAX_AGE);
      expect(last).to.include({ expires_in: 1200, refresh_expires_in: 1200 });
      const exps = (await eventsOf(p, first.access_token)).flatMap((event) =>
        event.type === 'issued' || event.type === 'refreshed'
          ? [event.access.exp, event.refresh.exp]
          : [],
      );
      expect(Math.max(...exps)).to.equal(T0S + MAX_AGE);
    });

    it('caps even the first pair when the session is shorter than the token lifetimes', async () => {
      const p = await plugin({ sessionMaxAge: 600 });
      const pair = await p.auth.issue(BOB, { source: 'oidc' });
      expect(pair).to.include({ expires_in: 600, refresh_expires_in: 600 });
      expect(decodeJwt(pair.refresh_token).exp).to.equal(T0S + 600);
    });

    it('refuses refresh, introspection and the Bearer check at the session end, recording nothing', async () => {
      const p = await plugin();
      const app = await startApp(p.auth);
      try {
        const { first, last } = await refreshedToTheEnd(p);
        const admin = await p.auth.issue(ADMIN, { source: 'password', scope: 'introspection' });
        const introspect = () =>
          postJson(
            `${app.url}/token/introspection`,
            { token: last.access_token },
            bearer(admin.access_token),
          );
        clock.set((T0S + MAX_AGE - 1) * 1000);
        expect((await get(`${app.url}/api/me`, bearer(last.access_token))).status).to.equal(200);
        expect((await introspect()).body).to.include({ active: true });

        clock.advance(1000);
        // Within `clockTolerance` of both tokens' exp: only the session's end refuses them.
        const me = await get(`${app.url}/api/me`, bearer(last.access_token));
        expect(me.status).to.equal(401);
        expect(me.body).to.include({ error: 'invalid_token' });
        await expect(p.auth.tokens.verify(last.access_token))
          .to.be.rejectedWith(InvalidTokenError)
          .and.eventually.include({ reason: 'session_expired' });
        expect((await introspect()).body).to.deep.equal({ active: false });
        const before = await eventsOf(p, first.access_token);
        const refused = await postJson(`${app.url}/token/refresh`, { token: last.refresh_token });
        expect(refused.status).to.equal(400);
        expect(refused.body).to.include({ error: 'invalid_grant' });
        await expect(p.auth.refresh(last.refresh_token)).to.be.rejectedWith(InvalidGrantError);
        expect(await eventsOf(p, first.access_token)).to.deep.equal(before);
      } finally {
        await app.close();
      }
    });

    it('refuses the Bearer check at the session end from the local revocation view too', async () => {
      const p = await plugin({ revocation: { maxStalenessMs: 1000 } });
      const { last } = await refreshedToTheEnd(p);
      clock.set((T0S + MAX_AGE - 1) * 1000);
      await expect(p.auth.tokens.verify(last.access_token)).to.be.fulfilled;
      clock.advance(1000);
      await expect(p.auth.tokens.verify(last.access_token))
        .to.be.rejectedWith(InvalidTokenError)
        .and.eventually.include({ reason: 'session_expired' });
    });

    it('keeps the end recorded at login when another instance has a different sessionMaxAge', async () => {
      const short = await plugin();
      const long = await plugin({ sessionMaxAge: DEFAULT_SESSION_MAX_AGE });
      const ending = await refreshedToTheEnd(short);
      clock.set((T0S + MAX_AGE) * 1000);
      await expect(long.auth.tokens.verify(ending.last.access_token))
        .to.be.rejectedWith(InvalidTokenError)
        .and.eventually.include({ reason: 'session_expired' });
      await expect(long.auth.refresh(ending.last.refresh_token)).to.be.rejectedWith(
        InvalidGrantError,
      );

      // A session begun under the longer maximum outlives the shorter one's on every instance.
      let pair = await long.auth.issue(BOB, { source: 'oidc' });
      for (let i = 0; i < 3; i++) {
        clock.advance(3000_000);
        pair = await short.auth.refresh(pair.refresh_token);
      }
      expect(pair.refresh_expires_in).to.equal(3600);
      await expect(short.auth.tokens.verify(pair.access_token)).to.be.fulfilled;
    });

    it('ends a session recorded without its end at its start plus the configured maximum', async () => {
      const p = await plugin();
      const sub = p.auth.subjectOf(BOB);
      const sid = newSessionId();
      const access = { jti: newTokenId(), exp: T0S + MAX_AGE + 600 };
      await ledgerOf(p.auth).execute(sid, () => ({
        type: 'issued',
        sub,
        meta: { source: 'oidc' },
        access,
        refresh: { jti: newTokenId(), exp: T0S + MAX_AGE + 600 },
      }));
      const { privateKey } = await keyPair('ES256');
      const kid = p.auth.tokens.jwks().keys[0]!.kid;
      const claims = { iss: TEST_ISSUER, sub, sid, jti: access.jti, iat: T0S, ttype: 'T' };
      const token = await signRaw(
        privateKey,
        { alg: 'ES256', kid, typ: 'at+jwt' },
        { ...claims, exp: access.exp },
      );
      clock.set((T0S + MAX_AGE - 1) * 1000);
      await expect(p.auth.tokens.verify(token)).to.be.fulfilled;
      clock.advance(1000);
      await expect(p.auth.tokens.verify(token))
        .to.be.rejectedWith(InvalidTokenError)
        .and.eventually.include({ reason: 'session_expired' });
    });

    it('rebuilds the projection with the same session end as live updating gave', async () => {
      const p = await plugin();
      const { first } = await refreshedToTheEnd(p);
      const sid = decodeJwt(first.access_token)['sid'] as string;
      const [live] = (await ledgerOf(p.auth).store.loadStates([sid])) as SessionState[];
      expect(live!.sessionExp).to.equal(T0S + MAX_AGE);
      expect((await p.auth.audit.rebuild({ dryRun: true })).differences).to.deep.equal([]);
      await p.auth.audit.rebuild();
      expect(await ledgerOf(p.auth).store.loadStates([sid])).to.deep.equal([live]);
    });

    it('keeps the idle timeout: a session not refreshed within refreshTokenTtl ends', async () => {
      const p = await plugin({ sessionMaxAge: DEFAULT_SESSION_MAX_AGE });
      const pair = await p.auth.issue(ALICE, { source: 'saml' });
      clock.advance((3600 + 10) * 1000);
      await expect(p.auth.refresh(pair.refresh_token)).to.be.rejectedWith(InvalidGrantError);
    });
  });
}
