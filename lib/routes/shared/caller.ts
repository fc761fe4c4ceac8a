/**
 * The caller of introspection, revocation and audit proves itself with its own access token
 * (`Authorization: Bearer`, RFC 6750 section 2.1), checked exactly as `auth.authenticate()` checks
 * it: signature, claims and revocation. Without a valid one: 401 with `WWW-Authenticate`.
 */
import type { Context, Middleware, Next } from 'koa';
import { bearerToken } from '../../middleware/bearer.js';
import { checkAccessToken } from '../../sessions/access.js';
import type { SessionDeps } from '../../sessions/deps.js';
import { assertScope } from '../../sessions/scope.js';
import type { TokenClaims } from '../../tokens/claims.js';
import { required, routeState } from './request-state.js';

/** Puts the caller's access-token claims in the route state (read them with `callerOf`). */
export function authenticateCaller(deps: SessionDeps): Middleware {
  return async function authenticateCaller(ctx: Context, next: Next) {
    let checked;
    try {
      checked = await checkAccessToken(deps, bearerToken(ctx));
    } catch (error) {
      deps.telemetry?.bearerRejected(error);
      throw error;
    }
    routeState(ctx).caller = checked.claims;
    await next();
  };
}

/** 403 `insufficient_scope` (RFC 6750 section 3.1) unless the caller's token has `scope`. */
export function requireScope(scope: string): Middleware {
  return async function requireScope(ctx: Context, next: Next) {
    assertScope(callerOf(ctx), scope);
    await next();
  };
}

export function callerOf(ctx: Context): TokenClaims {
  return required(ctx, 'caller', 'authenticateCaller');
}
