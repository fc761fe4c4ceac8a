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
import { InvalidGrantError, InvalidTokenError, PersonalDataError } from '../errors.js';
import {
  isSessionRevoked,
  subjectStream,
  type EventDraft,
  type SessionState,
  type SubjectState,
  type StreamState,
} from '../ledger/index.js';
import {
  REFRESH_TOKEN_TYP,
  buildAccessClaims,
  buildRefreshClaims,
  newTokenId,
  type TokenClaims,
} from '../tokens/claims.js';
import { UNKNOWN_SESSION } from './revocation-check.js';
import { compact, requestMeta, verifyAs, type SessionDeps, type TokenResponse } from './deps.js';
import { tokenResponse } from './issue.js';
import { hasSessionEnded, lifetimeWithin, sessionEnd } from './lifetime.js';
import { revokeSession } from './revoke.js';
import { refreshedUserClaims, sessionClaims, type UserClaims } from './user-claims.js';

/** Reads a session and its subject's state ahead of the decision, which then reuses them. */
type LoadAhead = () => Promise<{ session: SessionState | null; subject: SubjectState | null }>;

type Outcome = { kind: 'rotated'; access: TokenClaims; refresh: TokenClaims } | { kind: 'reuse' };

export async function refreshSession(
  deps: SessionDeps,
  refreshToken: string,
  ctx?: Context,
): Promise<TokenResponse> {
  const { config, ledger } = deps;
  const claims = await verifyRefreshToken(deps, refreshToken);
  // The subject's state is read with the session's on every attempt: a retried decision never
  // works on a copy from before a "logout everywhere".
  const target = { stream: claims.sid, related: [subjectStream(claims.sub)] };
  const meta = requestMeta(ctx);
  // Read before anything is appended: a refresh token must not be spent on a session whose
  // claims cannot be put in the new access token.
  // What was read ahead is what the decision's first attempt uses: no second read of the state.
  // Read at most once: the host's hook and the recorded claims may both want it.
  let readAhead: StreamState[] | undefined;
  let loading: ReturnType<LoadAhead> | undefined;
  const loadAhead: LoadAhead = () =>
    (loading ??= ledger.loadSession(claims.sid, claims.sub).then((loaded) => {
      readAhead = [loaded.session, loaded.subject].filter((state) => state !== null);
      return loaded;
    }));
  const userClaims = await readable(
    async () =>
      (await askHostForClaims(deps, claims, ctx, loadAhead)) ??
      (await recordedClaims(deps, claims, loadAhead)),
  );
  const accessJti = newTokenId();
  const refreshJti = newTokenId();

  let outcome: Outcome | undefined;
  await ledger.execute({ ...target, readAhead }, (state, { now, related }): EventDraft | null => {
    outcome = undefined;
    const subject = related.get(subjectStream(claims.sub));
    const session = usableSession(state, claims, subject?.kind === 'subject' ? subject : null);
    const end = sessionEnd(session, config.sessionMaxAge);
    if (end * 1000 <= now) throw new InvalidGrantError('the session has expired');
    if (claims.jti !== session.refreshJti) {
      const spent = session.tokens.find(
        (token) => token.jti === claims.jti && token.type === 'refresh',
      );
      if (!spent?.rotatedAt || spent.exp !== claims.exp) {
        throw new InvalidGrantError('the refresh token is not valid');
      }
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
      {
        issuer: config.issuer,
        audience,
        ttlSeconds: lifetimeWithin(config.accessTokenTtl, seconds, end),
        claimsMap: {},
      },
      { ...context, jti: accessJti },
      userClaims ?? session.claims ?? {},
    );
    const refresh = buildRefreshClaims(
      {
        issuer: config.issuer,
        audience,
        ttlSeconds: lifetimeWithin(config.refreshTokenTtl, seconds, end),
      },
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

/**
 * With `refreshClaims`, the host's claims for a refresh that would rotate (a current refresh token
 * of a live session; the host is not asked about reuse or dead sessions). When the host ends the
 * session, it is revoked (reason `user_inactive`) and the refresh refused. Asked before anything is
 * appended, so a hook that fails leaves the refresh token usable. Undefined: use the recorded ones.
 */
async function askHostForClaims(
  deps: SessionDeps,
  claims: TokenClaims,
  ctx: Context | undefined,
  loadAhead: LoadAhead,
): Promise<Readonly<UserClaims> | undefined> {
  const { config } = deps;
  // Read ahead of the decision only when a hook is configured: without one, a refresh costs no
  // extra round trip.
  if (!config.refreshClaims) return undefined;
  const { session: current, subject } = await loadAhead();
  if (current?.refreshJti !== claims.jti) return undefined;
  const session = usableSession(current, claims, subject);
  if (hasSessionEnded(session, config.sessionMaxAge, config.clock())) return undefined;
  const answer = await refreshedUserClaims(deps, session, ctx);
  if (answer !== null) return answer;
  await revokeSession(deps, session.stream, {
    ...requestMeta(ctx),
    reason: 'user_inactive',
    actor: 'system',
  });
  throw new InvalidGrantError('the session has ended');
}

/**
 * The claims recorded at login, decrypted (docs/personal-data.md); undefined where they are in
 * clear in the session's state, which the decision reads anyway. Decrypted claims are remembered
 * per session, so only a session's first refresh on an instance reads its state ahead.
 */
async function recordedClaims(
  deps: SessionDeps,
  claims: TokenClaims,
  loadAhead: LoadAhead,
): Promise<Readonly<UserClaims> | undefined> {
  const { personalData } = deps;
  if (!personalData) return undefined;
  const remembered = personalData.rememberedClaims(claims.sid);
  if (remembered) return remembered;
  const { session, subject } = await loadAhead();
  // An unknown or revoked session is refused by the decision, without reading its personal data.
  if (session?.sub !== claims.sub || isSessionRevoked(session, subject)) return undefined;
  return sessionClaims(deps, session);
}

/** `invalid_grant` for a session whose personal data was erased or expired: none to refresh. */
async function readable<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof PersonalDataError) {
      throw new InvalidGrantError(`the session's personal data is ${error.reason}`, {
        cause: error,
      });
    }
    throw error;
  }
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
  // A refresh token re-signed with a lifetime of its own was not issued here (defence in depth).
  if (claims.jti === session.refreshJti && claims.exp !== session.refreshExp) {
    throw new InvalidGrantError('the refresh token is not valid');
  }
  return session;
}
