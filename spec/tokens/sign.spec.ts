import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { decodeProtectedHeader } from 'jose';
import { InvalidTokenError } from '../../lib/errors.js';
import { ACCESS_TOKEN_TYP, REFRESH_TOKEN_TYP } from '../../lib/tokens/claims.js';
import { loadKeys, type KeySource, type SigningAlgorithm } from '../../lib/tokens/keys.js';
import { signToken } from '../../lib/tokens/sign.js';
import { verifyToken } from '../../lib/tokens/verify.js';
import { fakeClock } from '../support/clock.js';
import {
  ASYMMETRIC_ALGORITHMS,
  HMAC_ALGORITHMS,
  keyPair,
  newKeyPair,
  secretFor,
  selfSignedCertificate,
  tempDir,
  type TempDir,
} from '../support/keys.js';
import { accessClaims, refreshClaims, verifyOptions } from '../support/tokens.js';

use(chaiAsPromised);

type Format = [name: string, source: () => Promise<KeySource>];

describe('tokens/sign', () => {
  let dir: TempDir;
  before(async () => {
    dir = await tempDir();
  });
  after(() => dir.dispose());

  function asymmetricFormats(alg: (typeof ASYMMETRIC_ALGORITHMS)[number]): Format[] {
    return [
      ['PKCS#8 PEM', async () => ({ privateKeyPem: (await keyPair(alg)).privatePem })],
      [
        'PEM key file + X.509 certificate file',
        async () => {
          const privateKeyFile = await dir.write(`${alg}.key`, (await keyPair(alg)).privatePem);
          return { privateKeyFile, certificateFile: await selfSignedCertificate(privateKeyFile) };
        },
      ],
      ['private JWK', async () => ({ jwk: (await keyPair(alg)).privateJwk })],
      ['JWKS', async () => ({ jwks: { keys: [{ ...(await keyPair(alg)).privateJwk, alg }] } })],
      // Ed25519 keys have no legacy PEM form.
      ...(alg === 'EdDSA'
        ? []
        : [
            [
              alg.startsWith('ES') ? 'SEC1 PEM' : 'PKCS#1 PEM',
              async () => ({ privateKeyPem: (await keyPair(alg)).legacyPrivatePem! }),
            ] as Format,
          ]),
    ];
  }

  function hmacFormats(alg: (typeof HMAC_ALGORITHMS)[number]): Format[] {
    const secret = secretFor(alg);
    return [
      ['string secret', async () => ({ secret: 'S'.repeat(secret.length) })],
      ['Uint8Array secret', async () => ({ secret })],
      [
        'oct JWK',
        async () => ({ jwk: { kty: 'oct', k: Buffer.from(secret).toString('base64url') } }),
      ],
      [
        'JWKS',
        async () => ({
          jwks: { keys: [{ kty: 'oct', k: Buffer.from(secret).toString('base64url') }] },
        }),
      ],
    ];
  }

  const matrix: [SigningAlgorithm, Format][] = [
    ...ASYMMETRIC_ALGORITHMS.flatMap((alg) =>
      asymmetricFormats(alg).map((f) => [alg, f] as [SigningAlgorithm, Format]),
    ),
    ...HMAC_ALGORITHMS.flatMap((alg) =>
      hmacFormats(alg).map((f) => [alg, f] as [SigningAlgorithm, Format]),
    ),
  ];

  for (const [alg, [format, source]] of matrix) {
    it(`signs tokens that verify [${alg}, ${format}]`, async () => {
      const clock = fakeClock();
      const keys = await loadKeys(await source(), { defaultAlgorithm: alg });
      const access = accessClaims(clock);
      const refresh = refreshClaims(clock);
      const at = await signToken(keys, ACCESS_TOKEN_TYP, access);
      const rt = await signToken(keys, REFRESH_TOKEN_TYP, refresh);

      expect(decodeProtectedHeader(at)).to.deep.equal({
        alg,
        kid: keys.signing.kid,
        typ: 'at+jwt',
      });
      expect(decodeProtectedHeader(rt)).to.deep.equal({
        alg,
        kid: keys.signing.kid,
        typ: 'rt+jwt',
      });
      const verified = await verifyToken(keys, at, verifyOptions(clock));
      expect(verified.claims).to.deep.equal(access);
      expect(verified.header).to.deep.equal({ alg, kid: keys.signing.kid, typ: 'at+jwt' });
      const verifiedRefresh = await verifyToken(
        keys,
        rt,
        verifyOptions(clock, { typ: REFRESH_TOKEN_TYP }),
      );
      expect(verifiedRefresh.claims).to.deep.equal(refresh);
    });
  }

  describe('rotation', () => {
    it('signs with the active key and still verifies tokens signed with the previous key', async () => {
      const clock = fakeClock();
      const previous = await newKeyPair('ES256');
      const next = await newKeyPair('ES256');
      const before = await loadKeys(
        { privateKeyPem: previous.privatePem, kid: 'k1' },
        { defaultAlgorithm: 'ES256' },
      );
      const old = await signToken(before, ACCESS_TOKEN_TYP, accessClaims(clock));

      const rotated = await loadKeys(
        [
          { privateKeyPem: previous.privatePem, kid: 'k1' },
          { privateKeyPem: next.privatePem, kid: 'k2', active: true },
        ],
        { defaultAlgorithm: 'ES256' },
      );
      const fresh = await signToken(rotated, ACCESS_TOKEN_TYP, accessClaims(clock));
      expect(decodeProtectedHeader(fresh).kid).to.equal('k2');
      expect((await verifyToken(rotated, fresh, verifyOptions(clock))).header.kid).to.equal('k2');
      expect((await verifyToken(rotated, old, verifyOptions(clock))).header.kid).to.equal('k1');
      // The previous key alone no longer accepts tokens of the new one.
      await expect(verifyToken(before, fresh, verifyOptions(clock)))
        .to.be.rejectedWith(InvalidTokenError)
        .and.eventually.include({ reason: 'header' });
    });

    it('verifies with a retired key configured as a public key only', async () => {
      const clock = fakeClock();
      const retired = await newKeyPair('RS256');
      const current = await keyPair('PS256');
      const before = await loadKeys(
        { privateKeyPem: retired.privatePem, kid: 'old' },
        { defaultAlgorithm: 'RS256' },
      );
      const old = await signToken(before, ACCESS_TOKEN_TYP, accessClaims(clock));
      const after = await loadKeys(
        [
          { privateKeyPem: current.privatePem, kid: 'new', alg: 'PS256' },
          { publicKeyPem: retired.publicPem, kid: 'old', alg: 'RS256' },
        ],
        { defaultAlgorithm: 'RS256' },
      );
      expect(after.signing.kid).to.equal('new');
      expect((await verifyToken(after, old, verifyOptions(clock))).header).to.deep.equal({
        alg: 'RS256',
        kid: 'old',
        typ: 'at+jwt',
      });
    });
  });

  it('refuses claims whose ttype does not match the token type', async () => {
    const clock = fakeClock();
    const keys = await loadKeys({ secret: secretFor('HS256') }, { defaultAlgorithm: 'HS256' });
    await expect(signToken(keys, ACCESS_TOKEN_TYP, refreshClaims(clock))).to.be.rejectedWith(
      TypeError,
      'ttype',
    );
    await expect(signToken(keys, REFRESH_TOKEN_TYP, accessClaims(clock))).to.be.rejectedWith(
      TypeError,
      'ttype',
    );
    await expect(signToken(keys, 'JWT' as never, accessClaims(clock))).to.be.rejectedWith(
      TypeError,
      'typ',
    );
  });
});
