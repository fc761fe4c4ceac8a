/**
 * Refresh tokens MACed by default with a key derived from `subjectSecret`: never published, never
 * accepted as an access token (by `typ` and by key: the access-token key set never holds it), with
 * refresh tokens that `keys` signed before still refreshing, and nothing of the secret or the key
 * in errors, logs or events.
 */
import { randomBytes } from 'node:crypto';
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import {
  base64url,
  decodeJwt,
  decodeProtectedHeader,
  type CompactJWSHeaderParameters,
  type JWTPayload,
} from 'jose';
import { InvalidGrantError, InvalidTokenError, KeyError } from '../../lib/errors.js';
import { deriveRefreshMacKey } from '../../lib/tokens/refresh-key.js';
import { openTestDatabase, type TestDatabase } from '../support/db.js';
import { bearer, get, postJson, startApp, type TestApp } from '../support/http.js';
import { keyPair } from '../support/keys.js';
import {
  SUBJECT_SECRET,
  refreshSignedByKeys,
  testPlugin,
  type TestPlugin,
} from '../support/plugin.js';
import { signRaw } from '../support/tokens.js';

use(chaiAsPromised);

const derived = deriveRefreshMacKey(SUBJECT_SECRET);
/** Every spelling of the secrets a leak could take. */
const SECRET_FORMS = [
  SUBJECT_SECRET,
  base64url.encode(derived.secret),
  Buffer.from(derived.secret).toString('base64'),
  Buffer.from(derived.secret).toString('hex'),
];

function expectNoSecret(text: string): void {
  for (const form of SECRET_FORMS) expect(text).to.not.include(form);
}

let users = 0;
const user = () => ({ id: `refresh-mac-${++users}`, username: `rm${users}` });

/** An access token over `pair`'s recorded access claims, MACed with the derived key. */
function forgedAccess(access: string, kid: string | undefined): Promise<string> {
  const header = { alg: 'HS256', typ: 'at+jwt', ...(kid !== undefined && { kid }) };
  return signRaw(derived.secret, header, decodeJwt(access));
}

