/**
 * Projection rebuild on MongoDB: replacing every snapshot with the rebuilt states while live
 * writers may keep appending. Kept apart from the store because it is the one multi-step write the
 * store makes, and the round trips it needs matter on servers that scan for every `$in` (FerretDB).
 */
import type { Collection } from 'mongodb';
import { isDeepStrictEqual } from 'node:util';
import { isOnlyDuplicateKeys } from './mongo-errors.js';
import {
  SCAN_BATCH,
  WRITE_BATCH,
  type EventDocument,
  type SnapshotDocument,
  type StateDocument,
} from './mongo-documents.js';
import type { StreamState } from './projection.js';
import type { PendingMark } from './store.js';

export interface SnapshotCollections {
  events: Collection<EventDocument>;
  /** Snapshots and pending marks (see `MarkDocument`). */
  state: Collection<SnapshotDocument>;
}

/**
 * Writes every rebuilt state as its stream's snapshot (replacing what is there, which a rebuild
 * exists to correct), then removes snapshots of streams the log does not back. A snapshot past the
 * rebuilt seq is kept only if the log has an event at its seq (a live writer's, meanwhile).
 *
 * Round trips per SCAN_BATCH streams: one read of their snapshots; then one insert per
 * WRITE_BATCH streams that had none, and for those whose snapshots differ, per WRITE_BATCH: a read
 * of their seqs, one of the events backing those ahead (only if any are), a delete and an insert.
 * A stream whose only snapshot already equals the rebuilt state is left as it is.
 */
export async function replaceAllSnapshots(
  collections: SnapshotCollections,
  states: AsyncIterable<StreamState> | Iterable<StreamState>,
): Promise<void> {
  const collection = collections.state;
  const keep = new Set<string>();
  let batch = new Map<string, StreamState>();
  // Streams whose only snapshot already equals the rebuilt state are found with one read per
  // SCAN_BATCH streams and left alone; the others are rewritten WRITE_BATCH at a time, each
  // chunk checked just before its write for snapshots a live writer moved ahead meanwhile.
  const flush = async () => {
    if (batch.size === 0) return;
    const rebuilt = batch;
    batch = new Map();
    const live = await snapshots(collections.state, [...rebuilt.keys()], { _id: 0 });
    const absent: StreamState[] = [];
    const changed: StreamState[] = [];
    for (const state of rebuilt.values()) {
      const docs = live.get(state.stream);
      if (!docs) absent.push(state);
      else if (!(docs.length === 1 && isDeepStrictEqual(docs[0], state))) changed.push(state);
    }
    for (let i = 0; i < absent.length; i += WRITE_BATCH) {
      await insertAbsent(collections.state, absent.slice(i, i + WRITE_BATCH));
    }
    for (let i = 0; i < changed.length; i += WRITE_BATCH) {
      await rewrite(collections, changed.slice(i, i + WRITE_BATCH));
    }
  };
  for await (const state of states) {
    keep.add(state.stream);
    batch.set(state.stream, state);
    if (batch.size >= SCAN_BATCH) await flush();
  }
  await flush();
  const orphans = new Set<string>();
  // In the (stream, seq) index's order, which also holds every field read: the index alone answers.
  for await (const doc of collection.find(
    { seq: { $gt: 0 } },
    { projection: { _id: 0, stream: 1 }, sort: { stream: 1, seq: 1 } },
  )) {
    if (!keep.has(doc.stream)) orphans.add(doc.stream);
  }
  const list = [...orphans];
  for (let i = 0; i < list.length; i += WRITE_BATCH) {
    await collection.deleteMany({
      stream: { $in: list.slice(i, i + WRITE_BATCH) },
      seq: { $gt: 0 },
    });
  }
  // The rebuilt projection holds every event of the log: no mark announces anything it lacks.
  await collection.deleteMany({ pending: { $gt: 0 } });
}

/** Each stream's snapshots (all seqs), read in one query. */
async function snapshots(
  state: Collection<SnapshotDocument>,
  streams: readonly string[],
  projection: Record<string, 0 | 1>,
): Promise<Map<string, StateDocument[]>> {
  const found = new Map<string, StateDocument[]>();
  const cursor = state.find(
    { stream: { $in: [...streams] }, seq: { $gt: 0 } },
    { projection, batchSize: SCAN_BATCH },
  ) as unknown as AsyncIterable<StateDocument>;
  for await (const doc of cursor) {
    const docs = found.get(doc.stream);
    if (docs) docs.push(doc);
    else found.set(doc.stream, [doc]);
  }
  return found;
}

/**
 * Inserts the rebuilt states of streams that had no snapshot when read: nothing to delete. A
 * snapshot a live writer saved since at the same seq is equal (a fold of one log) and wins the
 * unique index; one at a later seq is ahead and stays the latest.
 */
async function insertAbsent(
  state: Collection<SnapshotDocument>,
  states: readonly StreamState[],
): Promise<void> {
  try {
    await state.insertMany(
      states.map((state) => ({ ...state })),
      { ordered: false },
    );
  } catch (error) {
    if (!isOnlyDuplicateKeys(error)) throw error;
  }
}

/**
 * Replaces the snapshots of these streams (at most WRITE_BATCH) with the rebuilt states, except
 * where a snapshot is ahead of the rebuilt one and the log has its event: a live writer's.
 */
async function rewrite(
  collections: SnapshotCollections,
  states: readonly StreamState[],
): Promise<void> {
  const live = await snapshots(
    collections.state,
    states.map((state) => state.stream),
    { _id: 0, stream: 1, seq: 1 },
  );
  const candidates: PendingMark[] = [];
  for (const state of states) {
    for (const doc of live.get(state.stream) ?? []) {
      if (doc.seq > state.seq) candidates.push({ stream: state.stream, seq: doc.seq });
    }
  }
  const backed = await existingEvents(collections.events, candidates);
  const stale = states.filter(
    (state) =>
      !(live.get(state.stream) ?? []).some((doc) => backed.has(`${state.stream}\u0000${doc.seq}`)),
  );
  if (stale.length === 0) return;
  const collection = collections.state;
  await collection.deleteMany({
    stream: { $in: stale.map((state) => state.stream) },
    seq: { $gt: 0 },
  });
  await collection.insertMany(stale.map((state) => ({ ...state })));
}

/** Which of `positions` the log has an event at, as `stream\0seq` keys; one query. */
async function existingEvents(
  events: Collection<EventDocument>,
  positions: readonly PendingMark[],
): Promise<Set<string>> {
  const found = new Set<string>();
  if (positions.length === 0) return found;
  const cursor = events.find(
    { $or: positions.map(({ stream, seq }) => ({ stream, seq })) },
    { projection: { _id: 0, stream: 1, seq: 1 } },
  );
  for await (const event of cursor) found.add(`${event.stream}\u0000${event.seq}`);
  return found;
}
