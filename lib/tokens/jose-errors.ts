/**
 * The one place where jose's errors become the plugin's `InvalidTokenError`. Messages are short and
 * generic: they never echo the token, its claims or a key (SECURITY.md, "Defences and their
 * tests"); `reason` says why.
 */
import { errors } from 'jose';
import { InvalidTokenError, type InvalidTokenReason } from '../errors.js';

const MESSAGES: Readonly<Record<InvalidTokenReason, string>> = {
  malformed: 'The token is malformed',
  signature: 'The token signature is invalid',
  algorithm: 'The token algorithm is not accepted',
  header: 'The token header is not accepted',
  claims: 'The token claims are invalid',
  expired: 'The token has expired',
  not_yet_valid: 'The token is not yet valid',
  wrong_type: 'The token is not of the expected type',
  revoked: 'The token has been revoked',
  session_expired: 'The session has expired',
  unknown: 'The token is not valid',
};

/** An `InvalidTokenError` with the generic message for `reason`. */
export function invalidToken(reason: InvalidTokenReason): InvalidTokenError {
  return new InvalidTokenError(MESSAGES[reason], reason);
}

function reasonFor(error: errors.JOSEError): InvalidTokenReason {
  switch (error.code) {
    case errors.JWTExpired.code:
      return 'expired';
    case errors.JWTClaimValidationFailed.code: {
      const { claim, reason } = error as errors.JWTClaimValidationFailed;
      if (claim === 'typ') return 'wrong_type';
      if ((claim === 'nbf' || claim === 'iat') && reason === 'check_failed') return 'not_yet_valid';
      return 'claims';
    }
    case errors.JWSSignatureVerificationFailed.code:
      return 'signature';
    case errors.JOSEAlgNotAllowed.code:
      return 'algorithm';
    // Unrecognised `crit` extensions and unsupported algorithms.
    case errors.JOSENotSupported.code:
      return 'header';
    case errors.JWSInvalid.code:
    case errors.JWTInvalid.code:
      return 'malformed';
    default:
      return 'unknown';
  }
}

/**
 * Maps a jose error to an `InvalidTokenError` (an `InvalidTokenError` passes through). Anything
 * else is not a problem with the token but a bug or a misconfiguration, and is rethrown as is.
 * The jose error is deliberately not kept as `cause`: claim errors carry the whole claims set.
 */
export function toInvalidTokenError(error: unknown): InvalidTokenError {
  if (error instanceof InvalidTokenError) return error;
  if (error instanceof errors.JOSEError) return invalidToken(reasonFor(error));
  throw error;
}
