/**
 * Revocation: of one access token, of a session (its refresh token and every access token), or of
 * every session of a subject created up to now ("logout everywhere", one event).
 * Revoking what is already revoked appends nothing.
 */
import type { Context } from 'koa';
import { LedgerInputError } from '../errors.js';
import { assertId, subjectStream, type EventMeta, type LedgerEvent } from '../ledger/index.js';
import { compact, requestMeta, type SessionDeps } from './deps.js';

/**
 * What `auth.revoke()` revokes: a token by `jti` (a refresh token's `jti` revokes its session), a
 * session by `sid`, or every session of a subject up to now by `sub` ("logout everywhere").
 */
export type RevokeTarget = { jti: string } | { sid: string } | { sub: string };

/** Options of `auth.revoke()`: recorded in the `revoked` event. */
export interface RevokeOptions {
  /** Why, for the audit log (e.g. `logout`, `compromised`). */
  reason?: string;
  /** Who: a subject, an admin's id, `system`. */
  actor?: string;
  /** The request, for the audit log's IP and user agent. */
  ctx?: Context;
}

/** What `auth.revoke()` did. */
export interface RevokeResult {
  /** false when there was nothing (known and not yet revoked) to revoke. */
  revoked: boolean;
  /** The `revoked` event recorded, when something was revoked. */
  event?: LedgerEvent;
}

type RevocationMeta = Pick<
  EventMeta,
  'reason' | 'actor' | 'ip' | 'userAgent' | 'source' | 'method'
>;

export async function revoke(
  deps: SessionDeps,
  target: RevokeTarget,
  options: RevokeOptions = {},
): Promise<RevokeResult> {
  const meta: RevocationMeta = compact({
    reason: options.reason,
    actor: options.actor,
    ...requestMeta(options.ctx),
  });
  for (const value of [meta.reason, meta.actor]) {
    if (value !== undefined && (typeof value !== 'string' || value.length > 512)) {
      throw new LedgerInputError('"reason" and "actor" must be strings of at most 512 characters');
    }
  }
  const keys = typeof target === 'object' && target !== null ? Object.keys(target) : [];
  if (keys.length !== 1)
    throw new LedgerInputError('revoke exactly one of { jti }, { sid } or { sub }');
  if ('jti' in target) return revokeToken(deps, target.jti, meta);
  if ('sid' in target) return revokeSession(deps, target.sid, meta);
  if ('sub' in target) return revokeSubject(deps, target.sub, meta);
  throw new LedgerInputError('revoke exactly one of { jti }, { sid } or { sub }');
}

/**
 * An access token alone; a refresh token takes its whole session with it (RFC 7009 section 2.1).
 */
export async function revokeToken(
  deps: SessionDeps,
  jti: string,
  meta: RevocationMeta,
): Promise<RevokeResult> {
  assertId(jti, 'jti');
  // Which session holds the token (one read), then one append decided on that session's state.
  const holder = await deps.ledger.findTokenHolder(jti);
  if (!holder) return revokePrunedToken(deps, jti, meta);
  let held = false;
  const appended = await deps.ledger.execute(holder.stream, (state) => {
    if (state?.kind !== 'session') return null;
    const token = state.tokens.find((candidate) => candidate.jti === jti);
    held = token !== undefined;
    if (!token || state.revoked) return null;
    if (token.type === 'refresh') {
      return { type: 'revoked', sub: state.sub, meta, target: { kind: 'session' } };
    }
    if (token.revoked) return null;
    return { type: 'revoked', sub: state.sub, meta, target: { kind: 'token', jti } };
  });
  if (appended) return { revoked: true, event: appended.event };
  return held ? { revoked: false } : revokePrunedToken(deps, jti, meta);
}

/**
 * A token the projection no longer holds: unknown, or expired for longer than the projection keeps
 * tokens. The log still names it; a refresh token of a session takes the session with it, as it
 * did when it was projected. An expired access token has nothing left to revoke.
 */
async function revokePrunedToken(
  deps: SessionDeps,
  jti: string,
  meta: RevocationMeta,
): Promise<RevokeResult> {
  const origin = await deps.ledger.issuingEvent(jti);
  if (origin?.refresh.jti === jti) return revokeSession(deps, origin.stream, meta);
  return { revoked: false };
}

export async function revokeSession(
  deps: SessionDeps,
  sid: string,
  meta: RevocationMeta,
): Promise<RevokeResult> {
  assertId(sid, 'sid');
  const appended = await deps.ledger.execute(sid, (state) => {
    if (state?.kind !== 'session' || state.revoked) return null;
    return { type: 'revoked', sub: state.sub, meta, target: { kind: 'session' } };
  });
  return appended ? { revoked: true, event: appended.event } : { revoked: false };
}

/**
 * Every session of `sub` created at or before now: one event in the subject's stream. Session start
 * times come from the clock of the instance that issued them, so the cut-off also reaches the
 * latest start the ledger already holds, up to `clockTolerance` ahead: a session issued before the
 * revocation by an instance whose clock runs ahead is covered too.
 */
export async function revokeSubject(
  deps: SessionDeps,
  sub: string,
  meta: RevocationMeta,
): Promise<RevokeResult> {
  assertId(sub, 'sub');
  let latestStart = 0;
  for (const session of await deps.ledger.store.findOpenSessions(sub)) {
    latestStart = Math.max(latestStart, session.createdAt.getTime());
  }
  const toleranceMs = deps.config.clockTolerance * 1000;
  const appended = await deps.ledger.execute(subjectStream(sub), (_state, { now }) => ({
    type: 'revoked',
    sub,
    meta,
    target: {
      kind: 'subject',
      before: new Date(Math.max(now, Math.min(latestStart, now + toleranceMs))),
    },
  }));
  return appended ? { revoked: true, event: appended.event } : { revoked: false };
}
