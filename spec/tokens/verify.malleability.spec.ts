/**
 * One token, one spelling. A compact JWS can be respelled without the key: a base64url part whose
 * last character carries unused bits has several spellings of the same bytes (RFC 4648 section
 * 3.5), and an ECDSA signature (r, s) is equally valid as (r, n - s). Every non-canonical base64url
 * spelling is refused before any cryptography; the two signatures of an ECDSA token share one
 * verified-cache entry, so respelling a token can neither multiply entries nor evict others.
 */
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { InvalidTokenError } from '../../lib/errors.js';
import { ACCESS_TOKEN_TYP } from '../../lib/tokens/claims.js';
import type { KeySet } from '../../lib/tokens/keys.js';
import { signToken } from '../../lib/tokens/sign.js';
import { VerifiedTokenCache } from '../../lib/tokens/verified-cache.js';
import { verifyToken } from '../../lib/tokens/verify.js';
import { fakeClock } from '../support/clock.js';
import { es256KeySet } from '../support/keys.js';
import { TOLERANCE, accessClaims, verifyOptions } from '../support/tokens.js';

use(chaiAsPromised);

/** The order of the P-256 group (FIPS 186-4 appendix D.1.2.3). */
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Every other spelling of a base64url part that decodes to the same bytes. */
function respellings(part: string): string[] {
  const bytes = Buffer.from(part, 'base64url');
  return [...ALPHABET]
    .map((last) => `${part.slice(0, -1)}${last}`)
    .filter((other) => other !== part && Buffer.from(other, 'base64url').equals(bytes));
}

/** The same ES256 signature with s replaced by n - s. */
function otherS(signature: string): string {
  const bytes = Buffer.from(signature, 'base64url');
  const s = BigInt(`0x${bytes.subarray(32).toString('hex')}`);
  const flipped = Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex');
  return Buffer.concat([bytes.subarray(0, 32), flipped]).toString('base64url');
}

describe('tokens/verify: one spelling per token', () => {
  const clock = fakeClock();
  let keys: KeySet;
  let jwt: string;

  before(async () => {
    keys = await es256KeySet();
    jwt = await signToken(keys, ACCESS_TOKEN_TYP, accessClaims(clock));
  });

  it('refuses every non-canonical base64url spelling of the header, payload and signature', async () => {
    const [h, p, s] = jwt.split('.') as [string, string, string];
    const spellings = [
      ...respellings(h).map((other) => `${other}.${p}.${s}`),
      ...respellings(p).map((other) => `${h}.${other}.${s}`),
      ...[s, otherS(s)].flatMap((sig) => respellings(sig).map((other) => `${h}.${p}.${other}`)),
    ];
    // An ES256 signature (64 bytes) ends in a character with 4 unused bits: 15 other spellings each.
    expect(spellings.length).to.be.at.least(30);
    for (const spelling of spellings) {
      await expect(verifyToken(keys, spelling, verifyOptions(clock)), spelling)
        .to.be.rejectedWith(InvalidTokenError)
        .and.eventually.include({ reason: 'malformed' });
    }
  });

  it('refuses respelled payloads of every length, and a part no byte string spells', async () => {
    const lengths = new Set<number>();
    for (let pad = 0; pad < 3; pad++) {
      const token = await signToken(keys, ACCESS_TOKEN_TYP, {
        ...accessClaims(clock),
        pad: 'x'.repeat(pad),
      });
      const [h, p, s] = token.split('.') as [string, string, string];
      lengths.add(p.length % 4);
      await expect(verifyToken(keys, token, verifyOptions(clock))).to.be.fulfilled;
      // 2 or 3 characters in the last quantum: 4 or 2 unused bits, 15 or 3 other spellings.
      for (const other of respellings(p)) {
        await expect(verifyToken(keys, `${h}.${other}.${s}`, verifyOptions(clock)), other)
          .to.be.rejectedWith(InvalidTokenError)
          .and.eventually.include({ reason: 'malformed' });
      }
      // One character over a quantum (RFC 4648 section 4) spells no byte string.
      const over = p.length % 4 === 0 ? `${p}A` : `${p}${'A'.repeat(5 - (p.length % 4))}`;
      await expect(verifyToken(keys, `${h}.${over}.${s}`, verifyOptions(clock)), over)
        .to.be.rejectedWith(InvalidTokenError)
        .and.eventually.include({ reason: 'malformed' });
    }
    expect([...lengths].sort()).to.deep.equal([0, 2, 3]);
  });

  it('keeps one verified-cache entry for both signatures of an ES256 token (s and n - s)', async () => {
    const [h, p, s] = jwt.split('.') as [string, string, string];
    const high = `${h}.${p}.${otherS(s)}`;
    const cache = new VerifiedTokenCache(10);
    // What verifyAs does: a miss is verified in full, then remembered.
    for (const spelling of [jwt, high, jwt, high]) {
      const hit = cache.lookup(spelling, ACCESS_TOKEN_TYP, clock(), TOLERANCE);
      if (hit === undefined) {
        cache.remember(spelling, await verifyToken(keys, spelling, verifyOptions(clock)));
      }
    }
    expect(cache.size).to.equal(1);
    expect(cache.lookup(high, ACCESS_TOKEN_TYP, clock(), TOLERANCE)?.claims.jti).to.be.a('string');
  });

  it('does not let a respelled token evict another token from a full cache', async () => {
    const other = await signToken(keys, ACCESS_TOKEN_TYP, accessClaims(clock));
    const cache = new VerifiedTokenCache(2);
    cache.remember(other, await verifyToken(keys, other, verifyOptions(clock)));
    const [h, p, s] = jwt.split('.') as [string, string, string];
    for (const spelling of [jwt, `${h}.${p}.${otherS(s)}`]) {
      cache.remember(spelling, await verifyToken(keys, spelling, verifyOptions(clock)));
    }
    expect(cache.lookup(other, ACCESS_TOKEN_TYP, clock(), TOLERANCE)).to.not.equal(undefined);
  });
});
