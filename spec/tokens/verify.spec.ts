import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import type { InvalidTokenReason } from '../../lib/errors.js';
import { InvalidTokenError } from '../../lib/errors.js';
import { epochSeconds } from '../../lib/clock.js';
import { ACCESS_TOKEN_TYP, REFRESH_TOKEN_TYP } from '../../lib/tokens/claims.js';
import type { KeySet } from '../../lib/tokens/keys.js';
import { signToken } from '../../lib/tokens/sign.js';
import { verifyToken, type VerifyOptions } from '../../lib/tokens/verify.js';
import { fakeClock, type FakeClock } from '../support/clock.js';
import { es256KeySet } from '../support/keys.js';
import {
  ACCESS_TTL,
  ISSUER,
  TOLERANCE,
  accessClaims,
  refreshClaims,
  signRaw,
  verifyOptions,
} from '../support/tokens.js';

use(chaiAsPromised);

describe('tokens/verify', () => {
  let keys: KeySet;
  let clock: FakeClock;

  before(async () => {
    keys = await es256KeySet();
  });
  beforeEach(() => {
    clock = fakeClock();
  });

  const header = (typ = 'at+jwt') => ({ alg: 'ES256', kid: 'k1', typ });
  /** A token signed by the configured key itself, with any claims. */
  const signed = (claims: object, typ = 'at+jwt') => signRaw(keys.signing.key, header(typ), claims);
  const rejects = (jwt: string, reason: InvalidTokenReason, options: Partial<VerifyOptions> = {}) =>
    expect(verifyToken(keys, jwt, verifyOptions(clock, options)))
      .to.be.rejectedWith(InvalidTokenError)
      .and.eventually.include({ reason, code: 'ERR_INVALID_TOKEN', status: 401 });
  const accepts = (jwt: string, options: Partial<VerifyOptions> = {}) =>
    verifyToken(keys, jwt, verifyOptions(clock, options));

  it('returns the verified header and claims of a valid access token', async () => {
    const claims = accessClaims(clock);
    const result = await accepts(await signToken(keys, ACCESS_TOKEN_TYP, claims));
    expect(result).to.deep.equal({ header: { alg: 'ES256', kid: 'k1', typ: 'at+jwt' }, claims });
  });

  it('accepts typ in any case and with the application/ prefix (RFC 9068 section 4)', async () => {
    await accepts(await signed(accessClaims(clock), 'AT+JWT'));
    await accepts(await signed(accessClaims(clock), 'application/at+jwt'));
  });

  describe('time', () => {
    it('rejects an expired token, honouring the clock tolerance at its exact boundary', async () => {
      const jwt = await signToken(keys, ACCESS_TOKEN_TYP, accessClaims(clock));
      clock.advance((ACCESS_TTL + TOLERANCE - 1) * 1000);
      await accepts(jwt);
      clock.advance(1000);
      await rejects(jwt, 'expired');
    });

    it('rejects a token whose nbf is in the future beyond the tolerance', async () => {
      const now = epochSeconds(clock);
      await accepts(await signed({ ...accessClaims(clock), nbf: now + TOLERANCE }));
      await rejects(
        await signed({ ...accessClaims(clock), nbf: now + TOLERANCE + 1 }),
        'not_yet_valid',
      );
      await rejects(await signed({ ...accessClaims(clock), nbf: now + 3600 }), 'not_yet_valid');
    });

    it('rejects a token issued in the future beyond the tolerance', async () => {
      const now = epochSeconds(clock);
      await accepts(await signed(accessClaims(clock, { now: now + TOLERANCE })));
      await rejects(
        await signed(accessClaims(clock, { now: now + TOLERANCE + 1 })),
        'not_yet_valid',
      );
    });

    it('rejects a non-finite expiry', async () => {
      const text = JSON.stringify(accessClaims(clock)).replace(/"exp":\d+/, '"exp":1e400');
      await rejects(await signed(text as never), 'claims');
    });
  });

  describe('issuer and audience', () => {
    it('rejects a token from another issuer', async () => {
      await rejects(
        await signed({ ...accessClaims(clock), iss: 'https://evil.example' }),
        'claims',
      );
      await rejects(await signToken(keys, ACCESS_TOKEN_TYP, accessClaims(clock)), 'claims', {
        issuer: `${ISSUER}/other`,
      });
    });

    it('requires a matching aud when an audience is configured', async () => {
      const options = { audience: ['api', 'admin'] };
      await accepts(await signed({ ...accessClaims(clock), aud: 'api' }), options);
      await accepts(await signed({ ...accessClaims(clock), aud: ['x', 'admin'] }), options);
      await rejects(await signed({ ...accessClaims(clock), aud: 'other' }), 'claims', options);
      await rejects(await signed(accessClaims(clock)), 'claims', options);
    });
  });

  describe('token type', () => {
    it('rejects a refresh token where an access token is expected', async () => {
      const rt = await signToken(keys, REFRESH_TOKEN_TYP, refreshClaims(clock));
      await rejects(rt, 'wrong_type');
      await accepts(rt, { typ: REFRESH_TOKEN_TYP });
    });

    it('rejects an access token where a refresh token is expected', async () => {
      const at = await signToken(keys, ACCESS_TOKEN_TYP, accessClaims(clock));
      await rejects(at, 'wrong_type', { typ: REFRESH_TOKEN_TYP });
    });

    it('rejects a typ and ttype that disagree [at+jwt with R, rt+jwt with T]', async () => {
      await rejects(await signed(refreshClaims(clock), 'at+jwt'), 'wrong_type');
      await rejects(await signed(accessClaims(clock), 'rt+jwt'), 'wrong_type', {
        typ: REFRESH_TOKEN_TYP,
      });
    });

    it('rejects a missing or generic typ [none, JWT, application/jwt]', async () => {
      const claims = accessClaims(clock);
      await rejects(
        await signRaw(keys.signing.key, { alg: 'ES256', kid: 'k1' }, claims),
        'wrong_type',
      );
      await rejects(await signed(claims, 'JWT'), 'wrong_type');
      await rejects(await signed(claims, 'application/jwt'), 'wrong_type');
    });
  });

  describe('claims', () => {
    for (const claim of ['iss', 'sub', 'iat', 'exp', 'jti', 'sid', 'ttype'] as const) {
      it(`rejects a token without ${claim}`, async () => {
        const claims = Object.fromEntries(
          Object.entries(accessClaims(clock)).filter(([name]) => name !== claim),
        );
        await rejects(await signed(claims), 'claims');
      });
    }

    const wrongTypes: [string, unknown][] = [
      ['sub', ''],
      ['sub', 42],
      ['jti', ''],
      ['jti', ['a']],
      ['sid', null],
      ['sid', {}],
      ['iat', '1700000000'],
      ['exp', null],
      ['scope', ['audit']],
    ];
    for (const [claim, value] of wrongTypes) {
      it(`rejects a claim of the wrong type [${claim}: ${JSON.stringify(value)}]`, async () => {
        await rejects(await signed({ ...accessClaims(clock), [claim]: value }), 'claims');
      });
    }

    it('rejects an unknown ttype', async () => {
      await rejects(await signed({ ...accessClaims(clock), ttype: 'X' }), 'wrong_type');
    });
  });

  it('honours a configured maximum token length', async () => {
    const jwt = await signToken(keys, ACCESS_TOKEN_TYP, accessClaims(clock));
    await accepts(jwt, { maxTokenLength: jwt.length });
    await rejects(jwt, 'malformed', { maxTokenLength: jwt.length - 1 });
  });

  it('refuses an unknown expected typ as a caller mistake', async () => {
    const jwt = await signToken(keys, ACCESS_TOKEN_TYP, accessClaims(clock));
    await expect(accepts(jwt, { typ: 'JWT' as never })).to.be.rejectedWith(TypeError, 'typ');
  });
});
