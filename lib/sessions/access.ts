/**
 * Checking a presented access token: signature and claims (one verification function), then the
 * ledger, through the deps' revocation check: the token must be one it recorded, with the claims it
 * recorded, and not revoked (the token, its session, or its subject's cut-off).
 */
import { ACCESS_TOKEN_TYP } from '../tokens/claims.js';
import type { VerifiedToken } from '../tokens/verify.js';
import { verifyAs, type SessionDeps } from './deps.js';

/** A verified, unrevoked access token (`ctx.state.token` after `authenticate()`). */
export interface CheckedAccessToken extends VerifiedToken {
  /** The token as presented. */
  token: string;
}

export async function checkAccessToken(
  deps: SessionDeps,
  token: string,
): Promise<CheckedAccessToken> {
  const verified = await verifyAccessToken(deps, token);
  await deps.revocation.assertNotRevoked(verified.claims);
  return { ...verified, token };
}

/**
 * The first half of `checkAccessToken`: signature and claims, no ledger. Only for a caller that
 * completes the check with `deps.revocation` before it trusts the claims.
 */
export function verifyAccessToken(deps: SessionDeps, token: string): Promise<VerifiedToken> {
  return verifyAs(deps, token, ACCESS_TOKEN_TYP);
}
