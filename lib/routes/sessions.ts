/**
 * `GET /token/sessions`, `DELETE /token/sessions/:sid`, `DELETE /token/sessions`: a caller's own
 * live sessions ("where am I signed in?"), ending one of them, or all but the caller's own ("sign
 * out my other devices"). With the admin scope, `?sub=` names any subject, and any session may be
 * ended. The caller's `sub` is recorded as the actor of every revocation.
 *
 * A session that is not the caller's, for a caller without the admin scope, is answered exactly as
 * an unknown one (404), so nothing is revealed about other subjects' sessions.
 */
import type { Context, Middleware, Next } from 'koa';
import { SessionNotFoundError } from '../errors.js';
import { assertId } from '../ledger/index.js';
import type { SessionDeps } from '../sessions/deps.js';
import { listSessions, revokeOtherSessions, type LiveSession } from '../sessions/list.js';
import { revoke } from '../sessions/revoke.js';
import { assertScope, hasScope } from '../sessions/scope.js';
import { traced } from '../telemetry/telemetry.js';
import type { TokenClaims } from '../tokens/claims.js';
import { authenticateCaller, callerOf } from './shared/caller.js';
import { noStore } from './shared/headers.js';
import { ID_PARAM, paramsOf, validateParams } from './shared/params.js';
import { required, routeState } from './shared/request-state.js';

/** A reason for the audit log: printable ASCII, short. */
const REASON_PARAM = { type: 'string', pattern: '^[\\x20-\\x7e]{1,200}$' } as const;

export const sessionsSchema = {
  type: 'object',
  properties: { sub: ID_PARAM, reason: REASON_PARAM },
} as const;

interface SessionsParams {
  sub?: string;
  reason?: string;
}

export interface SessionsRoutes {
  list: Middleware[];
  revokeOne: Middleware[];
  revokeOthers: Middleware[];
}

export function sessionsRoutes(deps: SessionDeps): SessionsRoutes {
  const steps = [noStore, authenticateCaller(deps), validateParams(sessionsSchema, 'query')];
  return {
    list: [...steps, chooseSubject(deps), listLiveSessions(deps)],
    revokeOne: [...steps, revokeOneSession(deps)],
    revokeOthers: [...steps, chooseSubject(deps), revokeOthers(deps)],
  };
}

/** The subject: the caller's own, or with the admin scope the one named by `sub`. */
function chooseSubject(deps: SessionDeps): Middleware {
  return async function chooseSubject(ctx: Context, next: Next) {
    const caller = callerOf(ctx);
    const { sub = caller.sub } = paramsOf<SessionsParams>(ctx);
    if (sub !== caller.sub) assertScope(caller, deps.config.scopes.admin);
    routeState(ctx).subject = sub;
    await next();
  };
}

function listLiveSessions(deps: SessionDeps): Middleware {
  return async function listLiveSessions(ctx: Context) {
    const caller = callerOf(ctx);
    const sessions = await listSessions(deps, required(ctx, 'subject', 'chooseSubject'));
    ctx.body = { sessions: sessions.map((session) => sessionBody(session, caller)) };
  };
}

function revokeOneSession(deps: SessionDeps): Middleware {
  return async function revokeOneSession(ctx: Context) {
    const caller = callerOf(ctx);
    const sid: unknown = ctx.params?.['sid'];
    assertId(sid, 'sid');
    const [state] = await deps.ledger.store.loadStates([sid]);
    const admin = hasScope(caller, deps.config.scopes.admin);
    if (state?.kind !== 'session' || (state.sub !== caller.sub && !admin)) {
      throw new SessionNotFoundError('no such session');
    }
    const { reason } = paramsOf<SessionsParams>(ctx);
    const how = { reason: reason ?? defaultReason(caller, state.sub), actor: caller.sub, ctx };
    const result = await traced(deps.telemetry, 'revoke', () => revoke(deps, { sid }, how));
    ctx.body = { sid, revoked: result.revoked };
  };
}

function revokeOthers(deps: SessionDeps): Middleware {
  return async function revokeOthers(ctx: Context) {
    const caller = callerOf(ctx);
    const sub = required(ctx, 'subject', 'chooseSubject');
    const { reason } = paramsOf<SessionsParams>(ctx);
    const how = {
      // The caller's own session stays; for another subject's sessions, none is the caller's.
      ...(sub === caller.sub && { keep: caller.sid }),
      reason: reason ?? defaultReason(caller, sub),
      actor: caller.sub,
      ctx,
    };
    const ended = await traced(deps.telemetry, 'revoke', () => revokeOtherSessions(deps, sub, how));
    ctx.body = { revoked: ended };
  };
}

function defaultReason(caller: TokenClaims, sub: string): string {
  return caller.sub === sub ? 'revoked_by_user' : 'revoked_by_admin';
}

/** RFC-style snake_case names; times in ISO 8601. */
function sessionBody(session: LiveSession, caller: TokenClaims) {
  return {
    sid: session.sid,
    current: session.sid === caller.sid,
    created_at: session.createdAt.toISOString(),
    refreshed_at: session.refreshedAt?.toISOString() ?? null,
    expires_at: session.expiresAt.toISOString(),
    login: session.login,
    client: {
      ...(session.client.ip !== undefined && { ip: session.client.ip }),
      ...(session.client.userAgent !== undefined && { user_agent: session.client.userAgent }),
    },
    ...(session.scope !== undefined && { scope: session.scope }),
  };
}
