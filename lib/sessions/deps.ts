/**
 * What every session operation needs, passed in explicitly (no module state).
 */
import type { Context } from 'koa';
import type { ResolvedConfig } from '../config.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { EventMeta, Ledger } from '../ledger/index.js';
import { InvalidTokenError } from '../errors.js';
import {
  ACCESS_TOKEN_TYP,
  REFRESH_TOKEN_TYP,
  TOKEN_KINDS,
  type TokenClaims,
  type TokenTyp,
} from '../tokens/claims.js';
import type { PersonalData } from '../personal-data/personal-data.js';
import type { KeySet } from '../tokens/keys.js';
import type { VerifiedTokenCache } from '../tokens/verified-cache.js';
import { verifyToken, type VerifiedToken } from '../tokens/verify.js';
import type { RevocationCheck } from './revocation-check.js';

export interface SessionDeps {
  readonly config: ResolvedConfig;
  readonly keys: KeySet;
  readonly ledger: Ledger;
  /** Whether a verified access token is recorded and unrevoked (option `revocation`). */
  readonly revocation: RevocationCheck;
  /**
   * Signs refresh tokens and verifies them (with `keys` too, for those signed earlier): `refreshKeys`
   * when configured, else the key derived from `subjectSecret`. Absent only in deps built by hand,
   * where `keys` does.
   */
  readonly refreshKeys?: KeySet;
  /** Access tokens verified before (option `verifyCache`); absent when the cache is off. */
  readonly verified?: VerifiedTokenCache;
  /** Metrics and spans (OpenTelemetry); absent in code that builds its own deps. */
  readonly telemetry?: Telemetry;
  /** Opens sessions' encrypted claims; absent, sessions' claims are read as stored. */
  readonly personalData?: PersonalData;
}

/** The token pair answered to the client (RFC 6749 section 5.1). */
export interface TokenResponse {
  /** The access token (a JWS, `typ` `at+jwt`). */
  access_token: string;
  /** The refresh token (a JWS, `typ` `rt+jwt`): works once. */
  refresh_token: string;
  /** Always `Bearer` (RFC 6750). */
  token_type: 'Bearer';
  /** Lifetime of the access token in seconds. */
  expires_in: number;
  /**
   * Lifetime of the refresh token in seconds: the idle timeout, or less when the session's absolute
   * end (`sessionMaxAge`) comes first. After it, the user logs in again.
   */
  refresh_expires_in: number;
  /** Space-separated scopes of the session, when it has any (RFC 6749 section 5.1). */
  scope?: string;
}

const MAX_META_LENGTH = 512;

/** Client IP and user agent of a request, for the audit log (truncated, strings only). */
export function requestMeta(ctx: Context | undefined): Pick<EventMeta, 'ip' | 'userAgent'> {
  if (!ctx) return {};
  const meta: Pick<EventMeta, 'ip' | 'userAgent'> = {};
  if (typeof ctx.ip === 'string' && ctx.ip !== '') meta.ip = ctx.ip.slice(0, MAX_META_LENGTH);
  const agent = ctx.get('user-agent');
  if (agent !== '') meta.userAgent = agent.slice(0, MAX_META_LENGTH);
  return meta;
}

/** Drops undefined fields so events hash and store the same everywhere. */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, inner]) => inner !== undefined)) as T;
}

/** The key set that signs and verifies tokens of `typ`. */
export function keysFor(deps: SessionDeps, typ: TokenTyp): KeySet {
  return typ === REFRESH_TOKEN_TYP ? (deps.refreshKeys ?? deps.keys) : deps.keys;
}

/**
 * The one way session code verifies a token: configured issuer, audience, tolerance and clock.
 * Access tokens are looked up in the verified-token cache first; refresh tokens are single use,
 * so they are always verified in full and never cached.
 */
export async function verifyAs(
  deps: SessionDeps,
  token: string,
  typ: TokenTyp,
): Promise<VerifiedToken> {
  const { config } = deps;
  const keys = keysFor(deps, typ);
  const cache = typ === ACCESS_TOKEN_TYP ? deps.verified : undefined;
  const now = config.clock();
  const cached = cache?.lookup(token, typ, now, config.clockTolerance);
  if (cached) return cached;
  const verified = await verifyToken(keys, token, {
    issuer: config.issuer,
    ...(config.audience !== undefined && { audience: [config.audience].flat() }),
    typ,
    clockToleranceSeconds: config.clockTolerance,
    // The same instant for the cache's time checks and the full verification.
    now: () => now,
  });
  cache?.remember(token, verified);
  return verified;
}

/**
 * The claims of a presented token if it is a valid access or refresh token of this issuer, else
 * null. The hint orders the attempts and never limits them (RFC 7662 and RFC 7009, section 2.1).
 * Expired tokens do not verify: they are dead already.
 */
export async function verifyPresented(
  deps: SessionDeps,
  token: string,
  hint: string | undefined,
): Promise<TokenClaims | null> {
  const { access, refresh } = TOKEN_KINDS;
  const order = hint === refresh.hint ? [refresh.typ, access.typ] : [access.typ, refresh.typ];
  for (const typ of order) {
    try {
      return (await verifyAs(deps, token, typ)).claims;
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
    }
  }
  return null;
}
