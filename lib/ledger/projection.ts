/**
 * The projection: current state per stream, folded from its events by a pure `evolve`.
 * The stores persist one state document per stream; rebuilding from the log gives the same documents.
 *
 * Expiry is not an event: it is derived when a token's state is read, from `exp` and the time asked.
 *
 * A session's `tokens` keep every token that can still matter, not all it ever had: each event drops
 * the tokens that expired more than `TOKEN_RETENTION_MS` before its time (the current refresh token
 * never). Otherwise the state grows by a pair per refresh forever, and MongoDB writes it whole on
 * each one. The log keeps them all: `foldComplete` answers audit questions about pruned tokens.
 */
import type { EventMeta, LedgerEvent, RevokedEvent } from './events.js';
import { isSubjectStream } from './events.js';

/** When, why and by whom something was revoked. */
export interface Revocation {
  at: Date;
  reason?: string;
  actor?: string;
}

/** The projected state of one token of a session. */
export interface TokenState {
  jti: string;
  type: 'access' | 'refresh';
  exp: number;
  issuedAt: Date;
  /** The refresh token spent to obtain this one (rotation lineage); absent for the first pair. */
  parent?: string;
  /** For a rotated refresh token: the refresh token that replaced it, and when. */
  replacedBy?: string;
  rotatedAt?: Date;
  revoked?: Revocation;
}

/** The fields every projected state has: which stream, and how far into it. */
export interface StateHeader {
  /** The stream folded: a session id, or the subject's stream. */
  stream: string;
  /** The opaque subject. */
  sub: string;
  /** Seq and hash of the last event applied. */
  seq: number;
  /** Hash of the last event applied. */
  hash: string;
  /** Time of the last event applied. */
  updatedAt: Date;
}

/** The projected state of one session (one stream), folded from its events. */
export interface SessionState extends StateHeader {
  kind: 'session';
  createdAt: Date;
  login: Pick<EventMeta, 'source' | 'method'>;
  scope?: string;
  aud?: string | string[];
  /** When the session ends however often it is refreshed (from the `issued` event; seconds). */
  sessionExp?: number;
  /** User claims for the session's access tokens (from the `issued` event, if in clear). */
  claims?: Record<string, unknown>;
  /** The `issued` event's personal fields, encrypted (its `personal`): the claims are in there. */
  personal?: string;
  /** The refresh token that may be used next. */
  refreshJti: string;
  refreshExp: number;
  revoked?: Revocation;
  tokens: TokenState[];
}

/** The projected state of a subject's own stream: its "logout everywhere" cut-off. */
export interface SubjectState extends StateHeader {
  kind: 'subject';
  /** Sessions created at or before this time are revoked ("logout everywhere"). */
  revokedBefore?: Date;
  revocation?: Revocation;
  /** When the subject's personal data was last erased (its `erased` event). */
  erasedAt?: Date;
}

/** The projected state of any stream: a session, or a subject. */
export type StreamState = SessionState | SubjectState;

/**
 * How long after its `exp` a token stays in its session's state: one hour. A token is pruned only
 * once no instance can accept it any more, so its absence from the state ("unknown") answers like
 * its expiry would (inactive, refused). Verification allows `exp + clockTolerance`, at most 300 s
 * (lib/config.ts); event times come from the writing instance's clock, and a verifier's clock may
 * be behind it. An hour covers the tolerance plus 55 minutes of skew between instances, while
 * instances skewed by more than the tolerance already refuse each other's tokens (`iat`, `nbf`).
 */
export const TOKEN_RETENTION_MS = 3_600_000;

export class ProjectionError extends Error {
  override name = 'ProjectionError';
}

function revocationOf(event: RevokedEvent): Revocation {
  const revocation: Revocation = { at: event.time };
  if (event.meta.reason !== undefined) revocation.reason = event.meta.reason;
  if (event.meta.actor !== undefined) revocation.actor = event.meta.actor;
  return revocation;
}

/**
 * Applies one event to a stream's state. Pure; re-applying an event already applied (seq <= state.seq)
 * returns the state unchanged, so projection updates are idempotent. Parts that the event does not
 * change are shared with `state`, never copied or changed. Tokens expired for longer than
 * `TOKEN_RETENTION_MS` at the event's time are left out (see above).
 */
