/**
 * Token claims as pure functions of the user, the options and an issue context (time and ids
 * drawn by the caller), so tests control them without clocks or randomness of their own.
 */
import { createHmac, randomBytes, type KeyObject } from 'node:crypto';
import { ConfigError } from '../errors.js';

/** RFC 9068 section 2.1: the `typ` of JWT access tokens. */
export const ACCESS_TOKEN_TYP = 'at+jwt';
/**
 * Our own `typ` for refresh tokens, so one can never pass for the other (RFC 8725 section 3.11).
 */
export const REFRESH_TOKEN_TYP = 'rt+jwt';
/** The JOSE `typ` header of a token: `at+jwt` (access) or `rt+jwt` (refresh). */
export type TokenTyp = typeof ACCESS_TOKEN_TYP | typeof REFRESH_TOKEN_TYP;

/** `ttype` as in django-jwtconnect-auth: `T` access, `R` refresh. */
export type TokenType = 'T' | 'R';

/** What a token is for, in the ledger's word (`type` of a recorded token). */
export type TokenKind = 'access' | 'refresh';

/**
 * Every encoding of a token's kind, read from this one table: the JOSE `typ` header, the `ttype`
 * claim, the `token_type_hint` a client sends (RFC 7009 section 2.1, RFC 7662 section 2.1) and the
 * `token_type` an introspection answers (RFC 7662 section 2.2).
 */
export const TOKEN_KINDS = {
  access: { typ: ACCESS_TOKEN_TYP, ttype: 'T', hint: 'access_token', tokenType: 'Bearer' },
  refresh: {
    typ: REFRESH_TOKEN_TYP,
    ttype: 'R',
    hint: 'refresh_token',
    tokenType: 'refresh_token',
  },
} as const satisfies Record<
  TokenKind,
  { typ: TokenTyp; ttype: TokenType; hint: string; tokenType: string }
>;

const TTYPE_OF: Readonly<Record<TokenTyp, TokenType>> = {
  [TOKEN_KINDS.access.typ]: TOKEN_KINDS.access.ttype,
  [TOKEN_KINDS.refresh.typ]: TOKEN_KINDS.refresh.ttype,
};

/**
 * The `ttype` claim a token with JOSE `typ` carries; a TypeError naming `what` for any other `typ`
 * (a caller's mistake, not a bad token).
 */
export function ttypeOf(typ: TokenTyp, what = '"typ"'): TokenType {
  const ttype = TTYPE_OF[typ] as TokenType | undefined;
  if (ttype === undefined) {
    throw new TypeError(`${what} must be ${ACCESS_TOKEN_TYP} or ${REFRESH_TOKEN_TYP}`);
  }
  return ttype;
}

/**
 * The claims of a verified token (`ctx.state.user` after `authenticate()`), plus mapped user
 * claims.
 */
export interface TokenClaims {
  /** Issuer: the `issuer` option. */
  iss: string;
  /** Opaque, stable subject: HMAC-SHA256 of the user id under `subjectSecret`. */
  sub: string;
  /** Audience, when one is configured or given at issue. */
  aud?: string | string[];
  /** Issued at (epoch seconds). */
  iat: number;
  /** Expires at (epoch seconds). */
  exp: number;
  /** Not before (epoch seconds), when present. */
  nbf?: number;
  /** Token id: 128 random bits, base64url. */
  jti: string;
  /** Session id: the same for every token of one login and its refreshes. */
  sid: string;
  /** `T` for an access token, `R` for a refresh token. */
  ttype: TokenType;
  /** Space-separated scopes, when the session has any. */
  scope?: string;
  [claim: string]: unknown;
}

export interface AccessTokenClaims extends TokenClaims {
  ttype: 'T';
}

export interface RefreshTokenClaims extends TokenClaims {
  ttype: 'R';
}

/** Claims the plugin sets itself: neither the claims map nor extra claims may produce them. */
export const REGISTERED_CLAIMS: ReadonlySet<string> = new Set([
  'iss',
  'sub',
  'aud',
  'iat',
  'exp',
  'nbf',
  'jti',
  'sid',
  'ttype',
  'scope',
  'typ',
  'auth_time',
]);

