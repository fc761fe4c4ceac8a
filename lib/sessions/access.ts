/**
 * Checking a presented access token: signature and claims (one verification function), then
 * revocation: of the token, of its session, or by its subject's cut-off. By default the store is read
 * on every call (one round trip for session and subject); with `revocation.maxStalenessMs` a local
 * view fed from the ledger answers instead.
 */
import { InvalidTokenError } from '../errors.js';
import { coveredByCutOff, tokenStatus } from '../ledger/projection.js';
import { ACCESS_TOKEN_TYP, type TokenClaims } from '../tokens/claims.js';
import type { VerifiedToken } from '../tokens/verify.js';
import { verifyAs, type SessionDeps } from './deps.js';
import type { RevocationView } from './revocation-view.js';

export interface CheckedAccessToken extends VerifiedToken {
  token: string;
}

export async function checkAccessToken(
  deps: SessionDeps,
  token: string,
  view?: RevocationView,
): Promise<CheckedAccessToken> {
  const verified = await verifyAccessToken(deps, token);
  if (view) await view.assertNotRevoked(verified.claims);
  else await assertNotRevoked(deps, verified.claims);
  return { ...verified, token };
}

export function verifyAccessToken(deps: SessionDeps, token: string): Promise<VerifiedToken> {
  return verifyAs(deps, token, ACCESS_TOKEN_TYP);
}

/** Reads the session and subject state; a token the ledger does not know is refused (fail closed). */
async function assertNotRevoked(deps: SessionDeps, claims: TokenClaims): Promise<void> {
  const { session, subject } = await deps.ledger.loadSession(claims.sid, claims.sub);
  if (!session) throw new InvalidTokenError('the token is not valid', 'unknown');
  const view = tokenStatus(session, claims.jti, subject, deps.config.clock());
  if (!view || view.token.type !== 'access')
    throw new InvalidTokenError('the token is not valid', 'unknown');
  if (view.status === 'revoked') throw new InvalidTokenError('the token is revoked', 'revoked');
}

/** The cut-off test the local view applies, with the token's `auth_time`. */
export function authTimeCovered(claims: TokenClaims, before: Date | undefined): boolean {
  const authTime = typeof claims['auth_time'] === 'number' ? claims['auth_time'] : claims.iat;
  return before !== undefined && coveredByCutOff(authTime, before);
}
