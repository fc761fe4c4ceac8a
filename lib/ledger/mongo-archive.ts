/**
 * The MongoDB side of checkpoints and archives (used by `MongoStore` only): three small
 * collections beside the log and the state collection, written by inserts, deletes and one flag update per archive.
 * - checkpoints: one document per `seq`, unique, so of several instances one writes each;
 * - archives: one document per archive file, `finished` once its streams are removed;
 * - archived: one document per archived stream, unique, naming its archive.
 */
import type { Collection, Filter, IndexDescription } from 'mongodb';
import { isEnded } from './checkpoints/ended.js';
import { isDuplicateKey, isOnlyDuplicateKeys } from './mongo-errors.js';
import {
  SCAN_BATCH,
  WRITE_BATCH,
  isMark,
  type EventDocument,
  type SnapshotDocument,
} from './mongo-documents.js';
import type { SessionState } from './projection.js';
import type {
  ArchivedHead,
  ArchivedQuery,
  ArchivedStream,
  ArchiveRecord,
  CheckpointRecord,
  StreamHead,
} from './store.js';

export interface AuditCollections {
  events: Collection<EventDocument>;
  /** Snapshots and the pending marks kept beside them. */
  state: Collection<SnapshotDocument>;
  checkpoints: Collection<CheckpointRecord>;
  archives: Collection<ArchiveRecord>;
  archived: Collection<ArchivedStream>;
}

export const CHECKPOINT_INDEXES: IndexDescription[] = [
  { key: { seq: 1 }, name: 'seq', unique: true },
];
export const ARCHIVE_INDEXES: IndexDescription[] = [
  { key: { id: 1 }, name: 'id', unique: true },
  { key: { finished: 1 }, name: 'finished' },
];
export const ARCHIVED_INDEXES: IndexDescription[] = [
  { key: { stream: 1 }, name: 'stream', unique: true },
  // Each query sorts by stream: the index carries it.
  { key: { sub: 1, stream: 1 }, name: 'sub_stream' },
  { key: { jtis: 1, stream: 1 }, name: 'jtis_stream' },
  { key: { archive: 1, stream: 1 }, name: 'archive_stream' },
  { key: { from: 1, stream: 1 }, name: 'from_stream' },
];

export async function streamHeads(
  events: Collection<EventDocument>,
  upto: Date,
): Promise<StreamHead[]> {
  const cursor = events
    .find(
      { time: { $lte: upto } },
      { projection: { _id: 0, stream: 1, seq: 1, hash: 1 }, batchSize: SCAN_BATCH },
    )
    .sort({ stream: 1, seq: 1 });
  const heads: StreamHead[] = [];
  for await (const doc of cursor) {
    const head = { stream: doc.stream, seq: doc.seq, hash: doc.hash };
    if (heads.at(-1)?.stream === doc.stream) heads[heads.length - 1] = head;
    else heads.push(head);
  }
  return heads;
}

export async function appendCheckpoint(
  checkpoints: Collection<CheckpointRecord>,
  record: CheckpointRecord,
): Promise<boolean> {
  try {
    await checkpoints.insertOne({ ...record });
    return true;
  } catch (error) {
    if (isDuplicateKey(error)) return false;
    throw error;
  }
}

export async function listCheckpoints(
  checkpoints: Collection<CheckpointRecord>,
  afterSeq: number,
  limit: number,
): Promise<CheckpointRecord[]> {
  return checkpoints
    .find({ seq: { $gt: afterSeq } }, { projection: { _id: 0 } })
    .sort({ seq: 1 })
    .limit(limit)
    .toArray() as Promise<CheckpointRecord[]>;
}

/**
 * Candidates come from any snapshot; each is checked again on its stream's latest snapshot, since
 * an older one not yet dropped may say "revoked" of a state that has moved on. The walk follows
 * the `stream_seq` index in stream order (the kind is checked on the documents, so no index of its
 * own is kept on the hot state collection for this batch job).
 */
