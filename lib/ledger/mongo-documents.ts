/**
 * The shapes the MongoDB store keeps, and the batch sizes every MongoDB read and write uses.
 */
import type { LedgerEvent } from './events.js';
import type { StreamState } from './projection.js';
import type { DataKeyRecord } from './store.js';

export type EventDocument = LedgerEvent & { _id?: unknown };
/** A projection snapshot: one stream's state at one seq. */
export type StateDocument = StreamState & { _id?: unknown };
export type DataKeyDocument = DataKeyRecord & { _id?: unknown };
/** Written before an append at `seq` on `stream`; removed once the projection has it. */
export interface PendingMark {
  stream: string;
  seq: number;
}

export const SCAN_BATCH = 1000;
/** FerretDB v1.24 stops answering a write command with 100 or more operations; stay well below. */
export const WRITE_BATCH = 50;
