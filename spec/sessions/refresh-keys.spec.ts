/**
 * `refreshKeys`: refresh tokens signed by a key of their own (here a shared secret, the reason to
 * use the option), which only this server verifies. Access tokens, JWKS and every refresh rule stay
 * as they were, and nothing signed with one set is accepted in the other's place.
 */
import { randomBytes } from 'node:crypto';
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { InvalidGrantError, InvalidTokenError, KeyError } from '../../lib/errors.js';
import { openTestDatabase, type TestDatabase } from '../support/db.js';
import { keyPair, type TestKeyPair } from '../support/keys.js';
import { testPlugin, type TestPlugin } from '../support/plugin.js';
import { signRaw } from '../support/tokens.js';

use(chaiAsPromised);

describe('refreshKeys [MongoDB]', () => {
  let t: TestDatabase;
  let server: TestKeyPair;
  const secret = randomBytes(32).toString('base64url');
  /** Refresh tokens MACed with `secret`. */
  let mac: TestPlugin;
  /** The same keys and database without the option: refresh tokens MACed by the derived key. */
  let plain: TestPlugin;
  let users = 0;
  const user = () => ({ id: `refresh-keys-${++users}` });

  before(async () => {
    t = await openTestDatabase('refresh_keys');
    server = await keyPair('RS256');
    const keys = { privateKeyPem: server.privatePem, alg: 'RS256' as const };
    mac = await testPlugin(t.db, { keys, refreshKeys: { secret, kid: 'refresh-1' } });
    plain = await testPlugin(t.db, { keys }, mac.clock);
  });
  after(async () => {
    await mac.auth.close();
    await plain.auth.close();
    await t.dispose();
  });

  it('signs refresh tokens with the refresh key and access tokens with keys, publishing neither secret', async () => {
    const pair = await mac.auth.issue(user(), { source: 'test' });
    expect(decodeProtectedHeader(pair.refresh_token)).to.deep.equal({
      alg: 'HS256',
      kid: 'refresh-1',
      typ: 'rt+jwt',
    });
    expect(decodeProtectedHeader(pair.access_token)).to.include({ alg: 'RS256', typ: 'at+jwt' });
    const jwks = mac.auth.tokens.jwks();
    expect(jwks).to.deep.equal(plain.auth.tokens.jwks());
    expect(JSON.stringify(jwks)).to.not.include('refresh-1');
  });

  it('rotates, and revokes the session when a spent refresh token comes back', async () => {
    const first = await mac.auth.issue(user(), { source: 'test' });
    const second = await mac.auth.refresh(first.refresh_token);
    expect(decodeProtectedHeader(second.refresh_token).alg).to.equal('HS256');
    await mac.auth.tokens.verify(second.access_token);
    mac.clock.advance(10_000);
    await expect(mac.auth.refresh(first.refresh_token)).to.be.rejectedWith(InvalidGrantError);
    await expect(mac.auth.tokens.verify(second.access_token))
      .to.be.rejectedWith(InvalidTokenError)
      .and.eventually.have.property('reason', 'revoked');
  });

  it('keeps refreshing tokens that keys signed before the option was set', async () => {
    const pair = await plain.auth.issue(user(), { source: 'test' });
    const { kid } = decodeProtectedHeader(pair.access_token);
    const before = await signRaw(
      server.privateKey,
      { alg: 'RS256', kid: kid!, typ: 'rt+jwt' },
      decodeJwt(pair.refresh_token),
    );
    const after = await mac.auth.refresh(before);
    expect(decodeProtectedHeader(after.refresh_token)).to.include({
      alg: 'HS256',
      kid: 'refresh-1',
    });
  });

  it('signs with its key but keeps refreshing tokens the key derived from subjectSecret MACed', async () => {
    const pair = await plain.auth.issue(user(), { source: 'test' });
    expect(decodeProtectedHeader(pair.refresh_token).kid).to.match(/^rt-mac-/);
    const after = await mac.auth.refresh(pair.refresh_token);
    expect(decodeProtectedHeader(after.refresh_token)).to.include({ kid: 'refresh-1' });
  });

  it('is needed to verify its refresh tokens: an instance without it refuses them', async () => {
    const pair = await mac.auth.issue(user(), { source: 'test' });
    await expect(plain.auth.refresh(pair.refresh_token)).to.be.rejectedWith(InvalidGrantError);
    await mac.auth.refresh(pair.refresh_token);
  });

  it('refuses an access token MACed with the refresh secret over recorded claims', async () => {
    const pair = await mac.auth.issue(user(), { source: 'test' });
    const claims = decodeJwt(pair.access_token);
    const key = new TextEncoder().encode(secret);
    for (const kid of ['refresh-1', undefined]) {
      const forged = await signRaw(
        key,
        { alg: 'HS256', typ: 'at+jwt', ...(kid && { kid }) },
        claims,
      );
      await expect(mac.auth.tokens.verify(forged))
        .to.be.rejectedWith(InvalidTokenError)
        .and.eventually.have.property('reason', 'algorithm');
    }
  });

  it('refuses refresh tokens MACed with another secret or with the public key, spending nothing', async () => {
    const pair = await mac.auth.issue(user(), { source: 'test' });
    const claims = decodeJwt(pair.refresh_token);
    const header = { alg: 'HS256', kid: 'refresh-1', typ: 'rt+jwt' };
    const forgeries = [
      await signRaw(randomBytes(32), header, claims),
      await signRaw(new TextEncoder().encode(server.publicPem), header, claims),
      await signRaw(
        new TextEncoder().encode(server.publicPem),
        { ...header, kid: undefined },
        claims,
      ),
    ];
    for (const forged of forgeries) {
      await expect(mac.auth.refresh(forged)).to.be.rejectedWith(InvalidGrantError);
    }
    // The genuine token was not spent by any of them.
    await mac.auth.refresh(pair.refresh_token);
  });

  it('names refreshKeys when its key is wrong [short secret, kid of a keys key, no key that signs]', async () => {
    const keys = { privateKeyPem: server.privatePem, alg: 'RS256' as const, kid: 'main' };
    const cases = [
      { refreshKeys: { secret: 'too-short' }, message: /^refreshKeys/ },
      { refreshKeys: { secret, kid: 'main' }, message: /^refreshKeys: "kid" "main"/ },
      { refreshKeys: { publicKeyPem: server.publicPem }, message: /^refreshKeys: no key can sign/ },
    ];
    for (const { refreshKeys, message } of cases) {
      await expect(testPlugin(null, { keys, refreshKeys }))
        .to.be.rejectedWith(KeyError)
        .and.eventually.have.property('message')
        .that.matches(message);
    }
  });
});