export function evolve(state: StreamState | null, event: LedgerEvent): StreamState {
  return step(state, event, TOKEN_RETENTION_MS);
}

function step(state: StreamState | null, event: LedgerEvent, retentionMs: number): StreamState {
  if (state && event.seq <= state.seq) return state;
  const expected = (state?.seq ?? 0) + 1;
  if (event.seq !== expected) {
    throw new ProjectionError(`stream ${event.stream}: expected seq ${expected}, got ${event.seq}`);
  }
  const header = {
    stream: event.stream,
    sub: event.sub,
    seq: event.seq,
    hash: event.hash,
    updatedAt: event.time,
  };

  if (isSubjectStream(event.stream)) {
    const subject = state?.kind === 'subject' ? state : undefined;
    if (event.type === 'erased')
      return { kind: 'subject', ...subject, ...header, erasedAt: event.time };
    if (event.type !== 'revoked' || event.target.kind !== 'subject') {
      throw new ProjectionError(`stream ${event.stream}: only subject revocations belong here`);
    }
    const previous = subject?.revokedBefore;
    const before = previous && previous > event.target.before ? previous : event.target.before;
    return {
      kind: 'subject',
      ...subject,
      ...header,
      revokedBefore: before,
      revocation: revocationOf(event),
    };
  }

  if (event.type === 'issued') {
    if (state) throw new ProjectionError(`stream ${event.stream}: issued twice`);
    const session: SessionState = {
      kind: 'session',
      ...header,
      createdAt: event.time,
      login: pickLogin(event.meta),
      refreshJti: event.refresh.jti,
      refreshExp: event.refresh.exp,
      tokens: [
        { jti: event.access.jti, type: 'access', exp: event.access.exp, issuedAt: event.time },
        { jti: event.refresh.jti, type: 'refresh', exp: event.refresh.exp, issuedAt: event.time },
      ],
    };
    if (event.scope !== undefined) session.scope = event.scope;
    if (event.aud !== undefined) session.aud = event.aud;
    if (event.sessionExp !== undefined) session.sessionExp = event.sessionExp;
    if (event.claims !== undefined) session.claims = event.claims;
    if (event.personal !== undefined) session.personal = event.personal;
    return session;
  }

  if (state?.kind !== 'session') {
    throw new ProjectionError(`stream ${event.stream}: ${event.type} before issued`);
  }

  // NumericDate seconds: a token expired before this is dropped (the current refresh token never).
  const horizon = (event.time.getTime() - retentionMs) / 1000;
  if (event.type === 'refreshed') {
    const tokens: TokenState[] = [];
    for (const token of state.tokens) {
      // The spent token is the current refresh token no more: the new one, pushed below, is.
      if (token.exp < horizon) continue;
      tokens.push(
        token.jti === event.spent
          ? { ...token, replacedBy: event.refresh.jti, rotatedAt: event.time }
          : token,
      );
    }
    tokens.push(
      {
        jti: event.access.jti,
        type: 'access',
        exp: event.access.exp,
        issuedAt: event.time,
        parent: event.spent,
      },
      {
        jti: event.refresh.jti,
        type: 'refresh',
        exp: event.refresh.exp,
        issuedAt: event.time,
        parent: event.spent,
      },
    );
    return {
      ...state,
      ...header,
      refreshJti: event.refresh.jti,
      refreshExp: event.refresh.exp,
      tokens,
    };
  }

  if (event.type === 'erased') {
    throw new ProjectionError(`stream ${event.stream}: erasure belongs in the subject's stream`);
  }
  const revocation = revocationOf(event);
  if (event.target.kind === 'session') {
    const tokens = retained(state, horizon);
    return { ...state, ...header, revoked: state.revoked ?? revocation, tokens };
  }
  if (event.target.kind === 'token') {
    const jti = event.target.jti;
    const tokens = retained(state, horizon).map((token) =>
      token.jti === jti && !token.revoked ? { ...token, revoked: revocation } : token,
    );
    return { ...state, ...header, tokens };
  }
  throw new ProjectionError(`stream ${event.stream}: subject revocation in a session stream`);
}

