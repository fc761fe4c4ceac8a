/**
 * The store contract: storage only. Hashing, projection and concurrency decisions live in the
 * `Ledger`, once, on top of any store. Every implementation passes `spec/ledger/contract.ts`.
 *
 * Failures: a duplicate (stream, seq) is a `ConcurrencyError`; anything else that stops the store
 * from answering is a `StoreUnavailableError`, so callers fail closed.
 */
import type { EventType, LedgerEvent } from './events.js';
import type { SessionState, StreamState, SubjectState } from './projection.js';

/** A filter over the event log, as the store answers it (`auth.audit.history()` builds it). */
export interface EventQuery {
  sub?: string;
  /** Session id, or any stream id. */
  stream?: string;
  jti?: string;
  type?: EventType;
  /** Inclusive lower bound on event time. */
  from?: Date;
  /** Exclusive upper bound on event time. */
  to?: Date;
  /** Resume strictly after this position (from the last event of the previous page). */
  after?: EventPosition;
  limit: number;
}

/** Total order of the log for audit reading: time, then stream, then seq. */
export interface EventPosition {
  time: Date;
  stream: string;
  seq: number;
}

/** An append announced at `seq` on `stream` (see `markPending`). */
export interface PendingMark {
  stream: string;
  seq: number;
}

/**
 * A data key: the random key that encrypts one subject's personal data of one period (a calendar
 * month, UTC), stored only wrapped by a key-encryption key (lib/personal-data/). Destroying it
 * (erasure, retention) removes `wrapped` and records why, so what it protected reads as such.
 */
export interface DataKeyRecord {
  /** Random id, named by the `kid` of every ciphertext the key made. */
  kid: string;
  sub: string;
  /** `YYYY-MM`, UTC. */
  period: string;
  createdAt: Date;
  /** The key, as a compact JWE under a key-encryption key; absent once destroyed. */
  wrapped?: string;
  destroyed?: { reason: 'erased' | 'expired'; at: Date };
}

/** Live (not destroyed) data keys: a subject's (of one period), or of every period before one. */
export type DataKeyQuery = { sub: string; period?: string } | { periodBefore: string };

/**
 * The storage contract of the ledger: events, the projection, pending marks and data keys. The
 * built-in stores (`store: { memory: true }` and `store: { mongo }`) implement it; a custom store
 * (`store: { custom }`) must pass the same contract tests (`spec/ledger/contract.ts`).
 */
export interface LedgerStore {
  /** Creates indexes and whatever else the store needs; safe to call on every start. */
  open(): Promise<void>;
  /** Releases what the store holds (its MongoDB client, when it created one). */
  close(): Promise<void>;

  /** Appends one event; a `ConcurrencyError` when (stream, seq) is taken. */
  appendEvent(event: LedgerEvent): Promise<void>;
  /** A stream's events with seq > `afterSeq`, ordered by seq. */
  readStream(stream: string, afterSeq?: number): Promise<LedgerEvent[]>;
  /** Events matching the query, ordered by (time, stream, seq), at most `limit`. */
  queryEvents(query: EventQuery): Promise<LedgerEvent[]>;
  /** Every event, ordered by (stream, seq); for verification and rebuild. */
  scanEvents(): AsyncIterable<LedgerEvent>;
  /** How many events the log holds. */
  countEvents(): Promise<number>;

  /**
   * Records that an append at `seq` is about to happen on `stream`. A mark above a stream's state
   * tells every reader that the log may hold events the state lacks (an append whose projection
   * write failed, or one in flight), so the reader completes the state before answering
   * (`readStates`); marks are also what repair at start-up and the revocation view look for.
   */
  markPending(stream: string, seq: number): Promise<void>;
  /** Streams with a pending mark and the highest seq marked. */
  pendingStreams(): Promise<PendingMark[]>;
  /**
   * Removes a stream's pending mark if it is at most `uptoSeq` (a later mark is a live writer's).
   */
  clearPending(stream: string, uptoSeq: number): Promise<void>;

  /** Projection documents by stream id (missing ones are simply absent). */
  loadStates(streams: readonly string[]): Promise<StreamState[]>;
  /**
   * Projection documents by stream id with the highest pending mark of each of those streams, read
   * together (one command on MongoDB): a reader learns in the same round trip whether a state may
   * be behind the log.
   */
  readStates(
    streams: readonly string[],
  ): Promise<{ states: StreamState[]; pending: PendingMark[] }>;
  /**
   * Saves `state`, folded from the stored state at `expectedSeq` (0: none yet), as its stream's
   * state, and clears the pending marks it covers. Returns false when a state at its seq was saved
   * first (another writer's: states at one seq are folds of one log, so equal). A store may also
   * refuse a state whose stored one is no longer at `expectedSeq`; a save never moves a stream's
   * state back (readers see the highest seq saved).
   */
  saveState(state: StreamState, expectedSeq: number): Promise<boolean>;
  /** The session that holds token `jti`, if any. */
  findSessionByToken(jti: string): Promise<SessionState | null>;
  /** Sessions of `sub` not revoked by a session revocation (for single-session policy). */
  findOpenSessions(sub: string): Promise<SessionState[]>;
  /**
   * The sessions of `sub` not revoked by a session revocation whose refresh token expires after
   * `after` (NumericDate seconds), ordered by stream, with the subject's own state (its "logout
   * everywhere" cut-off), for listing live sessions. The caller applies the cut-off.
   */
  findLiveSessions(
    sub: string,
    after: number,
  ): Promise<{ sessions: SessionState[]; subject: SubjectState | null }>;
  /** The first event (seq 1) of each of `streams` that has one, in no particular order. */
  firstEvents(streams: readonly string[]): Promise<LedgerEvent[]>;
  /** Every projection document, ordered by stream; for verification and rebuild comparison. */
  scanStates(): AsyncIterable<StreamState>;
  /**
   * Replaces the whole projection with `states` (rebuild). A stored state already past the rebuilt
   * one's seq is kept if the log has an event at its seq (a live writer's, meanwhile).
   */
  replaceAllStates(states: AsyncIterable<StreamState> | Iterable<StreamState>): Promise<void>;

  /** Stores a new data key (its `kid` is new: random). */
  insertDataKey(record: DataKeyRecord): Promise<void>;
  /** A data key by id, destroyed or not; null if there is none. */
  findDataKey(kid: string): Promise<DataKeyRecord | null>;
  /** Live data keys matching the query, ordered by kid. */
  liveDataKeys(query: DataKeyQuery): Promise<DataKeyRecord[]>;
  /**
   * Destroys a data key: removes the wrapped key for good and records why. Idempotent: a key
   * destroyed already keeps its first reason. Nothing happens for an unknown `kid`.
   */
  destroyDataKey(kid: string, destroyed: { reason: 'erased' | 'expired'; at: Date }): Promise<void>;
}
