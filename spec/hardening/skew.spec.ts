/**
 * Clock skew, with injected clocks: two instances share one database, one of them (the
 * issuer) with its clock set apart from the other's (the verifier). Each boundary is tested just
 * inside and just outside the tolerance, at the middleware and at the refresh route. Claims are
 * NumericDates (whole seconds); the checks are, with `now` the verifier's clock in whole seconds:
 * accepted while `now < exp + tolerance`, `nbf <= now + tolerance` and `iat <= now + tolerance`.
 */
import { expect } from 'chai';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { Db } from 'mongodb';
import { fakeClock, type FakeClock } from '../support/clock.js';
import { openTestDatabase, type TestDatabase } from '../support/db.js';
import {
  bearer,
  get,
  pairOf,
  postJson,
  startApp,
  type Reply,
  type TestApp,
} from '../support/http.js';
import { ALICE, signingKeyOf, testPlugin, type TestPlugin } from '../support/plugin.js';
import { signRaw } from '../support/tokens.js';
import type { TokenResponse } from '../../lib/sessions/deps.js';
import type { UserRecord } from '../../lib/tokens/claims.js';

const TOLERANCE = 5;
const T = Date.UTC(2026, 0, 15, 12, 0, 0);
const T_SECONDS = T / 1000;

/** The same recorded token with some claims changed, signed again with the server's key. */
async function resigned(token: string, changes: Record<string, unknown>): Promise<string> {
  const header = decodeProtectedHeader(token) as { alg: string; kid: string; typ: string };
  return signRaw(await signingKeyOf(token), header, { ...decodeJwt(token), ...changes });
}

function eventCount(db: Db): Promise<number> {
  return db.collection('jwtconnect_events').countDocuments();
}

function expectRefused(reply: Reply, description: string): void {
  expect(reply.status).to.equal(401);
  expect(reply.headers.get('www-authenticate')).to.equal(
    `Bearer error="invalid_token", error_description="${description}"`,
  );
}

