/**
 * The ledger's events: the source of truth for every token the plugin has issued.
 *
 * A stream is one session (`stream` = the session id `sid`): `issued` starts it, each `refreshed`
 * continues it, `revoked` ends it or revokes one of its access tokens. "Logout everywhere" is one
 * `revoked` event in the subject's own stream (see `subjectStream`), not one event per session.
 * Events name the tokens they concern by `jti` and expiry; a token itself is never recorded.
 *
 * Personal data (user claims, client IP, user agent) is recorded only as ciphertext, in `personal`
 * (see lib/personal-data/): the hash chain covers the ciphertext, so destroying the key that opens
 * it (erasure, retention) leaves every event verifiable. `erased` records such an erasure.
 */

/** Schema version of the event shape; part of the hashed content. */
export const EVENT_VERSION = 1;

/** Who and what caused an event; every field optional, strings only. */
export interface EventMeta {
  /** Kind of external login that led to the session, e.g. `saml`, `password`, `oidc`. */
  source?: string;
  /** Finer detail of the login, e.g. the IdP or the authentication context. */
  method?: string;
  /** Client IP address of the request (Koa's `ctx.ip`; set `app.proxy` behind a proxy). */
  ip?: string;
  /** `User-Agent` header of the request. */
  userAgent?: string;
  /** Who caused a revocation: a subject, an admin, `system`. */
  actor?: string;
  /** Why a token was revoked, e.g. `logout`, `refresh_token_reuse`, `single_session`. */
  reason?: string;
}

/** A token the event concerns: its id and expiry (NumericDate, seconds). */
export interface TokenRef {
  /** The token's `jti` claim. */
  jti: string;
  /** The token's `exp` claim. */
  exp: number;
}

/**
 * What a `revoked` event revokes: one access token, the whole session, or the subject's sessions.
 */
export type RevocationTarget =
  /** One access token of the session. */
  | { kind: 'token'; jti: string }
  /** The whole session: its refresh token and every access token. */
  | { kind: 'session' }
  /** Every session of the subject created at or before `before` ("logout everywhere"). */
  | { kind: 'subject'; before: Date };

/** The fields every event has, whatever its type; the ledger fills them in. */
export interface EventHeader {
  /** The event format's version (`EVENT_VERSION`). */
  v: typeof EVENT_VERSION;
  /** Stream id: the session id, or `subject:<sub>` for a "logout everywhere" of the subject. */
  stream: string;
  /** Position in the stream, from 1, without gaps. */
  seq: number;
  /** When the event was recorded (the ledger's clock). */
  time: Date;
  /** The opaque subject (`sub` claim) of the session. */
  sub: string;
  /** Every `jti` this event concerns (derived from the body, kept for audit queries by token). */
  jtis: string[];
  /** Who and what caused the event. */
  meta: EventMeta;
  /** Hash of the previous event of the stream; null for the first. */
  prev: string | null;
  /**
   * The event's personal fields (`claims`, `meta.ip`, `meta.userAgent`) as one compact JWE under
   * the subject's data key; those fields are then absent in clear. Absent when there are none.
   */
  personal?: string;
  /** SHA-256 (hex) of this event's canonical form without `hash`. */
  hash: string;
}

/** A login started a session: its first access and refresh tokens were issued. */
export interface IssuedEvent extends EventHeader {
  type: 'issued';
  /** The access token issued. */
  access: TokenRef;
  /** The refresh token issued. */
  refresh: TokenRef;
  /** Space-separated scopes of the session's tokens. */
  scope?: string;
  /** Audience of the session's tokens. */
  aud?: string | string[];
  /**
   * When the session ends however often it is refreshed (NumericDate, seconds): the login plus the
   * `sessionMaxAge` in force then. No token of the session expires later. Absent in sessions
   * recorded by versions without the option.
   */
  sessionExp?: number;
  /**
   * The user claims put in the session's access tokens (claims map and extra claims), so a refresh
   * re-issues them without the user record. Never credentials or tokens.
   */
  claims?: Record<string, unknown>;
}

/** A refresh token was spent and a new pair issued (rotation). */
export interface RefreshedEvent extends EventHeader {
  type: 'refreshed';
  /** The refresh token this rotation spent. */
  spent: string;
  /** The access token issued. */
  access: TokenRef;
  /** The refresh token issued. */
  refresh: TokenRef;
}

/** A token, a session, or every session of a subject was revoked. */
export interface RevokedEvent extends EventHeader {
  type: 'revoked';
  /** What was revoked. */
  target: RevocationTarget;
}

/**
 * A subject's personal data was erased: its data keys are destroyed and its sessions revoked
 * (before this event). In the subject's own stream; it holds no personal data.
 */
export interface ErasedEvent extends EventHeader {
  type: 'erased';
}

