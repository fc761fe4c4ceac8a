/**
 * In-memory store: for host apps' own unit tests and the zero-setup demo. Same contract as the
 * MongoDB store (and the same contract suite), state per instance. What callers pass in is copied
 * once into deeply frozen values (`frozenCopy`), which are then handed out as they are: callers can
 * never mutate what is stored (a write to a frozen object throws in strict mode, a stored Date's
 * setters throw), and reads cost no copy.
 */
import { ConcurrencyError, LedgerInputError, StoreUnavailableError } from '../errors.js';
import { isEnded } from './checkpoints/ended.js';
import { subjectStream, type LedgerEvent } from './events.js';
import { frozenCopy } from './frozen.js';
import type { SessionState, StreamState, SubjectState } from './projection.js';
import type {
  ArchivedHead,
  ArchivedQuery,
  ArchivedStream,
  ArchiveRecord,
  CheckpointRecord,
  DataKeyQuery,
  DataKeyRecord,
  EventPosition,
  EventQuery,
  LedgerStore,
  PendingMark,
  StateRead,
  StreamHead,
} from './store.js';

/**
 * The in-memory store (`store: { memory: true }`): for tests and demos. Everything is lost when
 * the process ends, and each process has its own, so it cannot serve several instances.
 */
export class MemoryStore implements LedgerStore {
  readonly #streams = new Map<string, LedgerEvent[]>();
  readonly #states = new Map<string, StreamState>();
  readonly #pending = new Map<string, number>();
  /**
   * jti -> stream, so lookups by token id do not scan every session. It may still name a stream
   * whose state has since dropped the token (pruned, or replaced by a rebuild), so a lookup checks
   * that the state holds it; keeping such entries spares a rebuild re-indexing every token.
   */
  readonly #tokenIndex = new Map<string, string>();
  /** Every event in audit order (time, stream, seq), and by subject and by token id. */
  readonly #log: LedgerEvent[] = [];
  readonly #bySub = new Map<string, LedgerEvent[]>();
  readonly #byJti = new Map<string, LedgerEvent[]>();
  readonly #checkpoints: CheckpointRecord[] = [];
  readonly #archives = new Map<string, ArchiveRecord>();
  readonly #archived = new Map<string, ArchivedStream>();
  readonly #dataKeys = new Map<string, DataKeyRecord>();
  #closed = false;

