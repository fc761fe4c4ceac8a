/**
 * The default refresh-token MAC key: HKDF-SHA256 (RFC 5869) of `subjectSecret`, the same on every
 * instance and across versions (or an upgrade would end every session), a kid that names it
 * without revealing it, and a key set with nothing to publish.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { base64url } from 'jose';
import {
  REFRESH_MAC_INFO,
  deriveRefreshMacKey,
  refreshMacKeySet,
} from '../../lib/tokens/refresh-key.js';

/** RFC 5869 section 2 written out with HMAC, independently of node:crypto's hkdfSync. */
function rfc5869(ikm: string, salt: string, info: string, length: number): Buffer {
  const prk = createHmac('sha256', salt).update(ikm, 'utf8').digest();
  let block = Buffer.alloc(0);
  const out: Buffer[] = [];
  for (let i = 1; Buffer.concat(out).length < length; i += 1) {
    block = createHmac('sha256', prk)
      .update(Buffer.concat([block, Buffer.from(info, 'utf8'), Buffer.from([i])]))
      .digest();
    out.push(block);
  }
  return Buffer.concat(out).subarray(0, length);
}

const SECRET = 'an example subject secret of 32+ characters';

describe('refresh-token MAC key', () => {
  it('is HKDF-SHA256 of subjectSecret with the v1 label, stable across versions', () => {
    const { kid, secret } = deriveRefreshMacKey(SECRET);
    expect(REFRESH_MAC_INFO).to.equal('koa-jwtconnect refresh-token MAC v1');
    const key = rfc5869(SECRET, 'koa-jwtconnect', REFRESH_MAC_INFO, 32);
    expect(Buffer.from(secret).equals(key)).to.equal(true);
    const kidBytes = rfc5869(SECRET, 'koa-jwtconnect', `${REFRESH_MAC_INFO} kid`, 9);
    expect(kid).to.equal(`rt-mac-${kidBytes.toString('base64url')}`);
    // Pinned: a change here ends every outstanding refresh token at the upgrade.
    expect(kid).to.equal('rt-mac-1g2p53PLOzs_');
  });

  it('gives another key and kid for another secret, and the same for the same one', () => {
    const a = deriveRefreshMacKey(SECRET);
    const again = deriveRefreshMacKey(SECRET);
    const b = deriveRefreshMacKey(`${SECRET}!`);
    expect(again).to.deep.equal(a);
    expect(b.kid).to.not.equal(a.kid);
    expect(Buffer.from(b.secret).equals(Buffer.from(a.secret))).to.equal(false);
  });

  it('has a kid that shows neither the key nor the secret', () => {
    const subjectSecret = randomBytes(32).toString('base64url');
    const { kid, secret } = deriveRefreshMacKey(subjectSecret);
    const keyText = base64url.encode(secret);
    expect(kid).to.match(/^rt-mac-[\w-]{12}$/);
    for (const shown of [subjectSecret, keyText, Buffer.from(secret).toString('hex')]) {
      expect(shown).to.not.include(kid.slice('rt-mac-'.length));
      expect(kid).to.not.include(shown.slice(0, 8));
    }
  });

  it('builds a key set that MACs with HS256 under the kid and publishes nothing', async () => {
    const keys = await refreshMacKeySet(SECRET);
    const { kid } = deriveRefreshMacKey(SECRET);
    expect(keys.signing).to.include({ kid, alg: 'HS256' });
    expect([...keys.algorithms]).to.deep.equal(['HS256']);
    expect(keys.verificationKey(kid)).to.equal(keys.signing);
    expect(keys.jwks()).to.deep.equal({ keys: [] });
    expect(keys.signing.key.extractable).to.equal(false);
  });
});