/** One recorded event of the ledger; narrow on `type`. */
export type LedgerEvent = IssuedEvent | RefreshedEvent | RevokedEvent | ErasedEvent;
/** The type of an event: `issued`, `refreshed`, `revoked` or `erased`. */
export type EventType = LedgerEvent['type'];
export const EVENT_TYPES: readonly EventType[] = ['issued', 'refreshed', 'revoked', 'erased'];

/** The name of a field of `EventHeader`. */
export type Header = keyof EventHeader;
/** An event of type `E` as a caller drafts it: without the header fields but `sub`, `meta` and
 * `personal`. */
export type Draft<E> = E extends LedgerEvent
  ? Omit<E, Exclude<Header, 'sub' | 'meta' | 'personal'>>
  : never;

/**
 * How an event's personal fields read back (`history`): `decrypted` (they are in place), `erased`
 * (the subject was erased), `expired` (past `personalData.retentionDays`), or `unavailable` (this
 * reader cannot open them: no or other key-encryption keys, or the data key is missing).
 */
export type PersonalDataStatus = 'decrypted' | 'erased' | 'expired' | 'unavailable';

/**
 * An event as audit reads return it: personal fields decrypted in place, or a status saying why
 * they cannot be. `personal` is absent when the event holds no personal data.
 */
export type AuditEvent = LedgerEvent extends infer E
  ? E extends LedgerEvent
    ? Omit<E, 'personal'> & { personal?: PersonalDataStatus }
    : never
  : never;

/** What a caller appends: the ledger fills in stream, seq, time, jtis, prev, hash and v. */
export type EventDraft = Draft<LedgerEvent>;

/** The stream that holds subject-wide events such as "logout everywhere". */
export function subjectStream(sub: string): string {
  return `subject:${sub}`;
}

export function isSubjectStream(stream: string): boolean {
  return stream.startsWith('subject:');
}

const META_KEYS = ['source', 'method', 'ip', 'userAgent', 'actor', 'reason'] as const;

/**
 * The fields of a draft that belong in its event, and nothing else: a caller that hands over what it
 * signed (`{ jti, exp, token }`) must not get the token into the log (SECURITY.md), nor set the
 * header the ledger computes. A field added here belongs in the event schema that `verify` checks
 * too (`EVENT_SCHEMAS` in validate.ts). Absent optional fields stay absent rather than
 * `undefined`, which MongoDB stores as null, breaking the event's hash and the rebuilt projection.
 */
export function eventBody(draft: EventDraft): EventDraft {
  const body = bodyOf(draft);
  if (draft.personal !== undefined) body.personal = draft.personal;
  return body;
}

function bodyOf(draft: EventDraft): EventDraft {
  const meta: EventMeta = {};
  for (const key of META_KEYS) {
    if (draft.meta[key] !== undefined) meta[key] = draft.meta[key];
  }
  switch (draft.type) {
    case 'issued': {
      const { sub, access, refresh, scope, aud, sessionExp, claims } = draft;
      const body: Extract<EventDraft, { type: 'issued' }> = {
        type: 'issued',
        sub,
        meta,
        access: ref(access),
        refresh: ref(refresh),
      };
      if (scope !== undefined) body.scope = scope;
      if (aud !== undefined) body.aud = Array.isArray(aud) ? [...aud] : aud;
      if (sessionExp !== undefined) body.sessionExp = sessionExp;
      if (claims !== undefined) {
        body.claims = Object.fromEntries(
          Object.entries(claims).filter(([, value]) => value !== undefined),
        );
      }
      return body;
    }
    case 'refreshed': {
      const { sub, spent, access, refresh } = draft;
      return { type: 'refreshed', sub, meta, spent, access: ref(access), refresh: ref(refresh) };
    }
    case 'revoked':
      return { type: 'revoked', sub: draft.sub, meta, target: targetOf(draft.target) };
    case 'erased':
      return { type: 'erased', sub: draft.sub, meta };
  }
}

function ref(token: TokenRef): TokenRef {
  return { jti: token.jti, exp: token.exp };
}

function targetOf(target: RevocationTarget): RevocationTarget {
  switch (target.kind) {
    case 'token':
      return { kind: 'token', jti: target.jti };
    case 'session':
      return { kind: 'session' };
    case 'subject':
      return { kind: 'subject', before: target.before };
  }
}

/** The token ids an event concerns, for the audit index. */
export function tokenIdsOf(draft: EventDraft): string[] {
  switch (draft.type) {
    case 'issued':
      return [draft.access.jti, draft.refresh.jti];
    case 'refreshed':
      return [draft.spent, draft.access.jti, draft.refresh.jti];
    case 'revoked':
      return draft.target.kind === 'token' ? [draft.target.jti] : [];
    case 'erased':
      return [];
  }
}
