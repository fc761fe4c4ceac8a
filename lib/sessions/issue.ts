/**
 * The login hook's core: after ANY external authentication, start a session. The `issued` event is
 * appended durably first; only then are the tokens signed and returned (SECURITY.md).
 */
import type { Context } from 'koa';
import { ConcurrencyError, HookError, InvalidRequestError } from '../errors.js';
import {
  MAX_ID_LENGTH,
  subjectStream,
  type EventMeta,
  type SessionState,
} from '../ledger/index.js';
import {
  ACCESS_TOKEN_TYP,
  REFRESH_TOKEN_TYP,
  buildAccessClaims,
  buildRefreshClaims,
  newSessionId,
  newTokenId,
  REGISTERED_CLAIMS,
  subjectFor,
  type UserRecord,
} from '../tokens/claims.js';
import { signToken } from '../tokens/sign.js';
import { compact, keysFor, requestMeta, type SessionDeps, type TokenResponse } from './deps.js';
import { revokeSession } from './revoke.js';

/** Options of `auth.issue()`: what kind of login happened, and the request it came with. */
export interface IssueOptions {
  /** The request, for the audit log's IP and user agent, and for `extraClaims`. */
  ctx?: Context;
  /** Kind of login that happened: `saml`, `password`, `oidc`, ... (free text). */
  source: string;
  /** Finer detail of the login, e.g. the IdP entity id. */
  method?: string;
  /** Space-separated scopes for the session's tokens. */
  scope?: string;
  /**
   * Audience of the session's tokens, instead of the configured `audience`. When an `audience` is
   * configured it must be among these, or this plugin's own verification would refuse the tokens.
   */
  aud?: string | string[];
}

/** The opaque `sub` of a user: HMAC-SHA256 of its id under the configured secret, or `subject`. */
export function subjectOf(deps: SessionDeps, user: UserRecord): string {
  const id = deps.config.userId(user);
  if ((typeof id !== 'string' || id === '') && typeof id !== 'number') {
    throw new TypeError('the user id must be a non-empty string or a number');
  }
  const { subject, subjectSecret } = deps.config;
  return subject ? hostSubject(subject, String(id)) : subjectFor(String(id), subjectSecret);
}

/** Longest `sub` whose subject stream (`subject:<sub>`) is still a valid ledger id. */
const MAX_SUBJECT_LENGTH = MAX_ID_LENGTH - subjectStream('').length;

/** The host's `subject` for `id`, held to the ledger's id rules before it can reach a store. */
function hostSubject(subject: (userId: string) => string, id: string): string {
  let sub: unknown;
  try {
    sub = subject(id);
  } catch (error) {
    throw new HookError('subject threw', { cause: error });
  }
  if (typeof sub !== 'string' || sub === '' || sub.length > MAX_SUBJECT_LENGTH) {
    throw new HookError(
      `subject must return a non-empty string of at most ${MAX_SUBJECT_LENGTH} characters`,
    );
  }
  return sub;
}

/** The claims a user's access token would carry, without issuing anything (a preview). */
export function previewClaims(
  deps: SessionDeps,
  user: UserRecord,
  options: Partial<IssueOptions> = {},
) {
  const now = Math.floor(deps.config.clock() / 1000);
  return accessClaimsFor(deps, user, options, {
    sub: subjectOf(deps, user),
    sid: '(preview)',
    jti: '(preview)',
    now,
  });
}

function accessClaimsFor(
  deps: SessionDeps,
  user: UserRecord,
  options: Partial<IssueOptions>,
  context: { sub: string; sid: string; jti: string; now: number },
) {
  const { config } = deps;
  const extra = config.extraClaims?.(user, options.ctx) ?? {};
  return buildAccessClaims(
    user,
    {
      issuer: config.issuer,
      audience: audienceOf(deps, options),
      // A new session: its end is `sessionMaxAge` away, and no token outlives it.
      ttlSeconds: Math.min(config.accessTokenTtl, config.sessionMaxAge),
      claimsMap: config.claimsMap,
    },
    { ...context, ...(options.scope !== undefined && { scope: options.scope }) },
    extra,
  );
}

/** The audience for a session: the issue's own, checked against the configured one, or that. */
function audienceOf(
  deps: SessionDeps,
  options: Partial<IssueOptions>,
): string | readonly string[] | undefined {
  const { aud } = options;
  if (aud === undefined) return deps.config.audience;
  const list = [aud].flat();
  if (list.length === 0 || list.some((value) => typeof value !== 'string' || value === '')) {
    throw new TypeError('"aud" must be a non-empty string or array of non-empty strings');
  }
  const required = deps.config.audience === undefined ? [] : [deps.config.audience].flat();
  if (required.length > 0 && !required.some((value) => list.includes(value))) {
    throw new TypeError(`"aud" must include the configured audience (${required.join(', ')})`);
  }
  return typeof aud === 'string' ? aud : [...list];
}

