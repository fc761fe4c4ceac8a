/**
 * Defence in depth against a token re-signed with the signing key (a leaked key, a second service
 * misconfigured with it): `scope`, `aud` and `exp` are enforced as the ledger recorded them, so
 * such a token cannot raise its own scope, audience or lifetime. Each attack is paired with the
 * genuine claims re-signed the same way, which pass: only the altered claim makes the difference.
 */
import { expect } from 'chai';
import {
  decodeJwt,
  decodeProtectedHeader,
  type CompactJWSHeaderParameters,
  type JWTPayload,
} from 'jose';
import { InvalidGrantError, InvalidTokenError } from '../../lib/errors.js';
import type { JwtConnect } from '../../lib/jwtconnect.js';
import { bearer, postJson, startApp } from '../support/http.js';
import { ALICE, signingKeyOf, testPlugin, type TestPlugin } from '../support/plugin.js';
import { signRaw } from '../support/tokens.js';
import '../ledger/expect.js';

async function resign(token: string, changes: JWTPayload): Promise<string> {
  const header = decodeProtectedHeader(token) as CompactJWSHeaderParameters;
  return signRaw(await signingKeyOf(token), header, {
    ...decodeJwt(token),
    ...changes,
  });
}

const ATTACKS: [string, JWTPayload][] = [
  ['a raised scope', { scope: 'admin introspection audit' }],
  ['a scope where none was recorded', { scope: 'admin' }],
  ['an exp of 1e300', { exp: 1e300 }],
  ['an exp a day later', { exp: Math.floor(Date.UTC(2026, 0, 16, 12) / 1000) }],
  ['another audience', { aud: 'https://other.example.org' }],
];

for (const mode of ['store', 'view'] as const) {
  describe(`claims enforced as recorded [${mode} mode]`, () => {
    let p: TestPlugin;
    let auth: JwtConnect;

    beforeEach(async () => {
      p = await testPlugin(null, mode === 'view' ? { revocation: { maxStalenessMs: 1000 } } : {});
      auth = p.auth;
    });
    afterEach(() => auth.close());

    it('accepts the genuine claims re-signed (the control)', async () => {
      const pair = await auth.issue(ALICE, { source: 'saml' });
      await expect(auth.tokens.verify(await resign(pair.access_token, {}))).to.be.fulfilled;
    });

    for (const [what, changes] of ATTACKS) {
      it(`refuses an access token re-signed with ${what}`, async () => {
        const pair = await auth.issue(ALICE, { source: 'saml' });
        // Seen once as it was issued: a view must not remember it as good for other claims.
        await auth.tokens.verify(pair.access_token);
        await expect(auth.tokens.verify(await resign(pair.access_token, changes)))
          .to.be.rejectedWith(InvalidTokenError)
          .and.eventually.include({ code: 'ERR_INVALID_TOKEN' });
      });
    }

    it('refuses, after its recorded expiry, an access token re-signed to live longer', async () => {
      const pair = await auth.issue(ALICE, { source: 'saml' });
      await auth.tokens.verify(pair.access_token);
      const longer = await resign(pair.access_token, { exp: 1e300 });
      p.clock.advance(3 * 3600_000);
      await expect(auth.tokens.verify(longer)).to.be.rejectedWith(InvalidTokenError);
    });
  });
}

describe('claims enforced as recorded [introspection, refresh]', () => {
  let p: TestPlugin;

  beforeEach(async () => {
    p = await testPlugin(null);
  });
  afterEach(() => p.auth.close());

  it('answers inactive at the introspection route for a token re-signed with a raised scope or lifetime', async () => {
    const pair = await p.auth.issue(ALICE, { source: 'saml' });
    const app = await startApp(p.auth);
    try {
      const ask = async (token: string) =>
        (await postJson(`${app.url}/token/introspection`, { token }, bearer(pair.access_token)))
          .body;
      expect((await ask(await resign(pair.access_token, {})))['active'], 'control').to.equal(true);
      for (const [what, changes] of ATTACKS) {
        expect(await ask(await resign(pair.access_token, changes)), what).to.deep.equal({
          active: false,
        });
      }
    } finally {
      await app.close();
    }
  });

  it('refuses a refresh token re-signed to outlive its recorded expiry, spending nothing', async () => {
    const pair = await p.auth.issue(ALICE, { source: 'saml' });
    const longer = await resign(pair.refresh_token, { exp: 1e300 });
    p.clock.advance(2 * 3600_000);
    await expect(p.auth.refresh(longer)).to.be.rejectedWith(InvalidGrantError);
    const sid = decodeJwt(pair.access_token)['sid'] as string;
    const types = (await p.auth.audit.history({ sid })).events.map((event) => event.type);
    expect(types).to.deep.equal(['issued']);
  });
});
