/**
 * What every session operation needs, passed in explicitly (no module state).
 */
import type { Context } from 'koa';
import type { ResolvedConfig } from '../config.js';
import type { EventMeta, Ledger } from '../ledger/index.js';
import type { TokenTyp } from '../tokens/claims.js';
import type { KeySet } from '../tokens/keys.js';
import { verifyToken, type VerifiedToken } from '../tokens/verify.js';

export interface SessionDeps {
  readonly config: ResolvedConfig;
  readonly keys: KeySet;
  readonly ledger: Ledger;
}

/** The token pair answered to the client (RFC 6749 section 5.1). */
export interface TokenResponse {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  /** Lifetime of the access token in seconds. */
  expires_in: number;
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

/** The one way session code verifies a token: configured issuer, audience, tolerance and clock. */
export function verifyAs(deps: SessionDeps, token: string, typ: TokenTyp): Promise<VerifiedToken> {
  const { config, keys } = deps;
  return verifyToken(keys, token, {
    issuer: config.issuer,
    ...(config.audience !== undefined && { audience: [config.audience].flat() }),
    typ,
    clockToleranceSeconds: config.clockTolerance,
    now: config.clock,
  });
}
