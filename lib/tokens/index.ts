/** The token layer: keys, claims, signing and verification. */
export {
  SIGNING_ALGORITHMS,
  isSigningAlgorithm,
  type HmacAlgorithm,
  type SigningAlgorithm,
} from './algorithms.js';
export type { KeySource } from './key-sources.js';
export {
  loadKeys,
  type KeySet,
  type LoadKeysOptions,
  type PublicJwk,
  type PublicJwks,
  type TokenKey,
} from './keys.js';
export {
  ACCESS_TOKEN_TYP,
  DEFAULT_CLAIMS_MAP,
  REFRESH_TOKEN_TYP,
  REGISTERED_CLAIMS,
  assertClaimsMap,
  buildAccessClaims,
  buildRefreshClaims,
  newSessionId,
  newTokenId,
  subjectFor,
  type AccessClaimsOptions,
  type AccessTokenClaims,
  type ClaimsMap,
  type ClaimsOptions,
  type IssueContext,
  type RefreshTokenClaims,
  type TokenClaims,
  type TokenTyp,
  type TokenType,
  type UserRecord,
} from './claims.js';
export { signToken } from './sign.js';
export {
  DEFAULT_MAX_TOKEN_LENGTH,
  verifyToken,
  type VerifiedToken,
  type VerifyOptions,
} from './verify.js';
export { DEFAULT_VERIFY_CACHE_ENTRIES, VerifiedTokenCache } from './verified-cache.js';
export { invalidToken, toInvalidTokenError } from './jose-errors.js';
