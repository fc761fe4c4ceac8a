/**
 * Audit questions answered from the log: history pages, rotation lineage and point-in-time state.
 */
import { ArchivedError, LedgerInputError } from '../errors.js';
import { reveal } from '../personal-data/codec.js';
import type { AuditEvent, EventType } from './events.js';
import { EVENT_TYPES, subjectStream } from './events.js';
import type { Ledger } from './ledger.js';
import {
  foldComplete,
  tokenStatus,
  isSessionRevoked,
  type SessionState,
  type SubjectState,
  type TokenStatus,
  type TokenView,
} from './projection.js';
import type { EventPosition } from './store.js';
import { MAX_ID_LENGTH, assertDate, assertId } from './validate.js';

/** Events per history page when the query sets no `limit`. */
export const DEFAULT_PAGE_SIZE = 50;
/** The largest `limit` a history query may set. */
export const MAX_PAGE_SIZE = 500;

/** A filter for `auth.audit.history()`; every field optional, combined with "and". */
export interface HistoryQuery {
  /** Events of this subject (`sub` claim). */
  sub?: string;
  /** Events of this session. */
  sid?: string;
  /** Events that concern this token id. */
  jti?: string;
  /** Only events of this type. */
  type?: EventType;
  /** Events at or after this time. */
  from?: Date;
  /** Events before this time. */
  to?: Date;
  /** Events per page, 1 to 500. Default 50. */
  limit?: number;
  /** `nextCursor` of the previous page, with the same filter as that page. */
  cursor?: string;
}

