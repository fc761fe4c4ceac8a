/**
 * Checking a presented access token: signature and claims (one verification function), then the
 * ledger: the token must be one it recorded, with the claims it recorded, and not revoked (the
 * token, its session, or its subject's cut-off). By default the store is read on every call (one
 * round trip for session and subject); with `revocation.maxStalenessMs` a local view fed from the
 * ledger answers instead, after one read confirming each new token was recorded.
 */
import { InvalidTokenError } from '../errors.js';
import { tokenStatus, type Ledger, type SessionState, type TokenState } from '../ledger/index.js';
import { ACCESS_TOKEN_TYP, type TokenClaims } from '../tokens/claims.js';
import type { VerifiedToken } from '../tokens/verify.js';
import { verifyAs, type SessionDeps } from './deps.js';
import { hasSessionEnded } from './lifetime.js';
import type { RevocationView } from './revocation-view.js';

/** The answer for a validly signed token whose session the ledger has never recorded. */
export const UNKNOWN_SESSION =
  'unknown session: the ledger has no record of this token (was the store reset?)';

/** A verified, unrevoked access token (`ctx.state.token` after `authenticate()`). */
export interface CheckedAccessToken extends VerifiedToken {
  /** The token as presented. */
  token: string;
}

export async function checkAccessToken(
  deps: SessionDeps,
  token: string,
  view?: RevocationView,
): Promise<CheckedAccessToken> {
  const verified = await verifyAccessToken(deps, token);
  if (view) await view.assertNotRevoked(verified.claims);
  else {
    const { ledger, config } = deps;
    await assertRecordedAndNotRevoked(
      ledger,
      verified.claims,
      config.clock(),
      config.sessionMaxAge,
    );
  }
  return { ...verified, token };
}

export function verifyAccessToken(deps: SessionDeps, token: string): Promise<VerifiedToken> {
  return verifyAs(deps, token, ACCESS_TOKEN_TYP);
}

/**
 * Reads the session and subject state and returns the session and the token's recorded state. A
 * token the ledger does not know as an access token of that session and subject, or whose `exp`,
 * `scope` or `aud` differ from what the ledger recorded for it, was never issued here, whoever
 * signed it, and is refused (fail closed); so is one of a session past its absolute end
 * (`sessionMaxAge`, seconds). With `exp` as recorded, the verification's expiry check (with its
 * clock tolerance) is the ledger's.
 */
export async function assertRecordedAndNotRevoked(
  ledger: Ledger,
  claims: TokenClaims,
  now: number,
  sessionMaxAge: number,
): Promise<{ session: SessionState; token: TokenState }> {
  const { session, subject } = await ledger.loadSession(claims.sid, claims.sub);
  // Said plainly: after a restart on the in-memory store (or a reset database) every token the
  // host still holds is validly signed but unknown, which "not valid" would leave unexplained.
  if (!session) throw new InvalidTokenError(UNKNOWN_SESSION, 'unknown');
  if (session.sub !== claims.sub) throw new InvalidTokenError('the token is not valid', 'unknown');
  const view = tokenStatus(session, claims.jti, subject, now);
  if (!view || view.token.type !== 'access') {
    throw new InvalidTokenError('unknown token: its session has no record of it', 'unknown');
  }
  if (!claimsAsRecorded(claims, session, view.token)) {
    throw new InvalidTokenError('the token is not valid', 'unknown');
  }
  if (view.status === 'revoked') throw new InvalidTokenError('the token is revoked', 'revoked');
  if (hasSessionEnded(session, sessionMaxAge, now)) throw sessionExpired();
  return { session, token: view.token };
}

/**
 * Whether a token's `exp`, `scope` and `aud` are those the ledger recorded for it. A token signed
 * with the right key but claims of its own (a leaked key, a second service misconfigured with it)
 * must not raise its own scope, audience or lifetime: defence in depth behind the signature.
 */
export function claimsAsRecorded(
  claims: Pick<TokenClaims, 'exp' | 'scope' | 'aud'>,
  session: Pick<SessionState, 'scope' | 'aud'>,
  token: Pick<TokenState, 'exp'>,
): boolean {
  if (claims.exp !== token.exp) return false;
  if (claims.scope !== session.scope) return false;
  const presented = audiences(claims.aud);
  const recorded = audiences(session.aud);
  return presented.length === recorded.length && presented.every((aud) => recorded.includes(aud));
}

function audiences(aud: unknown): unknown[] {
  return aud === undefined ? [] : [aud].flat();
}

export function sessionExpired(): InvalidTokenError {
  return new InvalidTokenError('the session has expired', 'session_expired');
}
