/**
 * Which sessions an archive may take: those that can never be used again.
 */
import type { SessionState } from '../projection.js';

/**
 * Revoked, or past its refresh token's expiry, at `before`, with nothing recorded from `before`
 * on. Its access tokens need no state once it is gone: a token whose session the store does not
 * hold is refused (lib/sessions/access.ts).
 */
export function isEnded(state: SessionState, before: Date): boolean {
  const at = before.getTime();
  return (
    (state.revoked !== undefined || state.refreshExp * 1000 <= at) && state.updatedAt.getTime() < at
  );
}