/** The session's tokens without those expired before `horizon`; the same array if none is. */
function retained(state: SessionState, horizon: number): TokenState[] {
  let kept: TokenState[] | undefined;
  for (let i = 0; i < state.tokens.length; i++) {
    const token = state.tokens[i] as TokenState;
    const keep = token.exp >= horizon || token.jti === state.refreshJti;
    if (!keep) kept ??= state.tokens.slice(0, i);
    else kept?.push(token);
  }
  return kept ?? state.tokens;
}

function pickLogin(meta: EventMeta): Pick<EventMeta, 'source' | 'method'> {
  const login: Pick<EventMeta, 'source' | 'method'> = {};
  if (meta.source !== undefined) login.source = meta.source;
  if (meta.method !== undefined) login.method = meta.method;
  return login;
}

/** Folds a whole stream from nothing: the projection's state. */
export function fold(events: Iterable<LedgerEvent>): StreamState | null {
  let state: StreamState | null = null;
  for (const event of events) state = step(state, event, TOKEN_RETENTION_MS);
  return state;
}

/**
 * Folds a whole stream keeping every token, however long expired: the complete history, for audit
 * answers about tokens the projection no longer holds. Otherwise exactly `fold`.
 */
export function foldComplete(events: Iterable<LedgerEvent>): StreamState | null {
  let state: StreamState | null = null;
  for (const event of events) state = step(state, event, Number.POSITIVE_INFINITY);
  return state;
}

/** The status of a token at a moment: revocation wins over rotation, rotation over expiry. */
export type TokenStatus = 'active' | 'rotated' | 'revoked' | 'expired';

/** A token's status at a moment, with its state and its session's. */
export interface TokenView {
  status: TokenStatus;
  token: TokenState;
  session: SessionState;
  /** For `revoked`: which revocation applies (token, session or subject cut-off). */
  revocation?: Revocation & { scope: 'token' | 'session' | 'subject' };
}

/**
 * The status of one token at time `at` (epoch ms), given its session and the subject's state.
 * Revocation wins over rotation, rotation over expiry.
 */
export function tokenStatus(
  session: SessionState,
  jti: string,
  subject: SubjectState | null,
  at: number,
): TokenView | null {
  const token = session.tokens.find((candidate) => candidate.jti === jti);
  if (!token) return null;
  if (token.revoked)
    return { status: 'revoked', token, session, revocation: { ...token.revoked, scope: 'token' } };
  if (session.revoked) {
    return {
      status: 'revoked',
      token,
      session,
      revocation: { ...session.revoked, scope: 'session' },
    };
  }
  if (subject?.revokedBefore && coveredByCutOff(session.createdAt, subject.revokedBefore)) {
    const revocation = subject.revocation ?? { at: subject.revokedBefore };
    return { status: 'revoked', token, session, revocation: { ...revocation, scope: 'subject' } };
  }
  if (token.replacedBy !== undefined) return { status: 'rotated', token, session };
  if (token.exp * 1000 <= at) return { status: 'expired', token, session };
  return { status: 'active', token, session };
}

/** Whether the session as a whole is revoked, directly or by its subject's cut-off. */
export function isSessionRevoked(session: SessionState, subject: SubjectState | null): boolean {
  if (session.revoked) return true;
  return (
    subject?.revokedBefore !== undefined &&
    coveredByCutOff(session.createdAt, subject.revokedBefore)
  );
}

/**
 * Whether a session that began at `createdAt` falls under a subject cut-off. Compared in whole
 * seconds, as tokens carry `auth_time` in seconds, so that every instance (reading the store or a
 * local view of revocations) decides alike. A login in the same second as the cut-off is revoked
 * too: when in doubt, fail closed.
 */
export function coveredByCutOff(createdAt: Date | number, before: Date): boolean {
  const createdSecond =
    typeof createdAt === 'number' ? createdAt : Math.floor(createdAt.getTime() / 1000);
  return createdSecond <= Math.floor(before.getTime() / 1000);
}
