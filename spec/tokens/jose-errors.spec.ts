import { expect } from 'chai';
import { errors } from 'jose';
import { InvalidTokenError, type InvalidTokenReason } from '../../lib/errors.js';
import { invalidToken, toInvalidTokenError } from '../../lib/tokens/jose-errors.js';

const PAYLOAD = { sub: 'secret-subject', jti: 'secret-jti' };

describe('tokens/jose-errors', () => {
  const cases: [string, errors.JOSEError, InvalidTokenReason][] = [
    ['JWTExpired', new errors.JWTExpired('exp', PAYLOAD, 'exp', 'check_failed'), 'expired'],
    [
      'nbf in the future',
      new errors.JWTClaimValidationFailed('nbf', PAYLOAD, 'nbf', 'check_failed'),
      'not_yet_valid',
    ],
    [
      'iat in the future',
      new errors.JWTClaimValidationFailed('iat', PAYLOAD, 'iat', 'check_failed'),
      'not_yet_valid',
    ],
    [
      'nbf not a number',
      new errors.JWTClaimValidationFailed('nbf', PAYLOAD, 'nbf', 'invalid'),
      'claims',
    ],
    [
      'typ mismatch',
      new errors.JWTClaimValidationFailed('typ', PAYLOAD, 'typ', 'check_failed'),
      'wrong_type',
    ],
    [
      'iss mismatch',
      new errors.JWTClaimValidationFailed('iss', PAYLOAD, 'iss', 'check_failed'),
      'claims',
    ],
    [
      'missing claim',
      new errors.JWTClaimValidationFailed('sid', PAYLOAD, 'sid', 'missing'),
      'claims',
    ],
    ['bad signature', new errors.JWSSignatureVerificationFailed(), 'signature'],
    ['algorithm not allowed', new errors.JOSEAlgNotAllowed('alg'), 'algorithm'],
    ['unsupported crit or alg', new errors.JOSENotSupported('crit'), 'header'],
    ['invalid JWS', new errors.JWSInvalid('jws'), 'malformed'],
    ['invalid JWT', new errors.JWTInvalid('jwt'), 'malformed'],
    ['any other jose error', new errors.JWKSNoMatchingKey(), 'unknown'],
  ];

  for (const [name, error, reason] of cases) {
    it(`maps a jose error to an InvalidTokenError [${name} -> ${reason}]`, () => {
      const mapped = toInvalidTokenError(error);
      expect(mapped).to.be.instanceOf(InvalidTokenError);
      expect(mapped).to.include({
        reason,
        code: 'ERR_INVALID_TOKEN',
        status: 401,
        error: 'invalid_token',
      });
      expect(mapped.message).to.equal(invalidToken(reason).message);
      expect(mapped.message).not.to.include('secret');
      expect(mapped.cause).to.equal(undefined);
    });
  }

  it('passes an InvalidTokenError through unchanged', () => {
    const error = invalidToken('header');
    expect(toInvalidTokenError(error)).to.equal(error);
  });

  it('rethrows errors that are not about the token', () => {
    const bug = new TypeError('Invalid clockTolerance option input');
    expect(() => toInvalidTokenError(bug)).to.throw(bug);
  });

  it('gives each reason a short generic message', () => {
    const reasons: InvalidTokenReason[] = [
      'malformed',
      'signature',
      'algorithm',
      'header',
      'claims',
      'expired',
      'not_yet_valid',
      'wrong_type',
      'revoked',
      'unknown',
    ];
    const messages = new Set(reasons.map((r) => invalidToken(r).message));
    expect(messages.size).to.equal(reasons.length);
    for (const message of messages) expect(message).to.match(/^The token [a-z ]+$/);
  });
});
