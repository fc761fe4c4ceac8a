/**
 * Refresh with rotation (RFC 9700 section 4.14.2): a refresh token works once. The ledger's unique
 * (stream, seq) decides races between instances, so of N concurrent refreshes exactly one appends.
 *
 * Reuse policy: presenting a refresh token that was already rotated revokes the whole session
 * (reason `refresh_token_reuse`), unless it arrives within `refreshReuseGrace` seconds of the
 * rotation, in which case it is taken for a concurrent request that lost the race (400, session
 * kept). Either way nothing is issued. A refresh that fails for any other reason spends nothing.
 */
import type { Context } from 'koa';
import { InvalidGrantError, InvalidTokenError } from '../errors.js';
import {
  subjectStream,
  type EventDraft,
  type SessionState,
  type SubjectState,
} from '../ledger/index.js';
import { isSessionRevoked } from '../ledger/projection.js';
import {
  REFRESH_TOKEN_TYP,
  buildAccessClaims,
  buildRefreshClaims,
  newTokenId,
  type TokenClaims,
} from '../tokens/claims.js';
import { UNKNOWN_SESSION } from './access.js';
import { compact, requestMeta, verifyAs, type SessionDeps, type TokenResponse } from './deps.js';
import { tokenResponse } from './issue.js';

type Outcome = { kind: 'rotated'; access: TokenClaims; refresh: TokenClaims } | { kind: 'reuse' };

export async function refreshSession(
  deps: SessionDeps,
  refreshToken: string,
  ctx?: Context,
): Promise<TokenResponse> {
  const { config, ledger } = deps;
  const claims = await verifyRefreshToken(deps, refreshToken);
  const [subject = null] = await ledger.store.loadStates([subjectStream(claims.sub)]);
  const meta = requestMeta(ctx);
  const accessJti = newTokenId();
  const refreshJti = newTokenId();

  let outcome: Outcome | undefined;
  await ledger.execute(claims.sid, (state, { now }): EventDraft | null => {
    outcome = undefined;
    const session = usableSession(state, claims, subject?.kind === 'subject' ? subject : null);
    if (claims.jti !== session.refreshJti) {
      const spent = session.tokens.find(
        (token) => token.jti === claims.jti && token.type === 'refresh',
      );
      if (!spent?.rotatedAt) throw new InvalidGrantError('the refresh token is not valid');
      if (now - spent.rotatedAt.getTime() <= config.refreshReuseGrace * 1000) {
        throw new InvalidGrantError('the refresh token was already used');
      }
      outcome = { kind: 'reuse' };
      return {
        type: 'revoked',
        sub: session.sub,
        meta: compact({ ...meta, reason: 'refresh_token_reuse', actor: 'system' }),
        target: { kind: 'session' },
      };
    }
    const seconds = Math.floor(now / 1000);
    const context = {
      sub: session.sub,
      sid: session.stream,
      now: seconds,
      ...(session.scope !== undefined && { scope: session.scope }),
    };
    const audience = session.aud ?? config.audience;
    const authTime = Math.floor(session.createdAt.getTime() / 1000);
    const access = buildAccessClaims(
      {},
      { issuer: config.issuer, audience, ttlSeconds: config.accessTokenTtl, claimsMap: {} },
      { ...context, jti: accessJti },
      session.claims ?? {},
    );
    const refresh = buildRefreshClaims(
      { issuer: config.issuer, audience, ttlSeconds: config.refreshTokenTtl },
      { ...context, jti: refreshJti },
    );
    access['auth_time'] = authTime;
    refresh['auth_time'] = authTime;
    outcome = { kind: 'rotated', access, refresh };
    return {
      type: 'refreshed',
      sub: session.sub,
      meta,
      spent: claims.jti,
      access: { jti: accessJti, exp: access.exp },
      refresh: { jti: refreshJti, exp: refresh.exp },
    };
  });

  if (outcome?.kind !== 'rotated') {
    throw new InvalidGrantError('the refresh token was already used; the session is revoked');
  }
  return tokenResponse(deps, outcome.access, outcome.refresh);
}

/** A refresh token's claims, or `invalid_grant` (RFC 6749 section 5.2) for any token problem. */
async function verifyRefreshToken(deps: SessionDeps, token: string): Promise<TokenClaims> {
  try {
    return (await verifyAs(deps, token, REFRESH_TOKEN_TYP)).claims;
  } catch (error) {
    if (error instanceof InvalidTokenError) {
      throw new InvalidGrantError('the refresh token is not valid', { cause: error });
    }
    throw error;
  }
}

function usableSession(
  state: unknown,
  claims: TokenClaims,
  subject: SubjectState | null,
): SessionState {
  const session = state as SessionState | null;
  // A validly signed token the ledger does not know was never issued by this plugin's hook.
  if (session === null) throw new InvalidGrantError(UNKNOWN_SESSION);
  if (session.kind !== 'session' || session.sub !== claims.sub) {
    throw new InvalidGrantError('the refresh token is not valid');
  }
  if (isSessionRevoked(session, subject)) throw new InvalidGrantError('the session is revoked');
  return session;
}
