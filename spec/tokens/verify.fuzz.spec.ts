/**
 * Garbage and forged tokens are refused with an InvalidTokenError (a 401), never any other error (a
 * 500).
 */
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import fc from 'fast-check';
import { base64url } from 'jose';
import { InvalidTokenError } from '../../lib/errors.js';
import { ACCESS_TOKEN_TYP } from '../../lib/tokens/claims.js';
import { loadKeys, type KeySet } from '../../lib/tokens/keys.js';
import { signToken } from '../../lib/tokens/sign.js';
import { verifyToken } from '../../lib/tokens/verify.js';
import { fakeClock } from '../support/clock.js';
import { keyPair, secretFor } from '../support/keys.js';
import { accessClaims, signRaw, verifyOptions } from '../support/tokens.js';

use(chaiAsPromised);

describe('tokens/verify with random input', () => {
  const clock = fakeClock();
  let keys: KeySet;
  let valid: string;

  before(async () => {
    keys = await loadKeys(
      [
        { privateKeyPem: (await keyPair('ES256')).privatePem, kid: 'es' },
        { secret: secretFor('HS256'), kid: 'hs', alg: 'HS256' },
      ],
      { defaultAlgorithm: 'ES256' },
    );
    valid = await signToken(keys, ACCESS_TOKEN_TYP, accessClaims(clock));
  });

  const refusedAsInvalidToken = async (jwt: string) => {
    await expect(verifyToken(keys, jwt, verifyOptions(clock))).to.be.rejectedWith(
      InvalidTokenError,
    );
  };
  const part = (value: unknown) => base64url.encode(JSON.stringify(value) ?? 'undefined');

  it('refuses arbitrary strings', async () => {
    await fc.assert(fc.asyncProperty(fc.string({ maxLength: 300 }), refusedAsInvalidToken), {
      numRuns: 300,
    });
  });

  it('refuses three arbitrary base64url parts', async () => {
    const b64 = fc.string({ unit: fc.constantFrom(...'abcXYZ019-_'), minLength: 1, maxLength: 60 });
    await fc.assert(
      fc.asyncProperty(b64, b64, b64, (h, p, s) => refusedAsInvalidToken(`${h}.${p}.${s}`)),
      { numRuns: 300 },
    );
  });

  it('refuses arbitrary JSON headers and payloads with a garbage signature', async () => {
    const header = fc.record(
      {
        alg: fc.constantFrom('ES256', 'HS256', 'none', 'RS256', 'EdDSA'),
        kid: fc.constantFrom('es', 'hs', '', '../x', 'other'),
        typ: fc.constantFrom('at+jwt', 'rt+jwt', 'JWT'),
        extra: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(header, fc.jsonValue(), (h, p) =>
        refusedAsInvalidToken(`${part(h)}.${part(p)}.c2ln`),
      ),
      { numRuns: 300 },
    );
  });

  it('refuses arbitrary payloads validly signed by the configured secret', async () => {
    const hs = keys.verificationKey('hs')!.key;
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (payload) => {
        const jwt = await signRaw(
          hs,
          { alg: 'HS256', kid: 'hs', typ: 'at+jwt' },
          JSON.stringify(payload) ?? '',
        );
        await refusedAsInvalidToken(jwt);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses every single-character change to a valid token but its last', async () => {
    // The last character of a base64url signature carries unused low bits, so some changes to it
    // decode to the same signature (RFC 4648 section 3.5): nothing may key on the token string.
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: valid.length - 2 }),
        fc.constantFrom(...'AQgw-_.='),
        (i, c) => {
          fc.pre(valid[i] !== c);
          return refusedAsInvalidToken(`${valid.slice(0, i)}${c}${valid.slice(i + 1)}`);
        },
      ),
      { numRuns: 300 },
    );
  });
});
