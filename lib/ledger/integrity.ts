/**
 * Whole-log checks: `verifyLedger` walks every stream's hash chain; `rebuildProjection` folds the
 * log from scratch and either compares with the live projection (dry run) or replaces it.
 */
import type { LedgerEvent } from './events.js';
import { canonicalJson, verifyStream, type ChainProblem } from './hash-chain.js';
import { fold, type StreamState } from './projection.js';
import type { LedgerStore } from './store.js';

/** Called as a long check or rebuild advances, with the events and streams done so far. */
export type Progress = (done: { events: number; streams: number }) => void;

/** What `auth.audit.verify()` found. */
export interface VerifyReport {
  /** True when every chain is intact. */
  ok: boolean;
  /** Streams checked. */
  streams: number;
  /** Events checked. */
  events: number;
  /** Each altered, missing or reordered event, with its stream and seq. */
  problems: ChainProblem[];
}

/** Checks every stream's chain, and that each stream ends where the projection says it does. */
export async function verifyLedger(
  store: LedgerStore,
  onProgress?: Progress,
): Promise<VerifyReport> {
  const heads = new Map<string, { seq: number; hash: string }>();
  for await (const state of store.scanStates())
    heads.set(state.stream, { seq: state.seq, hash: state.hash });

  const problems: ChainProblem[] = [];
  let events = 0;
  let streams = 0;
  for await (const [stream, streamEvents] of byStream(store.scanEvents())) {
    const start = await archivedPrefix(store, streamEvents);
    problems.push(...verifyStream(stream, streamEvents, heads.get(stream), start));
    heads.delete(stream);
    events += streamEvents.length;
    streams += 1;
    onProgress?.({ events, streams });
  }
  // Projection entries whose whole stream is gone from the log.
  for (const [stream, head] of heads) {
    problems.push({
      stream,
      seq: 1,
      problem: 'missing_tail',
      detail: `projection is at seq ${head.seq}, log has no events`,
    });
  }
  return { ok: problems.length === 0, streams, events, problems };
}

/** A stream whose live projection differs from the one rebuilt from the log. */
export interface RebuildDifference {
  stream: string;
  /** `missing`: the live projection lacks the stream; `extra`: it has a stream the log does not. */
  kind: 'missing' | 'extra' | 'different';
}

/** What `auth.audit.rebuild()` did, or on a dry run would do. */
export interface RebuildReport {
  /** Streams checked. */
  streams: number;
  /** Events checked. */
  events: number;
  /** Filled on a dry run: how the live projection differs from the rebuilt one. */
  differences: RebuildDifference[];
  /** Whether the projection was replaced (false on a dry run). */
  written: boolean;
}

/** Folds the whole log. With `dryRun`, only reports differences from the live projection. */
export async function rebuildProjection(
  store: LedgerStore,
  options: { dryRun?: boolean; onProgress?: Progress } = {},
): Promise<RebuildReport> {
  const rebuilt = new Map<string, StreamState>();
  let events = 0;
  for await (const [stream, streamEvents] of byStream(store.scanEvents())) {
    const state = (await archivedPrefix(store, streamEvents))
      ? await stateOfTail(store, streamEvents)
      : fold(streamEvents);
    if (state) rebuilt.set(stream, state);
    events += streamEvents.length;
    options.onProgress?.({ events, streams: rebuilt.size });
  }
  if (!options.dryRun) {
    await store.replaceAllStates(rebuilt.values());
    return { streams: rebuilt.size, events, differences: [], written: true };
  }
  const differences: RebuildDifference[] = [];
  const seen = new Set<string>();
  for await (const live of store.scanStates()) {
    seen.add(live.stream);
    const expected = rebuilt.get(live.stream);
    if (!expected) differences.push({ stream: live.stream, kind: 'extra' });
    else if (canonicalJson(expected) !== canonicalJson(live)) {
      differences.push({ stream: live.stream, kind: 'different' });
    }
  }
  for (const stream of rebuilt.keys()) {
    if (!seen.has(stream)) differences.push({ stream, kind: 'missing' });
  }
  return { streams: rebuilt.size, events, differences, written: false };
}

/**
 * The archived head a stream's stored events continue, when its first stored event is not seq 1
 * and follows the head the archived-streams index records for it (docs/checkpoints.md
 * "Archives"). One lookup per such stream: they exist only where an event was appended while an
 * archive run removed its session.
 */
async function archivedPrefix(
  store: LedgerStore,
  events: readonly LedgerEvent[],
): Promise<{ seq: number; hash: string } | undefined> {
  const first = events[0];
  if (!first || first.seq === 1) return undefined;
  const [entry] = await store.findArchived({ stream: first.stream });
  return entry && entry.seq === first.seq - 1 && entry.hash === first.prev
    ? { seq: entry.seq, hash: entry.hash }
    : undefined;
}

/**
 * A tail cannot be folded without the archived prefix, so it has no state of its own; a stored
 * one already at the tail's last event (folded by its writer from the whole stream, before the
 * prefix left) is kept as it is.
 */
async function stateOfTail(
  store: LedgerStore,
  events: readonly LedgerEvent[],
): Promise<StreamState | null> {
  const last = events.at(-1) as LedgerEvent;
  const [live] = await store.loadStates([last.stream]);
  return live?.seq === last.seq && live.hash === last.hash ? live : null;
}

/** Groups an event scan ordered by (stream, seq) into one array per stream. */
async function* byStream(
  events: AsyncIterable<LedgerEvent>,
): AsyncIterable<[string, LedgerEvent[]]> {
  let current: string | undefined;
  let batch: LedgerEvent[] = [];
  for await (const event of events) {
    if (event.stream !== current) {
      if (current !== undefined) yield [current, batch];
      current = event.stream;
      batch = [];
    }
    batch.push(event);
  }
  if (current !== undefined) yield [current, batch];
}