export async function issueSession(
  deps: SessionDeps,
  user: UserRecord,
  options: IssueOptions,
): Promise<TokenResponse> {
  const { config, ledger } = deps;
  if (typeof user !== 'object' || user === null) throw new TypeError('"user" must be an object');
  if (typeof options?.source !== 'string' || options.source === '') {
    throw new TypeError('"source" must say which kind of login happened, e.g. "saml"');
  }
  if (
    options.scope !== undefined &&
    (typeof options.scope !== 'string' ||
      !/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/.test(options.scope))
  ) {
    // RFC 6749 section 3.3 scope syntax.
    throw new InvalidRequestError('"scope" must be space-separated scope tokens');
  }
  const audience = audienceOf(deps, options);
  const sub = subjectOf(deps, user);
  const meta: EventMeta = compact({
    source: options.source,
    method: options.method,
    ...requestMeta(options.ctx),
  });

  const sid = newSessionId();
  const accessJti = newTokenId();
  const refreshJti = newTokenId();
  let accessClaims: ReturnType<typeof accessClaimsFor> | undefined;
  let refreshClaims: ReturnType<typeof buildRefreshClaims> | undefined;
  const appended = await ledger.execute({ stream: sid, fresh: true }, (state, { now }) => {
    if (state) throw new Error(`session id collision: ${sid}`);
    const seconds = Math.floor(now / 1000);
    accessClaims = accessClaimsFor(deps, user, options, { sub, sid, jti: accessJti, now: seconds });
    accessClaims['auth_time'] = seconds;
    refreshClaims = buildRefreshClaims(
      {
        issuer: config.issuer,
        audience,
        ttlSeconds: Math.min(config.refreshTokenTtl, config.sessionMaxAge),
      },
      {
        sub,
        sid,
        jti: refreshJti,
        now: seconds,
        ...(options.scope !== undefined && { scope: options.scope }),
      },
    );
    refreshClaims['auth_time'] = seconds;
    return compact({
      type: 'issued' as const,
      sub,
      meta,
      access: { jti: accessJti, exp: accessClaims.exp },
      refresh: { jti: refreshJti, exp: refreshClaims.exp },
      scope: options.scope,
      aud: audience === undefined || typeof audience === 'string' ? audience : [...audience],
      sessionExp: seconds + config.sessionMaxAge,
      claims: userClaimsOf(accessClaims),
    });
  });
  if (!accessClaims || !refreshClaims || appended?.state.kind !== 'session') {
    throw new Error('issue decided nothing');
  }
  if (!config.multipleTokens) await endOtherSessions(deps, appended.state, meta);
  // This instance knows the clear claims: its refreshes of the session need not decrypt them.
  deps.personalData?.rememberClaims(sid, structuredClone(userClaimsOf(accessClaims) ?? {}));
  return tokenResponse(deps, accessClaims, refreshClaims);
}

/**
 * Single-session policy (django-jwtconnect-auth's JWTAUTH_MULTIPLE_TOKENS = False): a login ends
 * the subject's other sessions. Decided once this session is recorded, so that concurrent logins
 * see each other: sessions are ordered by (start, sid); a login revokes the older sessions it sees,
 * and its own if it sees a newer one. Of two concurrent logins, the one that looks last sees the
 * other, so the older of the two is revoked either way and exactly the newest session survives. A
 * login that finds itself replaced answers `ConcurrencyError` instead of tokens that would not
 * work.
 */
async function endOtherSessions(
  deps: SessionDeps,
  own: SessionState,
  meta: EventMeta,
): Promise<void> {
  const now = deps.config.clock();
  const ending = { ...meta, reason: 'single_session', actor: 'system' };
  let replaced = false;
  for (const session of await deps.ledger.store.findOpenSessions(own.sub)) {
    // A session whose refresh token has expired is over already; nothing to record.
    if (session.stream === own.stream || session.refreshExp * 1000 <= now) continue;
    if (startedBefore(own, session)) replaced = true;
    else await revokeSession(deps, session.stream, ending);
  }
  if (replaced) {
    await revokeSession(deps, own.stream, ending);
    throw new ConcurrencyError(
      'a concurrent login of the same user replaced this one',
      own.stream,
      1,
    );
  }
}

function startedBefore(a: SessionState, b: SessionState): boolean {
  const at = a.createdAt.getTime() - b.createdAt.getTime();
  return at < 0 || (at === 0 && a.stream < b.stream);
}

/** The claims of an access token that came from the user (claims map and extra claims). */
export function userClaimsOf(claims: Record<string, unknown>): Record<string, unknown> | undefined {
  const own = Object.fromEntries(
    Object.entries(claims).filter(([name]) => !REGISTERED_CLAIMS.has(name)),
  );
  return Object.keys(own).length > 0 ? own : undefined;
}

export async function tokenResponse(
  deps: SessionDeps,
  accessClaims: Parameters<typeof signToken>[2],
  refreshClaims: Parameters<typeof signToken>[2],
): Promise<TokenResponse> {
  const [accessToken, refreshToken] = await Promise.all([
    signToken(keysFor(deps, ACCESS_TOKEN_TYP), ACCESS_TOKEN_TYP, accessClaims),
    signToken(keysFor(deps, REFRESH_TOKEN_TYP), REFRESH_TOKEN_TYP, refreshClaims),
  ]);
  const response: TokenResponse = {
    access_token: accessToken,
    refresh_token: refreshToken,
    token_type: 'Bearer',
    expires_in: accessClaims.exp - accessClaims.iat,
    refresh_expires_in: refreshClaims.exp - refreshClaims.iat,
  };
  if (accessClaims.scope !== undefined) response.scope = accessClaims.scope;
  return response;
}