describe('clock skew around exp, nbf and iat [MongoDB, HTTP, injected clocks]', () => {
  let t: TestDatabase;
  let issuerClock: FakeClock;
  let verifierClock: FakeClock;
  let issuer: TestPlugin;
  let verifier: TestPlugin;
  let apps: TestApp[];
  let url: string;

  before(async () => {
    t = await openTestDatabase('hardening_skew');
    issuerClock = fakeClock(T);
    verifierClock = fakeClock(T);
    const options = { clockTolerance: TOLERANCE };
    issuer = await testPlugin(t.db, options, issuerClock);
    verifier = await testPlugin(t.db, options, verifierClock);
    apps = [await startApp(issuer.auth), await startApp(verifier.auth)];
    url = apps[1]!.url;
  });
  beforeEach(() => {
    issuerClock.set(T);
    verifierClock.set(T);
  });
  after(async () => {
    for (const app of apps) await app.close();
    await issuer.auth.close();
    await verifier.auth.close();
    await t.dispose();
  });

  /** A pair issued by the issuer whose clock is `aheadMs` ahead of the verifier's. */
  async function issuedAhead(aheadMs: number, user: UserRecord = ALICE): Promise<TokenResponse> {
    issuerClock.set(T + aheadMs);
    return issuer.auth.issue(user, { source: 'saml' });
  }

  const me = (token: string) => get(`${url}/api/me`, bearer(token));
  const refresh = (token: string) => postJson(`${url}/token/refresh`, { token });

  describe('at the middleware', () => {
    it('accepts an access token until exp + tolerance and refuses it from then on [1 ms before, at the boundary]', async () => {
      const pair = await issuedAhead(0);
      const { exp } = decodeJwt(pair.access_token) as { exp: number };
      verifierClock.set((exp + TOLERANCE) * 1000 - 1);
      expect((await me(pair.access_token)).status).to.equal(200);
      verifierClock.set((exp + TOLERANCE) * 1000);
      expectRefused(await me(pair.access_token), 'The token has expired');
    });

    it('accepts a token from an instance whose clock is ahead by up to the tolerance, and refuses one further ahead [iat]', async () => {
      const inside = await issuedAhead(TOLERANCE * 1000 + 999);
      expect(decodeJwt(inside.access_token).iat).to.equal(T_SECONDS + TOLERANCE);
      expect((await me(inside.access_token)).status).to.equal(200);
      const outside = await issuedAhead((TOLERANCE + 1) * 1000);
      expectRefused(await me(outside.access_token), 'The token is not yet valid');
    });

    it('accepts a recorded token whose nbf is now + tolerance and refuses nbf a second later [re-signed]', async () => {
      const pair = await issuedAhead(0);
      const inside = await resigned(pair.access_token, { nbf: T_SECONDS + TOLERANCE });
      expect((await me(inside)).status).to.equal(200);
      const outside = await resigned(pair.access_token, { nbf: T_SECONDS + TOLERANCE + 1 });
      expectRefused(await me(outside), 'The token is not yet valid');
    });
  });

  describe('at the refresh route', () => {
    it('refuses a refresh token from exp + tolerance on, spending nothing, and rotates it 1 ms before', async () => {
      const pair = await issuedAhead(0);
      const { exp } = decodeJwt(pair.refresh_token) as { exp: number };
      const events = await eventCount(t.db);
      verifierClock.set((exp + TOLERANCE) * 1000);
      const refused = await refresh(pair.refresh_token);
      expect(refused.status).to.equal(400);
      expect(refused.body['error']).to.equal('invalid_grant');
      expect(await eventCount(t.db)).to.equal(events);
      verifierClock.set((exp + TOLERANCE) * 1000 - 1);
      pairOf(await refresh(pair.refresh_token));
    });

    it('refuses a refresh token from an instance more than the tolerance ahead, spending nothing, and rotates it once within [iat]', async () => {
      const pair = await issuedAhead((TOLERANCE + 1) * 1000);
      const events = await eventCount(t.db);
      const refused = await refresh(pair.refresh_token);
      expect(refused.body['error']).to.equal('invalid_grant');
      expect(await eventCount(t.db)).to.equal(events);
      verifierClock.advance(1000);
      pairOf(await refresh(pair.refresh_token));
    });

    it('refuses a recorded refresh token whose nbf is more than the tolerance ahead, and rotates it within [re-signed]', async () => {
      const pair = await issuedAhead(0);
      const outside = await resigned(pair.refresh_token, { nbf: T_SECONDS + TOLERANCE + 1 });
      const events = await eventCount(t.db);
      expect((await refresh(outside)).body['error']).to.equal('invalid_grant');
      expect(await eventCount(t.db)).to.equal(events);
      const inside = await resigned(pair.refresh_token, { nbf: T_SECONDS + TOLERANCE });
      pairOf(await refresh(inside));
    });
  });

  describe('revocation of every session of a subject ("logout everywhere")', () => {
    it('covers a session issued before it by an instance whose clock is ahead within the tolerance', async () => {
      const pair = await issuedAhead(3000, { id: 'u-skew-ahead' });
      const sub = decodeJwt(pair.access_token).sub as string;
      expect((await me(pair.access_token)).status).to.equal(200);
      // The verifier's clock is 3 s behind the issuer's: "now" here is before the session began.
      await verifier.auth.revoke({ sub }, { reason: 'password_changed', actor: 'admin' });
      for (const app of apps) {
        expect((await get(`${app.url}/api/me`, bearer(pair.access_token))).status).to.equal(401);
        const refused = await postJson(`${app.url}/token/refresh`, { token: pair.refresh_token });
        expect(refused.body['error']).to.equal('invalid_grant');
      }
    });

    it('still lets the subject sign in again a second after it, when the clocks agree', async () => {
      const user = { id: 'u-skew-again' };
      const first = await issuedAhead(0, user);
      const sub = decodeJwt(first.access_token).sub as string;
      await verifier.auth.revoke({ sub }, { reason: 'password_changed', actor: 'admin' });
      issuerClock.advance(1000);
      const again = await issuer.auth.issue(user, { source: 'saml' });
      expect((await me(first.access_token)).status).to.equal(401);
      expect((await me(again.access_token)).status).to.equal(200);
    });
  });
});
