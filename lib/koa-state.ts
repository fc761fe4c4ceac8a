/**
 * What the middleware leaves on `ctx.state`, typed for the host's handlers through a Koa module
 * augmentation (as @fastify/jwt types `request.user`). Keys a host puts on `ctx.state` itself keep
 * their own types: Koa's `DefaultState` stays open, only `user`, `token` and `tokens` are declared.
 */
import type {} from 'koa';
import type { CheckedAccessToken } from './sessions/access.js';
import type { TokenResponse } from './sessions/deps.js';
import type { TokenClaims } from './tokens/claims.js';

/**
 * Augment to give your tokens' claims a precise type (the claims map decides which user fields
 * become claims); `ctx.state.user` then has it after `authenticate()`.
 *
 * @example
 * declare module 'koa-jwtconnect' {
 *   interface JwtConnectTypes {
 *     claims: TokenClaims & { email: string };
 *   }
 * }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by module augmentation
export interface JwtConnectTypes {}

/** The claims type of `ctx.state.user`: `JwtConnectTypes['claims']` when declared, else `TokenClaims`. */
export type StateClaims = JwtConnectTypes extends { claims: infer Claims extends TokenClaims }
  ? Claims
  : TokenClaims;

/** `ctx.state` after `auth.authenticate()` let a request through. */
export interface AuthenticatedState {
  /** The verified, unrevoked access-token claims. */
  user: StateClaims;
  /** The token itself, with its header and claims. */
  token: CheckedAccessToken;
}

/** `ctx.state` after `auth.loginHook({ respond: false })` issued a pair. */
export interface LoggedInState {
  /** The pair just issued, for the next middleware to redirect with or put in cookies. */
  tokens: TokenResponse;
}

/**
 * A user a login handler put on `ctx.state.user` for `auth.loginHook()`: any object without a `sub`
 * (so a check of `ctx.state.user?.sub` tells verified claims from it).
 */
export interface LoginUser {
  readonly sub?: undefined;
  // Values are `any` so that a host's interface or class instance is accepted (see `UserRecord`).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly [field: string]: any;
}

declare module 'koa' {
  interface DefaultState {
    /**
     * After `auth.authenticate()`: the verified, unrevoked access-token claims. Before
     * `auth.loginHook()`: the user a login handler authenticated (any object; checked at run time).
     */
    user?: StateClaims | LoginUser;
    /** Set by `auth.authenticate()`: the verified access token. */
    token?: CheckedAccessToken;
    /** Set by `auth.loginHook({ respond: false })`: the pair just issued. */
    tokens?: TokenResponse;
  }
}
