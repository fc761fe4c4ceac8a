/**
 * The caller of introspection, revocation and audit proves itself with its own access token
 * (`Authorization: Bearer`, RFC 6750 section 2.1), checked exactly as `auth.authenticate()` checks
 * it: signature, claims and revocation. Without a valid one: 401 with `WWW-Authenticate`.
 */
import type { Context, Middleware, Next } from 'koa';
import { bearerToken } from '../../middleware/bearer.js';
import type { TokenHolder } from '../../ledger/index.js';
import { checkAccessToken, verifyAccessToken } from '../../sessions/access.js';
import type { SessionDeps } from '../../sessions/deps.js';
import { assertScope } from '../../sessions/scope.js';
import type { TokenClaims } from '../../tokens/claims.js';
import { required, routeState } from './request-state.js';

/** Puts the caller's access-token claims in the route state (read them with `callerOf`). */
export function authenticateCaller(deps: SessionDeps): Middleware {
  return async function authenticateCaller(ctx: Context, next: Next) {
    const checked = await counted(deps, () => checkAccessToken(deps, bearerToken(ctx)));
    routeState(ctx).caller = checked.claims;
    await next();
  };
}

/**
 * `authenticateCaller` in two steps, for a route whose parameters name a token to look up in the
 * same store read as the caller's own session (introspection by `jti`). This one checks the
 * signature and claims before the body is read; `confirmCaller` must follow, and `callerOf` answers
 * only after it.
 */
export function verifyCaller(deps: SessionDeps): Middleware {
  return async function verifyCaller(ctx: Context, next: Next) {
    const verified = await counted(deps, () => verifyAccessToken(deps, bearerToken(ctx)));
    const state = routeState(ctx);
    state.unconfirmedCaller = verified.claims;
    try {
      await next();
    } catch (error) {
      // A bad body is answered after the caller's ledger check, as `authenticateCaller` orders
      // them: a revoked caller gets 401 (RFC 6750 section 3.1) whatever it sent.
      if (state.caller === undefined && isBadInput(error)) {
        await confirm(deps, verified.claims, undefined);
      }
      throw error;
    }
  };
}

/**
 * A 4xx from the steps between `verifyCaller` and `confirmCaller` (body, parameters): the plugin's
 * own errors and the body parser's, which carry an HTTP `status`.
 */
function isBadInput(error: unknown): boolean {
  const status = error instanceof Error ? (error as { status?: unknown }).status : undefined;
  return typeof status === 'number' && status >= 400 && status < 500 && status !== 401;
}

/** The caller's ledger check; with `jti`, also finds the session holding that token. */
function confirm(
  deps: SessionDeps,
  claims: TokenClaims,
  jti: string | undefined,
): Promise<TokenHolder | null | undefined> {
  return counted(deps, async () => {
    if (jti === undefined) {
      await deps.revocation.assertNotRevoked(claims);
      return undefined;
    }
    return deps.revocation.assertNotRevokedFindingToken(claims, jti);
  });
}

/** `check()`'s result; a refusal is counted as a Bearer rejection (by reason) and rethrown. */
async function counted<T>(deps: SessionDeps, check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (error) {
    deps.telemetry?.bearerRejected(error);
    throw error;
  }
}

/**
 * The second step after `verifyCaller`: the caller's ledger check, as `authenticateCaller` makes
 * it; with a token id from `tokenIdOf`, the session holding that token is found in the same read
 * (read it with `tokenHolderOf`).
 */
export function confirmCaller(
  deps: SessionDeps,
  tokenIdOf: (ctx: Context) => string | undefined,
): Middleware {
  return async function confirmCaller(ctx: Context, next: Next) {
    const claims = required(ctx, 'unconfirmedCaller', 'verifyCaller');
    const jti = tokenIdOf(ctx);
    const state = routeState(ctx);
    const holder = await confirm(deps, claims, jti);
    if (holder !== undefined) state.tokenHolder = holder;
    state.caller = claims;
    await next();
  };
}

/** The session `confirmCaller` found for the token id asked about; null when none holds it. */
export function tokenHolderOf(ctx: Context): TokenHolder | null {
  return routeState(ctx).tokenHolder ?? null;
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
