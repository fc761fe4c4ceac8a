/**
 * A session's absolute lifetime (RFC 9700 section 4.14.2): however often it is refreshed, a session
 * ends at its login plus `sessionMaxAge`. The end is recorded in the `issued` event, so a later
 * change of the option only affects new logins and a rebuilt projection ends sessions alike. The
 * idle timeout is the refresh token's own lifetime.
 */
import type { SessionState } from '../ledger/index.js';

/**
 * When `session` ends (NumericDate, seconds): its recorded end, or for a session recorded without
 * one, its start plus the configured `sessionMaxAge`.
 */
export function sessionEnd(
  session: Pick<SessionState, 'createdAt' | 'sessionExp'>,
  sessionMaxAge: number,
): number {
  return session.sessionExp ?? Math.floor(session.createdAt.getTime() / 1000) + sessionMaxAge;
}

/** Whether `session` has reached its end at `now` (epoch ms). No clock tolerance: the end is ours. */
export function hasSessionEnded(
  session: Pick<SessionState, 'createdAt' | 'sessionExp'>,
  sessionMaxAge: number,
  now: number,
): boolean {
  return sessionEnd(session, sessionMaxAge) * 1000 <= now;
}

/** A token lifetime (seconds) from `now` (seconds) that does not pass the session's `end`. */
export function lifetimeWithin(ttlSeconds: number, now: number, end: number): number {
  return Math.max(0, Math.min(ttlSeconds, end - now));
}