export async function endedSessions(
  state: Collection<SnapshotDocument>,
  before: Date,
  limit: number,
  afterStream: string,
): Promise<SessionState[]> {
  const cursor = state
    .find(
      {
        stream: { $gt: afterStream },
        updatedAt: { $lt: before },
        $or: [
          { revoked: { $exists: true } },
          { refreshExp: { $lte: Math.floor(before.getTime() / 1000) } },
        ],
      },
      { projection: { _id: 0, stream: 1 }, batchSize: SCAN_BATCH },
    )
    .sort({ stream: 1 });
  const found: SessionState[] = [];
  let batch: string[] = [];
  const check = async () => {
    // The (stream, seq) index's own order: with `$in`, a descending seq would be sorted in memory.
    const docs = await state
      .find({ stream: { $in: batch } }, { projection: { _id: 0 } })
      .sort({ stream: 1, seq: 1 })
      .toArray();
    const latest = docs.filter((doc, i) => docs[i + 1]?.stream !== doc.stream);
    for (const doc of latest) {
      // A pending mark above the snapshot means an append under way: not ended.
      if (isMark(doc)) continue;
      if (doc.kind === 'session' && isEnded(doc, before) && found.length < limit) found.push(doc);
    }
    batch = [];
  };
  for await (const doc of cursor) {
    if (batch.at(-1) === doc.stream) continue;
    batch.push(doc.stream);
    if (batch.length >= WRITE_BATCH) await check();
    if (found.length >= limit) break;
  }
  if (batch.length > 0 && found.length < limit) await check();
  return found;
}

export async function recordArchive(
  collections: AuditCollections,
  record: ArchiveRecord,
  streams: readonly ArchivedStream[],
): Promise<void> {
  // The archive first: a run that dies part-way leaves it unfinished, so the next run removes
  // whatever streams it had recorded. Streams recorded first would name an archive no run knows
  // of, and stay in the store for good.
  try {
    await collections.archives.insertOne({ ...record });
  } catch (error) {
    if (!isDuplicateKey(error)) throw error;
  }
  for (let i = 0; i < streams.length; i += WRITE_BATCH) {
    const batch = streams.slice(i, i + WRITE_BATCH).map((entry) => ({ ...entry }));
    try {
      await collections.archived.insertMany(batch, { ordered: false });
    } catch (error) {
      // A stream recorded by an earlier, interrupted run keeps its first archive.
      if (!isOnlyDuplicateKeys(error)) throw error;
    }
  }
}

export function archivedFilter(query: ArchivedQuery): Filter<ArchivedStream> {
  const filter: Filter<ArchivedStream> = {};
  if (query.startedBy !== undefined) filter.from = { $lte: query.startedBy };
  if (query.stream !== undefined) filter.stream = query.stream;
  if (query.sub !== undefined) filter.sub = query.sub;
  if (query.jti !== undefined) filter.jtis = query.jti;
  if (query.archive !== undefined) filter.archive = query.archive;
  return filter;
}

/**
 * One delete command per collection and WRITE_BATCH streams, a statement per stream bounded by the
 * archived seq (served by the `stream_seq` indexes): whatever was appended after the archive was
 * made stays, so no transaction or fence is needed against a writer racing the removal.
 */
export async function removeStreams(
  collections: AuditCollections,
  streams: readonly ArchivedHead[],
): Promise<void> {
  for (let i = 0; i < streams.length; i += WRITE_BATCH) {
    const batch = streams.slice(i, i + WRITE_BATCH);
    const deletes = batch.map(({ stream, seq }) => ({
      deleteMany: { filter: { stream, seq: { $lte: seq } } },
    }));
    // The projection (and any pending mark) first: a crash in between leaves events without a
    // state, which a re-run removes; never a state whose events are gone.
    await collections.state.bulkWrite(deletes, { ordered: false });
    await collections.events.bulkWrite(deletes, { ordered: false });
  }
}
