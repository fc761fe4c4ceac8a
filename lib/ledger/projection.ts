/**
 * The projection: current state per stream, folded from its events by a pure `evolve`.
 * The stores persist one state document per stream; rebuilding from the log gives the same documents.
 *
 * Expiry is not an event: it is derived when a token's state is read, from `exp` and the time asked.
 */
import type { EventMeta, LedgerEvent, RevokedEvent } from './events.js';
import { isSubjectStream } from './events.js';

export interface Revocation {
  at: Date;
  reason?: string;
  actor?: string;
}

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

interface StateHeader {
  stream: string;
  sub: string;
  /** Seq and hash of the last event applied. */
  seq: number;
  hash: string;
  updatedAt: Date;
}

export interface SessionState extends StateHeader {
  kind: 'session';
  createdAt: Date;
  login: Pick<EventMeta, 'source' | 'method'>;
  scope?: string;
  aud?: string | string[];
  /** User claims for the session's access tokens (from the `issued` event). */
  claims?: Record<string, unknown>;
  /** The refresh token that may be used next. */
  refreshJti: string;
  refreshExp: number;
  revoked?: Revocation;
  tokens: TokenState[];
}

export interface SubjectState extends StateHeader {
  kind: 'subject';
  /** Sessions created at or before this time are revoked ("logout everywhere"). */
  revokedBefore?: Date;
  revocation?: Revocation;
}

export type StreamState = SessionState | SubjectState;

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
 * returns the state unchanged, so projection updates are idempotent.
 */
export function evolve(state: StreamState | null, event: LedgerEvent): StreamState {
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
    if (event.type !== 'revoked' || event.target.kind !== 'subject') {
      throw new ProjectionError(`stream ${event.stream}: only subject revocations belong here`);
    }
    const previous = state?.kind === 'subject' ? state.revokedBefore : undefined;
    const before = previous && previous > event.target.before ? previous : event.target.before;
    return { kind: 'subject', ...header, revokedBefore: before, revocation: revocationOf(event) };
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
    if (event.claims !== undefined) session.claims = event.claims;
    return session;
  }

  if (state?.kind !== 'session') {
    throw new ProjectionError(`stream ${event.stream}: ${event.type} before issued`);
  }

  if (event.type === 'refreshed') {
    const tokens = state.tokens.map((token) =>
      token.jti === event.spent
        ? { ...token, replacedBy: event.refresh.jti, rotatedAt: event.time }
        : token,
    );
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

  const revocation = revocationOf(event);
  if (event.target.kind === 'session') {
    return { ...state, ...header, revoked: state.revoked ?? revocation };
  }
  if (event.target.kind === 'token') {
    const jti = event.target.jti;
    const tokens = state.tokens.map((token) =>
      token.jti === jti && !token.revoked ? { ...token, revoked: revocation } : token,
    );
    return { ...state, ...header, tokens };
  }
  throw new ProjectionError(`stream ${event.stream}: subject revocation in a session stream`);
}

function pickLogin(meta: EventMeta): Pick<EventMeta, 'source' | 'method'> {
  const login: Pick<EventMeta, 'source' | 'method'> = {};
  if (meta.source !== undefined) login.source = meta.source;
  if (meta.method !== undefined) login.method = meta.method;
  return login;
}

/** Folds a whole stream from nothing. */
export function fold(events: Iterable<LedgerEvent>): StreamState | null {
  let state: StreamState | null = null;
  for (const event of events) state = evolve(state, event);
  return state;
}

export type TokenStatus = 'active' | 'rotated' | 'revoked' | 'expired';

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
