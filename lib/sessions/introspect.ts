/**
 * Token introspection (RFC 7662) by `token` or, as django-jwtconnect-auth allows, by `jti`. The
 * answer comes from the ledger's projection, so rotated, revoked and expired tokens are inactive
 * everywhere at once.
 *
 * Policy: a caller may introspect tokens of its own subject; a caller holding the introspection scope
 * may introspect any token; otherwise the answer is exactly `{ active: false }`, so the existence of
 * other subjects' tokens is never revealed.
 */
import {
  tokenStatus,
  type SessionState,
  type SubjectState,
  type TokenHolder,
  type TokenState,
} from '../ledger/index.js';
import { PersonalDataError } from '../errors.js';
import { TOKEN_KINDS, type TokenClaims, type TokenType } from '../tokens/claims.js';
import { verifyPresented, type SessionDeps } from './deps.js';
import { hasSessionEnded } from './lifetime.js';
import { claimsAsRecorded } from './revocation-check.js';
import { hasScope } from './scope.js';
import { sessionClaims } from './user-claims.js';

export interface IntrospectionRequest {
  token?: string;
  jti?: string;
  token_type_hint?: string;
}

/**
 * The body of an introspection answer (RFC 7662 section 2.2); inactive tokens get only `active`.
 */
export interface IntrospectionResponse {
  /** Whether the token is valid now: issued here, not expired, rotated or revoked. */
  active: boolean;
  /** The token's opaque subject. */
  sub?: string;
  /** The token's id. */
  jti?: string;
  /** The id of the token's session. */
  sid?: string;
  /** When the token was issued (NumericDate, seconds). */
  iat?: number;
  /** When the token expires (NumericDate, seconds). */
  exp?: number;
  /** The token's issuer. */
  iss?: string;
  /** The token's audience, when it has one. */
  aud?: string | string[];
  /** The session's space-separated scopes, when it has any. */
  scope?: string;
  /** `Bearer` for access tokens, `refresh_token` for refresh tokens. */
  token_type?: 'Bearer' | 'refresh_token';
  /** `T` for an access token, `R` for a refresh token, as django-jwtconnect-auth names them. */
  ttype?: TokenType;
  /** The `username` claim, when the access token carries one. */
  username?: string;
}

export const INACTIVE: Readonly<IntrospectionResponse> = Object.freeze({ active: false });

/**
 * The answer for `caller` about the token of `request`. For a request by `jti`, `holder` is the
 * session holding that token when the caller's check found it already (null: none does);
 * otherwise it is looked up here.
 */
export async function introspect(
  deps: SessionDeps,
  caller: TokenClaims,
  request: IntrospectionRequest,
  holder?: TokenHolder | null,
): Promise<IntrospectionResponse> {
  const found =
    request.token !== undefined
      ? await byToken(deps, request.token, request.token_type_hint)
      : await byJti(deps, caller, request.jti, holder);
  if (!found) return { ...INACTIVE };
  const { session, subject, jti } = found;
  if (!mayIntrospect(deps, caller, session.sub)) return { ...INACTIVE };
  const now = deps.config.clock();
  const view = tokenStatus(session, jti, subject, now);
  if (view?.status !== 'active') return { ...INACTIVE };
  if (hasSessionEnded(session, deps.config.sessionMaxAge, now)) return { ...INACTIVE };
  return describeToken(deps, session, view.token, await usernameOf(deps, session));
}

/**
 * django-jwtconnect-auth's `username` member: the session's claim of that name, if it can still be
 * read.
 */
async function usernameOf(deps: SessionDeps, session: SessionState): Promise<string | undefined> {
  try {
    const username = (await sessionClaims(deps, session))['username'];
    return typeof username === 'string' ? username : undefined;
  } catch (error) {
    if (error instanceof PersonalDataError) return undefined;
    throw error;
  }
}

function describeToken(
  deps: SessionDeps,
  session: SessionState,
  token: TokenState,
  username: string | undefined,
): IntrospectionResponse {
  const response: IntrospectionResponse = {
    active: true,
    sub: session.sub,
    jti: token.jti,
    sid: session.stream,
    iat: Math.floor(token.issuedAt.getTime() / 1000),
    exp: token.exp,
    iss: deps.config.issuer,
    token_type: TOKEN_KINDS[token.type].tokenType,
    ttype: TOKEN_KINDS[token.type].ttype,
  };
  if (session.aud !== undefined) response.aud = session.aud;
  if (session.scope !== undefined) response.scope = session.scope;
  if (username !== undefined) response.username = username;
  return response;
}

interface Found {
  session: SessionState;
  subject: SubjectState | null;
  jti: string;
}

/** Policy (RFC 7662 section 4): the caller's own subject, or any with the introspection scope. */
function mayIntrospect(deps: SessionDeps, caller: TokenClaims, sub: string): boolean {
  return caller.sub === sub || hasScope(caller, deps.config.scopes.introspection);
}

/**
 * The session holding `jti`, read as by token (its state complete with the log, with its subject's
 * cut-off), if its state still holds the token: a token pruned long after its expiry is inactive.
 * Another subject's token is not read for a caller that may not see it: the answer is inactive
 * either way.
 */
async function byJti(
  deps: SessionDeps,
  caller: TokenClaims,
  jti: string | undefined,
  known: TokenHolder | null | undefined,
): Promise<Found | null> {
  if (jti === undefined) return null;
  const holder = known === undefined ? await deps.ledger.findTokenHolder(jti) : known;
  if (!holder || !mayIntrospect(deps, caller, holder.sub)) return null;
  const { session, subject } = await deps.ledger.loadHolder(holder, jti);
  return session ? { session, subject, jti } : null;
}

async function byToken(
  deps: SessionDeps,
  token: string,
  hint: string | undefined,
): Promise<Found | null> {
  const claims = await verifyPresented(deps, token, hint);
  if (!claims) return null;
  const { session, subject } = await deps.ledger.loadSession(claims.sid, claims.sub);
  const recorded = session?.tokens.find((candidate) => candidate.jti === claims.jti);
  // A token whose exp, scope or aud differ from the ledger's was not issued here: inactive.
  if (!session || !recorded || !claimsAsRecorded(claims, session, recorded)) return null;
  return { session, subject, jti: claims.jti };
}
