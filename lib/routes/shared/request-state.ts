/**
 * What one route step hands the next, kept off the host's `ctx.state` (where a host's own keys
 * live, and where a step's data could be read or overwritten by the host's middleware): one typed
 * record per request, in a WeakMap keyed by the request's context, gone with it.
 */
import type { Context } from 'koa';
import type { TokenHolder } from '../../ledger/index.js';
import type { TokenClaims, UserRecord } from '../../tokens/claims.js';

export interface RouteState {
  /** The validated request parameters (`validateParams`). */
  params?: Readonly<Record<string, string>>;
  /** The caller's verified access-token claims (`authenticateCaller`, or `confirmCaller`). */
  caller?: TokenClaims;
  /** The caller's claims, signature checked but not the ledger yet (`verifyCaller`). */
  unconfirmedCaller?: TokenClaims;
  /** The session holding the token asked about by id, null for none (`confirmCaller`). */
  tokenHolder?: TokenHolder | null;
  /** The subject whose sessions are listed or ended (`chooseSubject`). */
  subject?: string;
  /** The refresh token presented (`validateTokenPresence` of the refresh route). */
  refreshToken?: string;
  /** The user `login.verifyPassword` answered (`checkPassword`). */
  loginUser?: UserRecord;
}

const states = new WeakMap<Context, RouteState>();

/** The route state of `ctx`, created empty on first use. */
export function routeState(ctx: Context): RouteState {
  let state = states.get(ctx);
  if (!state) {
    state = {};
    states.set(ctx, state);
  }
  return state;
}

/** A value an earlier step must have set; a route whose steps are out of order is a bug. */
export function required<K extends keyof RouteState>(
  ctx: Context,
  key: K,
  setBy: string,
): NonNullable<RouteState[K]> {
  const value = states.get(ctx)?.[key];
  if (value === undefined) throw new Error(`${setBy} must run before this step`);
  return value as NonNullable<RouteState[K]>;
}