/** One page of events, oldest first. */
export interface HistoryPage {
  /** The events of this page: personal fields decrypted, or marked with why they cannot be. */
  events: AuditEvent[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
  /**
   * Sessions matching `sid`, `sub` or `jti` whose events were moved to an archive file, and that
   * archive's id (`audit archive`); on the first page only, absent when there are none.
   */
  archived?: { sid: string; archive: string }[];
}

/** Events matching the query, oldest first, one page at a time. */
export async function history(ledger: Ledger, query: HistoryQuery): Promise<HistoryPage> {
  if (query.sub !== undefined) assertId(query.sub, 'sub');
  if (query.sid !== undefined) assertId(query.sid, 'sid');
  if (query.jti !== undefined) assertId(query.jti, 'jti');
  if (query.type !== undefined && !EVENT_TYPES.includes(query.type)) {
    throw new LedgerInputError(`"type" must be one of ${EVENT_TYPES.join(', ')}`);
  }
  if (query.from !== undefined) assertDate(query.from, 'from');
  if (query.to !== undefined) assertDate(query.to, 'to');
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new LedgerInputError(`"limit" must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  // Read beside the page, not after it: naming archived sessions costs no round trip.
  const [events, archived] = await Promise.all([
    ledger.store.queryEvents({
      ...(query.sub !== undefined && { sub: query.sub }),
      ...(query.sid !== undefined && { stream: query.sid }),
      ...(query.jti !== undefined && { jti: query.jti }),
      ...(query.type !== undefined && { type: query.type }),
      ...(query.from !== undefined && { from: query.from }),
      ...(query.to !== undefined && { to: query.to }),
      ...(query.cursor !== undefined && { after: decodeCursor(query.cursor) }),
      limit: limit + 1,
    }),
    query.cursor === undefined ? archivedFor(ledger, query) : [],
  ]);
  const page = events.slice(0, limit);
  const last = page.at(-1);
  const readable = await (ledger.personalData?.reveal(page) ?? reveal(null, page));
  const nextCursor = events.length > limit && last ? encodeCursor(last) : null;
  return { events: readable, nextCursor, ...(archived.length > 0 && { archived }) };
}

async function archivedFor(
  ledger: Ledger,
  query: HistoryQuery,
): Promise<{ sid: string; archive: string }[]> {
  if (query.sid === undefined && query.sub === undefined && query.jti === undefined) return [];
  const found = await ledger.store.findArchived({
    ...(query.sid !== undefined && { stream: query.sid }),
    ...(query.sub !== undefined && { sub: query.sub }),
    ...(query.jti !== undefined && { jti: query.jti }),
  });
  return found.map((entry) => ({ sid: entry.stream, archive: entry.archive }));
}

export function encodeCursor(position: EventPosition): string {
  return Buffer.from(
    JSON.stringify([position.time.getTime(), position.stream, position.seq]),
  ).toString('base64url');
}

/** ECMAScript's Date range (ECMA-262 section 21.4.1.22): a time outside it is an Invalid Date. */
const MAX_TIME_MS = 8.64e15;

/**
 * The position a cursor names. Every field is checked, so each store is asked the same valid
 * question: a time outside the Date range, an empty or oversized stream or a seq below 1 is refused.
 */
export function decodeCursor(cursor: unknown): EventPosition {
  if (typeof cursor === 'string' && cursor.length <= 2048) {
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    } catch (error) {
      throw new LedgerInputError('"cursor" is not a cursor this ledger issued', { cause: error });
    }
    if (isPosition(value)) return { time: new Date(value[0]), stream: value[1], seq: value[2] };
  }
  throw new LedgerInputError('"cursor" is not a cursor this ledger issued');
}

function isPosition(value: unknown): value is [number, string, number] {
  return (
    Array.isArray(value) &&
    value.length === 3 &&
    Number.isSafeInteger(value[0]) &&
    Math.abs(value[0] as number) <= MAX_TIME_MS &&
    typeof value[1] === 'string' &&
    value[1].length > 0 &&
    value[1].length <= MAX_ID_LENGTH &&
    Number.isSafeInteger(value[2]) &&
    (value[2] as number) >= 1
  );
}

/** The answer of `auth.audit.tokenAt()`: a token's status at a moment. */
export interface TokenAt {
  jti: string;
  at: Date;
  /**
   * `unknown`: no such token had been issued at that time; `archived`: its session was moved to
   * the archive `archive` names.
   */
  status: TokenStatus | 'unknown' | 'archived';
  view: TokenView | null;
  /** The archive's id, with status `archived`. */
  archive?: string;
}

/**
 * Was token `jti` active at time `at`? Folds its session and subject streams up to `at`, keeping
 * every token: one the projection has pruned (long expired) is found through the log.
 */
export async function tokenAt(ledger: Ledger, jti: string, at: Date): Promise<TokenAt> {
  assertId(jti, 'jti');
  assertDate(at, 'at');
  const origin = await ledger.issuingEvent(jti);
  if (!origin) {
    const [archived] = await ledger.store.findArchived({ jti });
    if (archived) return { jti, at, status: 'archived', view: null, archive: archived.archive };
    return { jti, at, status: 'unknown', view: null };
  }
  const { session, subject } = await foldAt(ledger, origin.stream, origin.sub, at);
  const view = session ? tokenStatus(session, jti, subject, at.getTime()) : null;
  return { jti, at, status: view?.status ?? 'unknown', view };
}

/** The answer of `auth.audit.sessionAt()`: a session's status at a moment. */
export interface SessionAt {
  sid: string;
  at: Date;
  /** `archived`: the session was moved to the archive `archive` names. */
  status: 'active' | 'revoked' | 'expired' | 'unknown' | 'archived';
  session: SessionState | null;
  /** The archive's id, with status `archived`. */
  archive?: string;
}

/**
 * The state of session `sid` at time `at`, from the log alone (like `tokenAt`): the subject is the
 * one its events name, whatever the projection holds or lacks.
 */
export async function sessionAt(ledger: Ledger, sid: string, at: Date): Promise<SessionAt> {
  assertId(sid, 'sid');
  assertDate(at, 'at');
  const [first] = await ledger.store.queryEvents({ stream: sid, limit: 1 });
  if (first?.type !== 'issued') {
    const [archived] = await ledger.store.findArchived({ stream: sid });
    if (archived) return { sid, at, status: 'archived', session: null, archive: archived.archive };
    return { sid, at, status: 'unknown', session: null };
  }
  const { session, subject } = await foldAt(ledger, sid, first.sub, at);
  if (!session) return { sid, at, status: 'unknown', session: null };
  const status = isSessionRevoked(session, subject)
    ? 'revoked'
    : session.refreshExp * 1000 <= at.getTime()
      ? 'expired'
      : 'active';
  return { sid, at, status, session };
}

/** A session and its subject as of `at`, with every token the session had (none pruned). */
async function foldAt(
  ledger: Ledger,
  sid: string,
  sub: string,
  at: Date,
): Promise<{ session: SessionState | null; subject: SubjectState | null }> {
  const [session, subject] = await Promise.all([
    ledger.stateAt(sid, at, { complete: true }),
    ledger.stateAt(subjectStream(sub), at),
  ]);
  return {
    session: session?.kind === 'session' ? session : null,
    subject: subject?.kind === 'subject' ? subject : null,
  };
}

/**
 * One token of a session's rotation lineage: the refresh token that produced it, what replaced it.
 */
export interface LineageLink {
  jti: string;
  type: 'access' | 'refresh';
  parent: string | null;
  replacedBy: string | null;
}

/**
 * Rotation lineage of the tokens a session state holds: which refresh token replaced which, and
 * what each produced. A projected state has pruned long-expired tokens; `sessionLineage` has all.
 */
export function lineage(session: SessionState): LineageLink[] {
  return session.tokens.map((token) => ({
    jti: token.jti,
    type: token.type,
    parent: token.parent ?? null,
    replacedBy: token.replacedBy ?? null,
  }));
}

/**
 * The complete rotation lineage of session `sid`, folded from its log (no token pruned).
 *
 * @throws {@link ArchivedError} when the session was moved to an archive file (it names which).
 */
export async function sessionLineage(ledger: Ledger, sid: string): Promise<LineageLink[]> {
  assertId(sid, 'sid');
  const events = await ledger.store.readStream(sid);
  // Empty, or only a tail after an archived prefix: the lineage is in the archive file.
  if (events[0]?.seq !== 1) {
    const [archived] = await ledger.store.findArchived({ stream: sid });
    if (archived) {
      throw new ArchivedError(`session ${sid} is in archive ${archived.archive}`, archived.archive);
    }
  }
  const state = foldComplete(events);
  return state?.kind === 'session' ? lineage(state) : [];
}
