/**
 * The store contract: storage only. Hashing, projection and concurrency decisions live in the
 * `Ledger`, once, on top of any store. Every implementation passes `spec/ledger/contract.ts`.
 *
 * Failures: a duplicate (stream, seq) is a `ConcurrencyError`; anything else that stops the store
 * from answering is a `StoreUnavailableError`, so callers fail closed.
 */
import type { EventType, LedgerEvent } from './events.js';
import type { SessionState, StreamState } from './projection.js';

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

/**
 * The storage contract of the ledger: events, the projection and pending marks. `MemoryStore` and
 * `MongoStore` implement it; a custom store must pass the same contract tests.
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
   * Records that an append at `seq` is about to happen on `stream`, so a crash between the append
   * and the projection update is found and repaired on the next start (`pendingStreams`).
   */
  markPending(stream: string, seq: number): Promise<void>;
  /** Streams with a pending mark and the highest seq marked, for repair. */
  pendingStreams(): Promise<{ stream: string; seq: number }[]>;
  /**
   * Removes a stream's pending mark if it is at most `uptoSeq` (a later mark is a live writer's).
   */
  clearPending(stream: string, uptoSeq: number): Promise<void>;

  /** Projection documents by stream id (missing ones are simply absent). */
  loadStates(streams: readonly string[]): Promise<StreamState[]>;
  /**
   * Replaces a stream's state if the stored one is at `expectedSeq` (0: none yet). Clears the
   * pending mark. Returns false when another writer got there first.
   */
  saveState(state: StreamState, expectedSeq: number): Promise<boolean>;
  /** The session that holds token `jti`, if any. */
  findSessionByToken(jti: string): Promise<SessionState | null>;
  /** Sessions of `sub` not revoked by a session revocation (for single-session policy). */
  findOpenSessions(sub: string): Promise<SessionState[]>;
  /** Every projection document, ordered by stream; for verification and rebuild comparison. */
  scanStates(): AsyncIterable<StreamState>;
  /**
   * Replaces the whole projection with `states` (rebuild). A stored state already past the rebuilt
   * one's seq is kept if the log has an event at its seq (a live writer's, meanwhile).
   */
  replaceAllStates(states: AsyncIterable<StreamState> | Iterable<StreamState>): Promise<void>;

  /**
   * The head of every stream as of `upto`: its last event with `time <= upto` (streams with none
   * are left out), in no particular order, and how many events have `time <= upto` in all.
   */
  streamHeads(upto: Date): Promise<{ heads: StreamHead[]; events: number }>;
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
   * Records an archive that holds `streams` (verified on file), before anything is removed.
   * Idempotent: a stream already recorded keeps its first archive.
   */
  recordArchive(record: ArchiveRecord, streams: readonly ArchivedStream[]): Promise<void>;
  /** Archives recorded whose streams are not all removed yet (a run that stopped part-way). */
  unfinishedArchives(): Promise<ArchiveRecord[]>;
  /** Marks an archive's removal as done. */
  finishArchive(id: string): Promise<void>;
  /** Archived streams matching every given field (`jti`: the stream named that token). */
  findArchived(query: ArchivedQuery): Promise<ArchivedStream[]>;
  /** Removes the projection snapshots, pending marks and events of `streams`, in that order. */
  removeStreams(streams: readonly string[]): Promise<void>;
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
