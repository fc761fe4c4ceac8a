/**
 * A subject's live sessions (neither revoked nor expired), for "where am I signed in?" pages and
 * admin consoles, and ending all of them but one ("sign out my other devices").
 *
 * Two store round trips: the live sessions with the subject's cut-off (one indexed query), then the
 * `issued` events that say which client signed in. Expiry is the refresh token's: a session ends
 * when its refresh token does, unless refreshed.
 */
import type { Context } from 'koa';
import { LedgerInputError } from '../errors.js';
import { assertId, isSessionRevoked, type AuditEvent, type SessionState } from '../ledger/index.js';
import { reveal } from '../personal-data/codec.js';
import { compact, type SessionDeps } from './deps.js';
import { revoke, type RevokeOptions } from './revoke.js';

/** A session that can still be refreshed, as `auth.sessions.list()` answers it. */
export interface LiveSession {
  /** The session id (`sid` claim of its tokens). */
  sid: string;
  /** The opaque subject whose session it is. */
  sub: string;
  /** When the login that started it happened. */
  createdAt: Date;
  /** When the session was last refreshed; null if never. */
  refreshedAt: Date | null;
  /** When the session ends unless refreshed (its refresh token's expiry). */
  expiresAt: Date;
  /** The kind of login that started it (`saml`, `password`, ...) and its detail. */
  login: { source?: string; method?: string };
  /** The client that signed in, as recorded in the `issued` event. */
  client: { ip?: string; userAgent?: string };
  /** The session's scope string, when it has one. */
  scope?: string;
}

/** The live sessions of `sub`, newest first. */
export async function listSessions(deps: SessionDeps, sub: string): Promise<LiveSession[]> {
  assertId(sub, 'sub');
  const now = deps.config.clock();
  const { sessions, subject } = await deps.ledger.store.findLiveSessions(
    sub,
    Math.floor(now / 1000),
  );
  const live = sessions.filter((session) => !isSessionRevoked(session, subject));
  if (live.length === 0) return [];
  const stored = await deps.ledger.store.firstEvents(live.map((session) => session.stream));
  // The client's IP and user agent are personal data, stored encrypted (docs/personal-data.md).
  const firsts = await (deps.ledger.personalData?.reveal(stored) ?? reveal(null, stored));
  const issued = new Map(firsts.map((event) => [event.stream, event]));
  return live
    .map((session) => summary(session, issued.get(session.stream)))
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.sid < b.sid ? -1 : 1));
}

function summary(session: SessionState, first: AuditEvent | undefined): LiveSession {
  const current = session.tokens.find((token) => token.jti === session.refreshJti);
  const live: LiveSession = {
    sid: session.stream,
    sub: session.sub,
    createdAt: session.createdAt,
    refreshedAt: current?.parent === undefined ? null : current.issuedAt,
    expiresAt: new Date(session.refreshExp * 1000),
    login: { ...session.login },
    client: clientOf(first),
  };
  if (session.scope !== undefined) live.scope = session.scope;
  return live;
}

/** The client of a session's first event: where personal fields of events are read. */
function clientOf(event: AuditEvent | undefined): LiveSession['client'] {
  if (event?.type !== 'issued') return {};
  return compact({ ip: event.meta.ip, userAgent: event.meta.userAgent });
}

/** Options of `auth.sessions.revokeOthers()`; `reason` and `actor` are recorded in each event. */
export interface RevokeOthersOptions {
  /** The session to keep (e.g. the caller's own); without it every session of the subject ends. */
  keep?: string;
  /** Why, for the audit log. */
  reason?: string;
  /** Who: a subject, an admin's id, `system`. */
  actor?: string;
  /** The request, for the audit log's IP and user agent. */
  ctx?: Context;
}

/**
 * Ends every live session of `sub` but `keep`, each by its own revocation event. Without `keep`,
 * one subject cut-off ends them all, and any session a concurrent login is starting with them.
 * Answers the sessions that were live and are ended now.
 */
export async function revokeOtherSessions(
  deps: SessionDeps,
  sub: string,
  options: RevokeOthersOptions = {},
): Promise<string[]> {
  const { keep } = options;
  if (keep !== undefined) assertId(keep, 'keep');
  // Checked here too, so a wrong option is refused even when there is nothing to revoke.
  for (const value of [options.reason, options.actor]) {
    if (value !== undefined && (typeof value !== 'string' || value.length > 512)) {
      throw new LedgerInputError('"reason" and "actor" must be strings of at most 512 characters');
    }
  }
  const how: RevokeOptions = compact({
    reason: options.reason,
    actor: options.actor,
    ctx: options.ctx,
  });
  const others = (await listSessions(deps, sub)).filter((session) => session.sid !== keep);
  if (others.length === 0) return [];
  if (keep === undefined) {
    await revoke(deps, { sub }, how);
    return others.map((session) => session.sid);
  }
  const results = await Promise.all(
    others.map((session) => revoke(deps, { sid: session.sid }, how)),
  );
  return others.filter((_session, index) => results[index]?.revoked).map((session) => session.sid);
}
