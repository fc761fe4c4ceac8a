/**
 * The shapes the MongoDB store keeps, and the batch sizes every MongoDB read and write uses.
 */
import type { LedgerEvent } from './events.js';
import type { StreamState } from './projection.js';
import type { DataKeyRecord } from './store.js';

export type EventDocument = LedgerEvent & { _id?: unknown };
/** A data key of personal data (`jwtconnect_data_keys`). */
export type DataKeyDocument = DataKeyRecord & { _id?: unknown };
/** A projection snapshot: one stream's state at one seq (seq >= 1). */
export type StateDocument = StreamState & { _id?: unknown };
/**
 * A pending mark, written before an append at seq `pending` on `stream`. It lives in the state
 * collection at the slot (stream, seq `pending`) that the snapshot of that append will take, and
 * saving the snapshot replaces it: marking and unmarking cost no round trip of their own beyond the
 * mark's insert. One query by stream reads a stream's snapshots and marks together, so a reader
 * learns in the same round trip that the highest snapshot is below a mark (the log may be ahead),
 * and a mark whose append never happened is found by `pending` (repair, the revocation view).
 * Marks of older layouts, at seq `-pending`, are read the same way and dropped with the snapshots
 * below the next one saved.
 */
export interface MarkDocument {
  stream: string;
  seq: number;
  pending: number;
}
export type SnapshotDocument = StateDocument | MarkDocument;

export function isMark(doc: SnapshotDocument): doc is MarkDocument {
  return 'pending' in doc;
}

export const SCAN_BATCH = 1000;
/** FerretDB v1.24 stops answering a write command with 100 or more operations; stay well below. */
export const WRITE_BATCH = 50;
