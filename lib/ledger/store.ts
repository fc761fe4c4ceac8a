/**
 * The store contract: storage only. Hashing, projection and concurrency decisions live in the
 * `Ledger`, once, on top of any store. Every implementation passes `spec/ledger/contract.ts`.
 *
 * Failures: a duplicate (stream, seq) is a `ConcurrencyError`; anything else that stops the store
 * from answering is a `StoreUnavailableError`, so callers fail closed.
 *
 * Archives (docs/checkpoints.md "Archives"): `removeStreams` takes a stream only up to the seq its
 * archive holds. An event appended later stays, and is then the first event the store holds of
 * that stream (seq above 1, `prev` the archived head's hash, which `findArchived` records); no
 * state is folded from such a tail alone, and the stream is never archived again.
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

/** What `LedgerStore.readStates` answers. */
export interface StateRead {
  /** The latest state of each stream asked for that has one. */
  states: StreamState[];
  /** The highest pending mark of each stream asked for that has one. */
  pending: PendingMark[];
  /**
   * With `holderOf`: the session whose state holds, or held, that token id; absent when none
   * does. A token belongs to one session for good, so the answer never goes stale; the caller
   * reads that session's state to learn whether it still holds the token (it may have been
   * pruned).
   */
  holder?: TokenHolder;
}

/** The session a token id belongs to, and its subject: fixed when the token is issued. */
export interface TokenHolder {
  stream: string;
  sub: string;
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

/**
 * Live (not destroyed) data keys: a subject's (of one period), of every period before one, or
 * those of a list of ids.
 */
export type DataKeyQuery =
  { sub: string; period?: string } | { periodBefore: string } | { kids: readonly string[] };

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
   * be behind the log. With `holderOf`, the same command also finds the session whose state holds
   * that token id (`holder`), without adding its state or marks to the answer.
   */
  readStates(streams: readonly string[], options?: { holderOf?: string }): Promise<StateRead>;
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
  /**
   * The head of every stream as of `upto`: its last event with `time <= upto` (streams with none
   * are left out), in no particular order.
   */
  streamHeads(upto: Date): Promise<StreamHead[]>;
  /** Stores a checkpoint; false when its `seq` is taken (another instance wrote that one). */
  appendCheckpoint(record: CheckpointRecord): Promise<boolean>;
  /** The checkpoint with the highest `seq`, if any. */
  latestCheckpoint(): Promise<CheckpointRecord | null>;
  /** Checkpoints with `seq > afterSeq`, ascending, at most `limit`. */
  listCheckpoints(afterSeq: number, limit: number): Promise<CheckpointRecord[]>;

  /**
   * Session states (latest snapshot) revoked or past their refresh token's expiry at `before`,
   * whose last event is before `before`; ordered by stream, at most `limit`, after `afterStream`.
   */
  endedSessions(before: Date, limit: number, afterStream?: string): Promise<SessionState[]>;
  /**
   * The `personal` ciphertext of every event of `streams` that has one, in no particular order:
   * an archive run reads which data keys they name.
   */
  personalCiphertexts(streams: readonly string[]): Promise<{ stream: string; personal: string }[]>;
  /**
   * Records an archive that holds `streams` (verified on file), before anything is removed: the
   * archive (unfinished) first, then its streams, so a run that dies part-way is found by
   * `unfinishedArchives`. Idempotent: a stream already recorded keeps its first archive, which
   * alone removes it.
   */
  recordArchive(record: ArchiveRecord, streams: readonly ArchivedStream[]): Promise<void>;
  /** Archives recorded whose streams are not all removed yet (a run that stopped part-way). */
  unfinishedArchives(): Promise<ArchiveRecord[]>;
  /** Marks an archive's removal as done. */
  finishArchive(id: string): Promise<void>;
  /** Archived streams matching every given field (`jti`: the stream named that token). */
  findArchived(query: ArchivedQuery): Promise<ArchivedStream[]>;
  /**
   * Removes what an archive holds of each stream: its projection snapshots and pending marks at or
   * below `seq`, then its events at or below `seq`. An event appended after the archive was made
   * (seq above it) stays, chained to the archived head, and so does a snapshot folded with it.
   */
  removeStreams(streams: readonly ArchivedHead[]): Promise<void>;
}

/** A stream's last event as of some time: what a checkpoint leaf commits to. */
export interface StreamHead {
  stream: string;
  seq: number;
  /** The event's hash (hex). */
  hash: string;
}

/** A stored checkpoint: its compact JWS and, for queries, the claims it signs. */
export interface CheckpointRecord {
  /** 1, 2, ...: one checkpoint per seq, whichever instance wrote it. */
  seq: number;
  /** The compact JWS (`typ: ledger-checkpoint+jwt`). */
  jws: string;
  /** The `upto` claim (NumericDate). */
  upto: number;
  /** The `iat` claim (NumericDate). */
  iat: number;
}

/** An archive file a run wrote: its id, the date it archived before, and its progress. */
export interface ArchiveRecord {
  /** The archive's id, also in the file's header line. */
  id: string;
  /** Streams that ended before this time went into it. */
  before: Date;
  /** When the archive was made. */
  created: Date;
  /** How many streams and events it holds. */
  streams: number;
  events: number;
  /** Whether its streams have been removed from the store. */
  finished: boolean;
}

/** Where an archived stream went, and what it ended with (so checkpoints stay checkable). */
export interface ArchivedStream {
  stream: string;
  sub: string;
  /** The archive's id. */
  archive: string;
  /** Seq and hash of its last event, and the times of its first and last events. */
  seq: number;
  hash: string;
  from: Date;
  to: Date;
  /** Every token id its events named. */
  jtis: string[];
}

/** How much of a stream an archive holds: its events up to and including `seq`. */
export type ArchivedHead = Pick<ArchivedStream, 'stream' | 'seq'>;

/** A filter over archived streams; every given field must match. */
export interface ArchivedQuery {
  stream?: string;
  sub?: string;
  /** Streams whose events named this token id. */
  jti?: string;
  archive?: string;
  /** Streams whose first event is at or before this time. */
  startedBy?: Date;
}
