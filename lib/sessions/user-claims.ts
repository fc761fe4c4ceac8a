/**
 * The user claims of a session's access tokens. They are recorded at login, in the `issued` event,
 * and read back only through `sessionClaims`. With the `refreshClaims` option the host is asked on
 * every refresh instead, so a changed email or role shows in the next access token and a
 * deactivated user's session ends at its next refresh (for an immediate cut, see
 * docs/operations.md, "Claims that follow the user").
 */
import type { Context } from 'koa';
import { HookError, JwtConnectError } from '../errors.js';
import type { SessionState } from '../ledger/index.js';
import { REGISTERED_CLAIMS } from '../tokens/claims.js';
import type { SessionDeps } from './deps.js';

export type UserClaims = Record<string, unknown>;

/**
 * The user claims recorded for `session` at login (claims map and extra claims), decrypted (see
 * docs/personal-data.md). A `PersonalDataError` when they cannot be read any more: the subject was
 * erased, or they expired.
 */
export async function sessionClaims(
  deps: SessionDeps,
  session: SessionState,
): Promise<Readonly<UserClaims>> {
  if (deps.personalData) return deps.personalData.sessionClaims(session);
  return session.claims ?? {};
}

/**
 * The user claims for a refresh of `session`: the host's answer when `refreshClaims` is set, else
 * those recorded at login. `null` when the host ends the session. A hook that throws or answers
 * something other than an object or null is a host bug: `HookError` (500), nothing recorded. A
 * plugin error it throws (e.g. `StoreUnavailableError` for the host's own database) passes as is.
 */
export async function refreshedUserClaims(
  deps: SessionDeps,
  session: SessionState,
  ctx: Context | undefined,
): Promise<Readonly<UserClaims> | null> {
  const hook = deps.config.refreshClaims;
  const recorded = await sessionClaims(deps, session);
  if (!hook) return recorded;
  let answer: unknown;
  try {
    answer = await hook({
      sub: session.sub,
      sid: session.stream,
      // A copy: stored states may be frozen, and the host may build on what it is given.
      claims: structuredClone(recorded) as UserClaims,
      ctx,
    });
  } catch (error) {
    if (error instanceof JwtConnectError) throw error;
    throw new HookError('refreshClaims threw', { cause: error });
  }
  if (answer === null) return null;
  if (typeof answer !== 'object' || Array.isArray(answer)) {
    throw new HookError('refreshClaims must return an object of claims or null');
  }
  try {
    // Checked now: signing happens after the rotation is recorded, when failing would spend it.
    JSON.stringify(answer);
  } catch (error) {
    throw new HookError('refreshClaims must return claims that JSON can represent', {
      cause: error,
    });
  }
  for (const claim of Object.keys(answer)) {
    if (REGISTERED_CLAIMS.has(claim)) {
      throw new HookError(`refreshClaims: "${claim}" is a claim the plugin sets itself`);
    }
  }
  return answer as UserClaims;
}