  async open(): Promise<void> {
    this.#closed = false;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  async appendEvent(event: LedgerEvent): Promise<void> {
    this.#assertOpen();
    let events = this.#streams.get(event.stream);
    if (!events) this.#streams.set(event.stream, (events = []));
    // Kept ordered by seq. A writer appends previous + 1; only a lost race (or a spec building
    // a gap) lands at or before the end, so the search runs only then.
    let place = events.length;
    if (place > 0 && (events[place - 1] as LedgerEvent).seq >= event.seq) {
      place = seqIndex(events, event.seq);
      if (events[place]?.seq === event.seq) {
        throw new ConcurrencyError(
          `stream ${event.stream} already has seq ${event.seq}`,
          event.stream,
          event.seq,
        );
      }
    }
    const stored = frozenCopy(event);
    events.splice(place, 0, stored);
    // Events arrive nearly in time order: most go at the end; others find their place by binary
    // search (walking back from the end was quadratic when a whole log was copied stream by stream).
    const last = this.#log.at(-1);
    if (!last || comparePosition(last, stored) <= 0) this.#log.push(stored);
    else this.#log.splice(this.#firstAfterPosition(stored), 0, stored);
    addTo(this.#bySub, stored.sub, stored);
    for (const jti of stored.jtis) addTo(this.#byJti, jti, stored);
  }

  async readStream(stream: string, afterSeq = 0): Promise<LedgerEvent[]> {
    this.#assertOpen();
    const events = this.#streams.get(stream) ?? [];
    return events.slice(seqIndex(events, afterSeq + 1));
  }

  async queryEvents(query: EventQuery): Promise<LedgerEvent[]> {
    this.#assertOpen();
    const indexed =
      query.stream !== undefined
        ? this.#streams.get(query.stream)
        : query.sub !== undefined
          ? this.#bySub.get(query.sub)
          : query.jti !== undefined
            ? this.#byJti.get(query.jti)
            : this.#log;
    const found: LedgerEvent[] = [];
    if (indexed === this.#log) {
      // Already in order: start at the first possible position and stop at the limit.
      for (
        let i = this.#firstAfter(query);
        i < this.#log.length && found.length < query.limit;
        i++
      ) {
        const event = this.#log[i] as LedgerEvent;
        if (matches(event, query)) found.push(event);
      }
    } else {
      found.push(...(indexed ?? []).filter((event) => matches(event, query)).sort(comparePosition));
    }
    return found.length > query.limit ? found.slice(0, query.limit) : found;
  }

  async *scanEvents(): AsyncIterable<LedgerEvent> {
    this.#assertOpen();
    for (const stream of [...this.#streams.keys()].sort()) {
      yield* this.#streams.get(stream) ?? [];
    }
  }

  async countEvents(): Promise<number> {
    this.#assertOpen();
    let count = 0;
    for (const events of this.#streams.values()) count += events.length;
    return count;
  }

  async markPending(stream: string, seq: number): Promise<void> {
    this.#assertOpen();
    this.#pending.set(stream, Math.max(seq, this.#pending.get(stream) ?? 0));
  }

  async pendingStreams(): Promise<PendingMark[]> {
    this.#assertOpen();
    return [...this.#pending].map(([stream, seq]) => ({ stream, seq }));
  }

  async clearPending(stream: string, uptoSeq: number): Promise<void> {
    this.#assertOpen();
    if ((this.#pending.get(stream) ?? Infinity) <= uptoSeq) this.#pending.delete(stream);
  }

  async loadStates(streams: readonly string[]): Promise<StreamState[]> {
    this.#assertOpen();
    return streams.flatMap((stream) => {
      const state = this.#states.get(stream);
      return state ? [state] : [];
    });
  }

  async readStates(
    streams: readonly string[],
    options: { holderOf?: string } = {},
  ): Promise<StateRead> {
    const states = await this.loadStates(streams);
    const pending: PendingMark[] = [];
    for (const stream of new Set(streams)) {
      const seq = this.#pending.get(stream);
      if (seq !== undefined) pending.push({ stream, seq });
    }
    const held =
      options.holderOf === undefined ? undefined : this.#tokenIndex.get(options.holderOf);
    const holder = held === undefined ? undefined : this.#states.get(held);
    return {
      states,
      pending,
      ...(holder && { holder: { stream: holder.stream, sub: holder.sub } }),
    };
  }

  async saveState(state: StreamState, expectedSeq: number): Promise<boolean> {
    this.#assertOpen();
    const current = this.#states.get(state.stream)?.seq ?? 0;
    if (current !== expectedSeq) return false;
    this.#setState(state);
    // Only marks this state covers: a later one is another writer's announced append.
    if ((this.#pending.get(state.stream) ?? Infinity) <= state.seq) {
      this.#pending.delete(state.stream);
    }
    return true;
  }

  async findSessionByToken(jti: string): Promise<SessionState | null> {
    this.#assertOpen();
    const stream = this.#tokenIndex.get(jti);
    const state = stream === undefined ? undefined : this.#states.get(stream);
    // Like the MongoDB store, answer only for a token the session's state holds (see #tokenIndex).
    if (state?.kind !== 'session') return null;
    return state.tokens.some((token) => token.jti === jti) ? state : null;
  }

  async findOpenSessions(sub: string): Promise<SessionState[]> {
    this.#assertOpen();
    return [...this.#states.values()].filter(
      (state): state is SessionState =>
        state.kind === 'session' && state.sub === sub && !state.revoked,
    );
  }

  async findLiveSessions(
    sub: string,
    after: number,
  ): Promise<{ sessions: SessionState[]; subject: SubjectState | null }> {
    const sessions = (await this.findOpenSessions(sub))
      .filter((state) => state.refreshExp > after)
      .sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0));
    const subject = this.#states.get(subjectStream(sub));
    return { sessions, subject: subject?.kind === 'subject' ? subject : null };
  }

  async firstEvents(streams: readonly string[]): Promise<LedgerEvent[]> {
    this.#assertOpen();
    return streams.flatMap((stream) => {
      const first = this.#streams.get(stream)?.[0];
      return first?.seq === 1 ? [first] : [];
    });
  }

  async *scanStates(): AsyncIterable<StreamState> {
    this.#assertOpen();
    for (const stream of [...this.#states.keys()].sort()) {
      const state = this.#states.get(stream);
      if (state) yield state;
    }
  }

  async replaceAllStates(
    states: AsyncIterable<StreamState> | Iterable<StreamState>,
  ): Promise<void> {
    this.#assertOpen();
    const next: StreamState[] = [];
    for await (const state of states) {
      // Like the MongoDB store: a state a live writer moved past the rebuilt one is kept.
      const live = this.#states.get(state.stream);
      const ahead =
        live !== undefined && live.seq > state.seq && this.#hasEvent(live.stream, live.seq);
      next.push(ahead ? live : state);
    }
    this.#states.clear();
    for (const state of next) this.#setState(state);
    this.#pending.clear();
  }

  async streamHeads(upto: Date): Promise<StreamHead[]> {
    this.#assertOpen();
    const heads: StreamHead[] = [];
    const limit = upto.getTime();
    for (const [stream, list] of this.#streams) {
      // Event times never go backwards within a stream (Ledger seals them so): binary search.
      let low = 0;
      let high = list.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if ((list[middle] as LedgerEvent).time.getTime() <= limit) low = middle + 1;
        else high = middle;
      }
      const head = list[low - 1];
      if (!head) continue;
      heads.push({ stream, seq: head.seq, hash: head.hash });
    }
    return heads;
  }

  async appendCheckpoint(record: CheckpointRecord): Promise<boolean> {
    this.#assertOpen();
    if (this.#checkpoints.some((stored) => stored.seq === record.seq)) return false;
    this.#checkpoints.push(frozenCopy(record));
    this.#checkpoints.sort((a, b) => a.seq - b.seq);
    return true;
  }

  async latestCheckpoint(): Promise<CheckpointRecord | null> {
    this.#assertOpen();
    return this.#checkpoints.at(-1) ?? null;
  }

  async listCheckpoints(afterSeq: number, limit: number): Promise<CheckpointRecord[]> {
    this.#assertOpen();
    return this.#checkpoints.filter((record) => record.seq > afterSeq).slice(0, limit);
  }

  async endedSessions(before: Date, limit: number, afterStream = ''): Promise<SessionState[]> {
    this.#assertOpen();
    const found: SessionState[] = [];
    for (const stream of [...this.#states.keys()].sort()) {
      if (found.length >= limit) break;
      const state = this.#states.get(stream);
      if (stream <= afterStream || state?.kind !== 'session') continue;
      if (isEnded(state, before)) found.push(state);
    }
    return found;
  }

  async personalCiphertexts(
    streams: readonly string[],
  ): Promise<{ stream: string; personal: string }[]> {
    this.#assertOpen();
    return streams.flatMap((stream) =>
      (this.#streams.get(stream) ?? []).flatMap((event) =>
        event.personal === undefined ? [] : [{ stream, personal: event.personal }],
      ),
    );
  }

  async recordArchive(record: ArchiveRecord, streams: readonly ArchivedStream[]): Promise<void> {
    this.#assertOpen();
    if (!this.#archives.has(record.id)) this.#archives.set(record.id, frozenCopy(record));
    for (const entry of streams) {
      if (!this.#archived.has(entry.stream)) this.#archived.set(entry.stream, frozenCopy(entry));
    }
  }

  async unfinishedArchives(): Promise<ArchiveRecord[]> {
    this.#assertOpen();
    return [...this.#archives.values()].filter((record) => !record.finished);
  }

  async finishArchive(id: string): Promise<void> {
    this.#assertOpen();
    const record = this.#archives.get(id);
    if (record) this.#archives.set(id, frozenCopy({ ...record, finished: true }));
  }

  async findArchived(query: ArchivedQuery): Promise<ArchivedStream[]> {
    this.#assertOpen();
    return [...this.#archived.values()].filter(
      (entry) =>
        (query.stream === undefined || entry.stream === query.stream) &&
        (query.sub === undefined || entry.sub === query.sub) &&
        (query.archive === undefined || entry.archive === query.archive) &&
        (query.startedBy === undefined || entry.from <= query.startedBy) &&
        (query.jti === undefined || entry.jtis.includes(query.jti)),
    );
  }

  async removeStreams(streams: readonly ArchivedHead[]): Promise<void> {
    this.#assertOpen();
    for (const { stream, seq } of streams) {
      const state = this.#states.get(stream);
      if (state && state.seq <= seq) {
        this.#states.delete(stream);
        if (state.kind === 'session') {
          for (const token of state.tokens) {
            if (this.#tokenIndex.get(token.jti) === stream) this.#tokenIndex.delete(token.jti);
          }
        }
      }
      if ((this.#pending.get(stream) ?? Infinity) <= seq) this.#pending.delete(stream);
    }
    // Only what the archive holds: an event appended since (seq above it) stays.
    const gone = new Set<LedgerEvent>();
    for (const { stream, seq } of streams) {
      const events = this.#streams.get(stream) ?? [];
      const kept = events.slice(seqIndex(events, seq + 1));
      for (const event of events.slice(0, events.length - kept.length)) gone.add(event);
      if (kept.length > 0) this.#streams.set(stream, kept);
      else this.#streams.delete(stream);
    }
    for (const event of gone) {
      dropFrom(this.#bySub, event.sub, gone);
      for (const jti of event.jtis) dropFrom(this.#byJti, jti, gone);
    }
    // Compacted in place: a spread of a large log would overflow the argument limit.
    let kept = 0;
    for (const event of this.#log) if (!gone.has(event)) this.#log[kept++] = event;
    this.#log.length = kept;
  }

  async insertDataKey(record: DataKeyRecord): Promise<void> {
    this.#assertOpen();
    if (this.#dataKeys.has(record.kid)) throw new LedgerInputError('the data key id is taken');
    this.#dataKeys.set(record.kid, frozenCopy(record));
  }

  async findDataKey(kid: string): Promise<DataKeyRecord | null> {
    this.#assertOpen();
    return this.#dataKeys.get(kid) ?? null;
  }

  async liveDataKeys(query: DataKeyQuery): Promise<DataKeyRecord[]> {
    this.#assertOpen();
    if ('kids' in query) {
      return [...new Set(query.kids)]
        .flatMap((kid) => {
          const record = this.#dataKeys.get(kid);
          return record?.wrapped === undefined ? [] : [record];
        })
        .sort((a, b) => (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0));
    }
    return [...this.#dataKeys.values()]
      .filter((record) => {
        if (record.wrapped === undefined) return false;
        if ('periodBefore' in query) return record.period < query.periodBefore;
        return record.sub === query.sub && (query.period ?? record.period) === record.period;
      })
      .sort((a, b) => (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0));
  }

  async destroyDataKey(
    kid: string,
    destroyed: { reason: 'erased' | 'expired'; at: Date },
  ): Promise<void> {
    this.#assertOpen();
    const record = this.#dataKeys.get(kid);
    if (!record || record.destroyed) return;
    const { wrapped: _wrapped, ...kept } = record;
    this.#dataKeys.set(kid, frozenCopy({ ...kept, destroyed }));
  }

  #setState(state: StreamState): void {
    // Parts the caller took from a stored state (evolve shares what it does not change) are
    // frozen already and shared; only what is new is copied.
    const stored = frozenCopy(state);
    this.#states.set(stored.stream, stored);
    if (stored.kind === 'session') {
      for (const token of stored.tokens) {
        if (this.#tokenIndex.get(token.jti) !== stored.stream) {
          this.#tokenIndex.set(token.jti, stored.stream);
        }
      }
    }
  }

  #hasEvent(stream: string, seq: number): boolean {
    const events = this.#streams.get(stream) ?? [];
    return events[seqIndex(events, seq)]?.seq === seq;
  }

  /** Index of the first event of the log after `position` (binary search). */
  #firstAfterPosition(position: EventPosition): number {
    let low = 0;
    let high = this.#log.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (comparePosition(this.#log[middle] as LedgerEvent, position) <= 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Index of the first event of the log that can match `from` and `after` (binary search). */
  #firstAfter(query: EventQuery): number {
    let low = 0;
    let high = this.#log.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const event = this.#log[middle] as LedgerEvent;
      const before =
        (query.from !== undefined && event.time < query.from) ||
        (query.after !== undefined && comparePosition(event, query.after) <= 0);
      if (before) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreUnavailableError('the memory store is closed');
  }
}

/** Index of the first of `events` (ordered by seq) with seq >= `seq` (binary search). */
function seqIndex(events: readonly LedgerEvent[], seq: number): number {
  let low = 0;
  let high = events.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((events[middle] as LedgerEvent).seq < seq) low = middle + 1;
    else high = middle;
  }
  return low;
}

function dropFrom(index: Map<string, LedgerEvent[]>, key: string, gone: Set<LedgerEvent>): void {
  const list = index.get(key);
  if (!list) return;
  const kept = list.filter((event) => !gone.has(event));
  if (kept.length > 0) index.set(key, kept);
  else index.delete(key);
}

function addTo(index: Map<string, LedgerEvent[]>, key: string, event: LedgerEvent): void {
  const list = index.get(key);
  if (list) list.push(event);
  else index.set(key, [event]);
}

function matches(event: LedgerEvent, query: EventQuery): boolean {
  if (query.sub !== undefined && event.sub !== query.sub) return false;
  if (query.stream !== undefined && event.stream !== query.stream) return false;
  if (query.jti !== undefined && !event.jtis.includes(query.jti)) return false;
  if (query.type !== undefined && event.type !== query.type) return false;
  if (query.from !== undefined && event.time < query.from) return false;
  if (query.to !== undefined && event.time >= query.to) return false;
  if (query.after !== undefined && comparePosition(event, query.after) <= 0) return false;
  return true;
}

export function comparePosition(a: EventPosition, b: EventPosition): number {
  return (
    a.time.getTime() - b.time.getTime() ||
    (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0) ||
    a.seq - b.seq
  );
}