/** User field -> claim name. */
export type ClaimsMap = Readonly<Record<string, string>>;

/** The default claims map, django-jwtconnect-auth's `JWTAUTH_CLAIMS_MAP`: OIDC claim names. */
export const DEFAULT_CLAIMS_MAP: ClaimsMap = Object.freeze({
  username: 'username',
  first_name: 'given_name',
  last_name: 'family_name',
  email: 'email',
});

/**
 * The authenticated user as the host app knows it: any object. `id` (or `username`, or the `userId`
 * option) gives the stable id; `claimsMap` picks the fields that become claims. Its values are `any`
 * because only then does TypeScript let an interface or class instance stand for an index signature.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above; fields are checked where read
export type UserRecord = Readonly<Record<string, any>>;

export interface ClaimsOptions {
  readonly issuer: string;
  readonly audience?: string | readonly string[];
  /** Lifetime of the token, in seconds. */
  readonly ttlSeconds: number;
}

export interface AccessClaimsOptions extends ClaimsOptions {
  readonly claimsMap?: ClaimsMap;
}

/** What changes from one issue to the next, drawn by the caller. */
export interface IssueContext {
  /** From `subjectFor`. */
  readonly sub: string;
  readonly sid: string;
  readonly jti: string;
  /** Epoch seconds. */
  readonly now: number;
  readonly scope?: string;
}

/**
 * The opaque, stable subject of a user: HMAC-SHA256 of the user id under a configured secret, so
 * that `sub` neither reveals the id nor can be recomputed from it without the secret.
 *
 * @example
 * subjectFor('42', secret); // 'kU3...' (43 base64url characters)
 */
export function subjectFor(userId: string, secret: KeyObject | string | Uint8Array): string {
  return createHmac('sha256', secret).update(userId, 'utf8').digest('base64url');
}

/** 128 bits from the CSPRNG, base64url: a token id (`jti`). */
export function newTokenId(): string {
  return randomBytes(16).toString('base64url');
}

/** 128 bits from the CSPRNG, base64url: a session (refresh family) id (`sid`). */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

function baseClaims(options: ClaimsOptions, context: IssueContext, ttype: TokenType): TokenClaims {
  const claims: TokenClaims = {
    iss: options.issuer,
    sub: context.sub,
    iat: context.now,
    exp: context.now + options.ttlSeconds,
    jti: context.jti,
    sid: context.sid,
    ttype,
  };
  if (options.audience !== undefined) {
    claims.aud = typeof options.audience === 'string' ? options.audience : [...options.audience];
  }
  if (context.scope !== undefined) claims.scope = context.scope;
  return claims;
}

/**
 * The claims of an access token: registered claims, the user's mapped fields (present and not
 * null) and `extra` (from the host's `extraClaims`), which may not override any of them.
 */
export function buildAccessClaims(
  user: UserRecord,
  options: AccessClaimsOptions,
  context: IssueContext,
  extra: Readonly<Record<string, unknown>> = {},
): AccessTokenClaims {
  const claims = baseClaims(options, context, 'T') as AccessTokenClaims;
  const map = options.claimsMap ?? DEFAULT_CLAIMS_MAP;
  for (const [field, claim] of Object.entries(map)) {
    if (REGISTERED_CLAIMS.has(claim)) {
      throw new ConfigError(
        `claimsMap.${field}: "${claim}" is a registered claim set by the plugin`,
      );
    }
    const value = Object.hasOwn(user, field) ? user[field] : undefined;
    if (value !== undefined && value !== null) claims[claim] = value;
  }
  if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) {
    throw new ConfigError('extraClaims: must return an object');
  }
  const mapped = new Set(Object.values(map));
  for (const [claim, value] of Object.entries(extra)) {
    if (REGISTERED_CLAIMS.has(claim) || mapped.has(claim)) {
      throw new ConfigError(`extraClaims: "${claim}" would override a claim set by the plugin`);
    }
    if (value !== undefined) claims[claim] = value;
  }
  return claims;
}

/** The claims of a refresh token: registered claims only, never user data. */
export function buildRefreshClaims(
  options: ClaimsOptions,
  context: IssueContext,
): RefreshTokenClaims {
  return baseClaims(options, context, 'R') as RefreshTokenClaims;
}