describe('refresh tokens MACed by default [MongoDB, HTTP]', () => {
  let t: TestDatabase;
  let p: TestPlugin;
  let app: TestApp;
  /** Configured with an HS256 secret in `keys`: HMAC is an allowed access-token algorithm. */
  let hs: TestPlugin;
  let hsApp: TestApp;
  const logged: unknown[][] = [];
  const logger = {
    warn: (...args: unknown[]) => logged.push(args),
    error: (...args: unknown[]) => logged.push(args),
  };

  before(async () => {
    t = await openTestDatabase('refresh_mac');
    p = await testPlugin(t.db, { logger });
    app = await startApp(p.auth);
    const hsKeys = { secret: randomBytes(32), alg: 'HS256' as const, kid: 'access-hs' };
    hs = await testPlugin(t.db, { keys: hsKeys, logger }, p.clock);
    hsApp = await startApp(hs.auth);
  });
  after(async () => {
    await app.close();
    await hsApp.close();
    await p.auth.close();
    await hs.auth.close();
    await t.dispose();
  });

  it('MACs refresh tokens with HS256 under the derived kid, and signs access tokens with keys', async () => {
    const pair = await p.auth.issue(user(), { source: 'test' });
    expect(decodeProtectedHeader(pair.refresh_token)).to.deep.equal({
      alg: 'HS256',
      kid: derived.kid,
      typ: 'rt+jwt',
    });
    expect(decodeProtectedHeader(pair.access_token)).to.include({ alg: 'ES256', typ: 'at+jwt' });
    const next = await p.auth.refresh(pair.refresh_token);
    expect(decodeProtectedHeader(next.refresh_token).kid).to.equal(derived.kid);
    await p.auth.tokens.verify(next.access_token);
  });

  it('refuses a refresh token as a Bearer access token, for its key and for its typ', async () => {
    const pair = await p.auth.issue(user(), { source: 'test' });
    // MACed by the derived key, which the access-token key set does not hold.
    await expect(p.auth.tokens.verify(pair.refresh_token))
      .to.be.rejectedWith(InvalidTokenError)
      .and.eventually.have.property('reason', 'algorithm');
    // Signed by keys (the access-token key), it is still refused for its typ.
    await expect(p.auth.tokens.verify(await refreshSignedByKeys(pair)))
      .to.be.rejectedWith(InvalidTokenError)
      .and.eventually.have.property('reason', 'wrong_type');
    for (const token of [pair.refresh_token, await refreshSignedByKeys(pair)]) {
      const reply = await get(`${app.url}/api/me`, bearer(token));
      expect(reply.status).to.equal(401);
    }
  });

  it('refuses an access token forged with the derived key at the Bearer check and at introspection [asymmetric keys, HS256 keys]', async () => {
    for (const [plugin, served] of [
      [p, app],
      [hs, hsApp],
    ] as const) {
      const pair = await plugin.auth.issue(user(), { source: 'test', scope: 'introspection' });
      for (const kid of [derived.kid, undefined]) {
        const forged = await forgedAccess(pair.access_token, kid);
        await expect(plugin.auth.tokens.verify(forged)).to.be.rejectedWith(InvalidTokenError);
        expect((await get(`${served.url}/api/me`, bearer(forged))).status).to.equal(401);
        const asCaller = await postJson(
          `${served.url}/token/introspection`,
          { token: pair.access_token },
          bearer(forged),
        );
        expect(asCaller.status).to.equal(401);
        const asSubject = await postJson(
          `${served.url}/token/introspection`,
          { token: forged },
          bearer(pair.access_token),
        );
        expect(asSubject.status).to.equal(200);
        expect(asSubject.body).to.deep.equal({ active: false });
      }
      // The genuine token, with the same recorded claims, is active: only the key differs.
      const genuine = await postJson(
        `${served.url}/token/introspection`,
        { token: pair.access_token },
        bearer(pair.access_token),
      );
      expect(genuine.body).to.include({ active: true });
    }
  });

  it('publishes no oct key and nothing derived, at the JWKS route and in auth.tokens.jwks()', async () => {
    const { publicJwk } = await keyPair('ES256');
    for (const [plugin, served] of [
      [p, app],
      [hs, hsApp],
    ] as const) {
      const route = await get(`${served.url}/.well-known/jwks.json`);
      expect(route.status).to.equal(200);
      for (const jwks of [route.body, plugin.auth.tokens.jwks()]) {
        const text = JSON.stringify(jwks);
        expect(text).to.not.include(derived.kid);
        expect(text).to.not.match(/"oct"|"k":/);
        expectNoSecret(text);
      }
    }
    expect(p.auth.tokens.jwks().keys.map((key) => key.x)).to.deep.equal([publicJwk.x]);
    expect(hs.auth.tokens.jwks()).to.deep.equal({ keys: [] });
  });

  it('keeps refreshing a refresh token that keys signed, as before refresh tokens were MACed', async () => {
    const pair = await p.auth.issue(user(), { source: 'test' });
    const old = await refreshSignedByKeys(pair);
    expect(decodeProtectedHeader(old).alg).to.equal('ES256');
    const next = await p.auth.refresh(old);
    expect(decodeProtectedHeader(next.refresh_token).kid).to.equal(derived.kid);
    // It was the session's current refresh token: the MACed twin is spent with it.
    p.clock.advance(10_000);
    await expect(p.auth.refresh(pair.refresh_token)).to.be.rejectedWith(InvalidGrantError);
  });

  it('refuses a refresh token MACed under another subjectSecret, spending nothing', async () => {
    const pair = await p.auth.issue(user(), { source: 'test' });
    const other = deriveRefreshMacKey(randomBytes(32).toString('base64url'));
    const claims: JWTPayload = decodeJwt(pair.refresh_token);
    for (const kid of [derived.kid, other.kid, undefined]) {
      const header = { alg: 'HS256', typ: 'rt+jwt', ...(kid !== undefined && { kid }) };
      const forged = await signRaw(other.secret, header, claims);
      await expect(p.auth.refresh(forged)).to.be.rejectedWith(InvalidGrantError);
      const reply = await postJson(`${app.url}/token/refresh`, { token: forged });
      expect(reply.status).to.equal(400);
      expect(reply.body['error']).to.equal('invalid_grant');
    }
    await p.auth.refresh(pair.refresh_token);
  });

  it('ends outstanding refresh tokens when subjectSecret changes', async () => {
    const pair = await p.auth.issue(user(), { source: 'test' });
    const changed = await testPlugin(
      t.db,
      { subjectSecret: randomBytes(32).toString('base64url') },
      p.clock,
    );
    try {
      await expect(changed.auth.refresh(pair.refresh_token))
        .to.be.rejectedWith(InvalidGrantError)
        .and.eventually.have.property('cause')
        .that.has.property('reason', 'header');
      // The access token is signed by keys, which did not change.
      await changed.auth.tokens.verify(pair.access_token);
    } finally {
      await changed.auth.close();
    }
    await p.auth.refresh(pair.refresh_token);
  });

  it('puts nothing of subjectSecret or the derived key in errors, logs or events', async () => {
    const seen: unknown[] = [];
    const listener = (event: unknown) => seen.push(event);
    const events = ['issued', 'refreshed', 'revoked'] as const;
    for (const name of events) p.auth.on(name, listener);
    try {
      const pair = await p.auth.issue(user(), { source: 'test' });
      const next = await p.auth.refresh(pair.refresh_token);
      const forged = await signRaw(
        randomBytes(32),
        decodeProtectedHeader(next.refresh_token) as CompactJWSHeaderParameters,
        decodeJwt(next.refresh_token),
      );
      const errors = await Promise.all([
        p.auth.refresh(forged).catch((error: unknown) => error),
        p.auth.refresh(pair.refresh_token).catch((error: unknown) => error),
        p.auth.tokens.verify(next.refresh_token).catch((error: unknown) => error),
      ]);
      const replies = [
        await postJson(`${app.url}/token/refresh`, { token: forged }),
        await get(`${app.url}/api/me`, bearer(next.refresh_token)),
      ];
      for (const error of errors) {
        expect(error).to.be.instanceOf(Error);
        expectNoSecret(`${String(error)} ${JSON.stringify(error)} ${(error as Error).stack ?? ''}`);
      }
      for (const reply of replies)
        expectNoSecret(`${reply.text} ${JSON.stringify([...reply.headers])}`);
      const stored = await t.db.collection('jwtconnect_events').find().toArray();
      expect(stored).to.not.be.empty;
      expectNoSecret(JSON.stringify(stored));
      expect(seen).to.not.be.empty;
      expectNoSecret(JSON.stringify(seen));
      expectNoSecret(JSON.stringify(logged, (_key, value: unknown) => String(value)));
    } finally {
      for (const name of events) p.auth.off(name, listener);
    }
  });

  it('refreshes on another instance with the same subjectSecret', async () => {
    const pair = await p.auth.issue(user(), { source: 'test' });
    const second = await testPlugin(t.db, {}, p.clock);
    try {
      const next = await second.auth.refresh(pair.refresh_token);
      expect(decodeProtectedHeader(next.refresh_token).kid).to.equal(derived.kid);
      await p.auth.refresh(next.refresh_token);
    } finally {
      await second.auth.close();
    }
  });

  it('names the derived key, not the secret, when a keys kid takes its kid', async () => {
    const { privatePem } = await keyPair('ES256');
    await expect(
      testPlugin(null, { keys: { privateKeyPem: privatePem, alg: 'ES256', kid: derived.kid } }),
    )
      .to.be.rejectedWith(KeyError)
      .and.eventually.have.property('message')
      .that.matches(/^the refresh-token MAC key: "kid" "rt-mac-[\w-]+" is also a "keys" kid$/);
  });
});
