/**
 * The shapes the MongoDB store keeps, and the batch sizes every MongoDB read and write uses.
 */
import type { LedgerEvent } from './events.js';
import type { StreamState } from './projection.js';

export type EventDocument = LedgerEvent & { _id?: unknown };
/** A projection snapshot: one stream's state at one seq (seq >= 1). */
export type StateDocument = StreamState & { _id?: unknown };
/**
 * A pending mark, written before an append at seq `pending` on `stream` and removed once the
 * projection has it. It lives in the state collection beside the stream's snapshots, at seq
 * `-pending`: the unique (stream, seq) index keeps one mark per announced seq apart from the
 * snapshots (seq >= 1), one query by stream reads a stream's snapshots and marks together (so a
 * reader learns in the same round trip that a snapshot may be behind the log), and one range
 * (`-n <= seq < n`) removes both the snapshots older than seq n and the marks it covers.
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
