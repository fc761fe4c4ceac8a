import { expect } from 'chai';
import { createSecretKey } from 'node:crypto';
import { ConfigError } from '../../lib/errors.js';
import {
  DEFAULT_CLAIMS_MAP,
  REGISTERED_CLAIMS,
  buildAccessClaims,
  buildRefreshClaims,
  newSessionId,
  newTokenId,
  subjectFor,
} from '../../lib/tokens/claims.js';
import { fakeClock } from '../support/clock.js';
import { ALICE, ISSUER, issueContext } from '../support/tokens.js';

const SECRET = 'a subject secret of at least thirty-two bytes';
const ACCESS = { issuer: ISSUER, ttlSeconds: 1800 };

describe('tokens/claims', () => {
  describe('subjectFor', () => {
    it('is stable for the same user id and secret', () => {
      expect(subjectFor('42', SECRET)).to.equal(subjectFor('42', SECRET));
      expect(subjectFor('42', SECRET)).to.equal(
        subjectFor('42', createSecretKey(Buffer.from(SECRET))),
      );
    });

    it('differs by user id and by secret, and does not contain the user id', () => {
      const sub = subjectFor('42', SECRET);
      expect(subjectFor('43', SECRET)).not.to.equal(sub);
      expect(subjectFor('42', `${SECRET}!`)).not.to.equal(sub);
      expect(sub).to.match(/^[\w-]{43}$/);
      expect(sub).not.to.include('42');
    });
  });

  describe('newTokenId and newSessionId', () => {
    it('draw at least 128 bits, base64url encoded', () => {
      for (const id of [newTokenId(), newSessionId()]) {
        expect(id).to.match(/^[\w-]+$/);
        expect(Buffer.from(id, 'base64url').length).to.be.at.least(16);
      }
    });

    it('never repeat across 1000 draws', () => {
      const ids = new Set(Array.from({ length: 1000 }, newTokenId));
      const sids = new Set(Array.from({ length: 1000 }, newSessionId));
      expect(ids.size).to.equal(1000);
      expect(sids.size).to.equal(1000);
    });
  });

  describe('buildAccessClaims', () => {
    it('sets the registered claims from the options and the issue context', () => {
      const clock = fakeClock();
      const context = issueContext(clock, { scope: 'introspection audit' });
      const claims = buildAccessClaims(ALICE, { ...ACCESS, audience: 'api' }, context);
      expect(claims).to.include({
        iss: ISSUER,
        sub: context.sub,
        aud: 'api',
        iat: context.now,
        exp: context.now + 1800,
        jti: context.jti,
        sid: context.sid,
        ttype: 'T',
        scope: 'introspection audit',
      });
    });

    it('omits aud and scope when not configured', () => {
      const claims = buildAccessClaims(ALICE, ACCESS, issueContext(fakeClock()));
      expect(claims).not.to.have.property('aud');
      expect(claims).not.to.have.property('scope');
    });

    it('maps user fields with the default claims map, skipping absent and null fields', () => {
      const user = { id: '7', username: 'bob', first_name: 'Bob', last_name: null };
      const claims = buildAccessClaims(user, ACCESS, issueContext(fakeClock()));
      expect(claims).to.include({ username: 'bob', given_name: 'Bob' });
      expect(claims).not.to.have.property('family_name');
      expect(claims).not.to.have.property('email');
      expect(claims).not.to.have.property('id');
      expect(DEFAULT_CLAIMS_MAP).to.deep.equal({
        username: 'username',
        first_name: 'given_name',
        last_name: 'family_name',
        email: 'email',
      });
    });

    it('maps user fields with a custom claims map only', () => {
      const claims = buildAccessClaims(
        ALICE,
        { ...ACCESS, claimsMap: { email: 'mail', username: 'preferred_username' } },
        issueContext(fakeClock()),
      );
      expect(claims).to.include({ mail: 'alice@example.org', preferred_username: 'alice' });
      expect(claims).not.to.have.property('given_name');
      expect(claims).not.to.have.property('username');
    });

    it('adds extra claims', () => {
      const claims = buildAccessClaims(ALICE, ACCESS, issueContext(fakeClock()), {
        groups: ['staff'],
        tenant: 't1',
      });
      expect(claims).to.deep.include({ groups: ['staff'], tenant: 't1' });
    });

    for (const claim of REGISTERED_CLAIMS) {
      it(`refuses extra claims that would override a registered claim [${claim}]`, () => {
        expect(() =>
          buildAccessClaims(ALICE, ACCESS, issueContext(fakeClock()), { [claim]: 'x' }),
        ).to.throw(ConfigError, `"${claim}"`);
      });
    }

    it('refuses extra claims that would override a mapped user claim', () => {
      expect(() =>
        buildAccessClaims(ALICE, ACCESS, issueContext(fakeClock()), { email: 'evil@example.org' }),
      ).to.throw(ConfigError, '"email"');
    });

    it('refuses extra claims that are not an object', () => {
      expect(() =>
        buildAccessClaims(ALICE, ACCESS, issueContext(fakeClock()), [] as never),
      ).to.throw(ConfigError, 'extraClaims');
    });

    it('refuses a claims map that produces a registered claim', () => {
      expect(() =>
        buildAccessClaims(
          ALICE,
          { ...ACCESS, claimsMap: { username: 'iss' } },
          issueContext(fakeClock()),
        ),
      ).to.throw(ConfigError, 'claimsMap.username');
    });

    it('is a pure function of its inputs', () => {
      const context = issueContext(fakeClock());
      expect(buildAccessClaims(ALICE, ACCESS, context)).to.deep.equal(
        buildAccessClaims(ALICE, ACCESS, context),
      );
    });
  });

  describe('buildRefreshClaims', () => {
    it('sets the registered claims with ttype R and no user claims', () => {
      const context = issueContext(fakeClock(), { scope: 'audit' });
      const claims = buildRefreshClaims(
        { issuer: ISSUER, ttlSeconds: 3600, audience: ['a', 'b'] },
        context,
      );
      expect(claims).to.deep.equal({
        iss: ISSUER,
        sub: context.sub,
        aud: ['a', 'b'],
        iat: context.now,
        exp: context.now + 3600,
        jti: context.jti,
        sid: context.sid,
        ttype: 'R',
        scope: 'audit',
      });
    });
  });
});
