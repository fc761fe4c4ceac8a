/**
 * The ledger: appends events with optimistic concurrency, keeps the projection in step, and answers
 * audit questions. Hashing, projection and retry logic live here once, on top of any `LedgerStore`.
 *
 * An append is: mark the stream pending, insert the event (unique (stream, seq) decides races),
 * then update the projection. If the projection update fails (a crash, a failed write), the mark
 * stays, and it is read together with the state: every reader of that stream applies the missing
 * events before it answers (`states`), so a recorded revocation is enforced by every instance at
 * once, not after a restart. `open()` also repairs every marked stream before the ledger serves.
 *
 * The event's time is taken after its mark is written, so an event stamped at T had its mark
 * visible from before T: a reader polling by time (the revocation view) that missed an event whose
 * insert became visible late finds its stream through the mark instead.
 */
import { systemClock, type Clock } from '../clock.js';
import { ConcurrencyError } from '../errors.js';
import type { AuditEvent, EventDraft, IssuedEvent, LedgerEvent, RefreshedEvent } from './events.js';
import { EVENT_VERSION, eventBody, subjectStream, tokenIdsOf } from './events.js';
import { hashEvent } from './hash-chain.js';
import {
  evolve,
  fold,
  foldComplete,
  type SessionState,
  type StreamState,
  type SubjectState,
} from './projection.js';
import type { LedgerStore, TokenHolder } from './store.js';
import { assertId } from './validate.js';

/** Options of a `Ledger`: the store it writes to and the clock it stamps events with. */
export interface LedgerOptions {
  store: LedgerStore;
  clock?: Clock;
  /** How many times a decision is re-run after losing a race on the same stream. Default 5. */
  maxAttempts?: number;
  /** Encryption of personal data (lib/personal-data/); without it events keep what they are given. */
  personalData?: PersonalDataCodec;
}

/** Encryption of events' personal fields, as the plugin's `PersonalData` does it. */
export interface PersonalDataCodec {
  /**
   * Turns a draft's personal fields into ciphertext before it is sealed: every event passes here,
   * so none reaches the store with them in clear.
   */
  protect(draft: EventDraft, now: number): Promise<EventDraft>;
  /** Events for audit reads: personal fields decrypted, or a status saying why they cannot be. */
  reveal(events: readonly LedgerEvent[]): Promise<AuditEvent[]>;
  /** An event just appended, as `reveal` would return it, from the draft it was sealed from. */
  revealAppended(event: LedgerEvent, draft: EventDraft): AuditEvent;
}

/**
 * Decides what to append given the stream's current state: an event draft, or null for nothing.
 * It may throw to refuse. It is re-run with fresh state after a lost race.
 */
export type Decide = (
  state: StreamState | null,
  context: {
    attempt: number;
    now: number;
    /** The states of the `related` streams `execute` was given, read with this attempt's state. */
    related: ReadonlyMap<string, StreamState>;
  },
) => EventDraft | null;

/** The stream appended to, and other streams the decision depends on (read, never appended to). */
export interface ExecuteTarget {
  stream: string;
  /**
   * E.g. the subject's stream, for a cut-off. Read in the same round trip as the stream's state on
   * every attempt, so a retried decision never works on a stale copy of them.
   */
  related?: readonly string[];
  /**
   * The stream is new (a fresh random id, as a login's session): the first attempt decides on no
   * state without reading it. Should the stream exist after all, the unique (stream, seq) index
   * refuses the append and the next attempt reads it.
   */
  fresh?: boolean;
  /**
   * The states of `stream` and `related` as the caller just read them (a read-ahead): the first
   * attempt decides on them instead of reading again. A stale copy of `stream` loses the race at
   * the unique (stream, seq) index and the next attempt reads fresh states.
   */
  readAhead?: readonly StreamState[];
}

/** An event appended by `Ledger.execute()`, and the state it produced. */
export interface Appended {
  event: LedgerEvent;
  state: StreamState;
  /** What `decide` returned, before its personal fields were encrypted: for in-process listeners. */
  draft: EventDraft;
}

/** Called after every successful append (and projection update). */
export type AppendListener = (appended: Appended) => void;

/**
 * The event-sourced ledger on top of a store: appends hash-chained events with optimistic
 * concurrency and keeps the projection folded from them. Hosts rarely need it directly.
 */
export class Ledger {
  /** The store events and states are kept in. */
  readonly store: LedgerStore;
  /** The clock events are stamped with. */
  readonly clock: Clock;
  readonly personalData: PersonalDataCodec | undefined;
  readonly #maxAttempts: number;
  readonly #listeners = new Set<AppendListener>();

  constructor(options: LedgerOptions) {
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.#maxAttempts = options.maxAttempts ?? 5;
    this.personalData = options.personalData;
  }

  /** Prepares the store and repairs projections left behind by a crash. */
  async open(): Promise<void> {
    await this.store.open();
    await this.repair();
  }

  /** Closes the store. */
  async close(): Promise<void> {
    await this.store.close();
  }

  /** Called after every successful append (and projection update). */
  onAppend(listener: AppendListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Runs `decide` against `stream`'s state and appends what it returns. On a lost race the
   * projection is brought up to date and `decide` runs again, up to `maxAttempts` times.
   */
  async execute(target: string | ExecuteTarget, decide: Decide): Promise<Appended | null> {
    // Anything but a target object is taken for a stream id, and checked as one.
    const {
      stream,
      related = [],
      fresh = false,
      readAhead,
    }: ExecuteTarget = typeof target === 'object' && target !== null ? target : { stream: target };
    assertId(stream, 'stream');
    for (const other of related) assertId(other, 'stream');
    for (let attempt = 1; ; attempt++) {
      const states =
        attempt === 1 && readAhead
          ? readAhead
          : fresh && attempt === 1 && related.length === 0
            ? []
            : await this.states([stream, ...related]);
      const state = states.find((candidate) => candidate.stream === stream) ?? null;
      const others = new Map(states.map((candidate) => [candidate.stream, candidate]));
      others.delete(stream);
      const now = this.clock();
      const decided = decide(state, { attempt, now, related: others });
      if (!decided) return null;
      const draft = this.personalData ? await this.personalData.protect(decided, now) : decided;
      const seq = (state?.seq ?? 0) + 1;
      let event: LedgerEvent;
      try {
        await this.store.markPending(stream, seq);
        // Stamped once the mark is written (see the header).
        event = seal(stream, draft, state, this.clock());
        await this.store.appendEvent(event);
      } catch (error) {
        if (!(error instanceof ConcurrencyError) || attempt >= this.#maxAttempts) throw error;
        await this.catchUp(stream);
        continue;
      }
      const next = evolve(state, event);
      if (!(await this.store.saveState(next, state?.seq ?? 0))) await this.catchUp(stream);
      const appended = { event, state: next, draft: decided };
      for (const listener of this.#listeners) listener(appended);
      return appended;
    }
  }

  /**
   * The projected states of `streams` (missing ones absent), complete with every event the log
   * holds for them: one store round trip, plus a catch-up for a stream whose pending mark says the
   * log may be ahead of its state (a projection write that failed, or an append in flight).
   */
  async states(streams: readonly string[]): Promise<StreamState[]> {
    return (await this.#read(streams)).states;
  }

  /** `states`, and with `holderOf` the session holding that token id, found in the same read. */
  async #read(
    streams: readonly string[],
    holderOf?: string,
  ): Promise<{ states: StreamState[]; holder: TokenHolder | null }> {
    const read = await this.store.readStates(streams, holderOf === undefined ? {} : { holderOf });
    const { states, pending } = read;
    const holder = read.holder ?? null;
    const behind = pending.filter(
      (mark) => mark.seq > (states.find((state) => state.stream === mark.stream)?.seq ?? 0),
    );
    if (behind.length === 0) return { states, holder };
    const completed = new Map(states.map((state) => [state.stream, state]));
    for (const { stream } of behind) {
      const state = await this.catchUp(stream);
      if (state) completed.set(stream, state);
    }
    return { states: [...completed.values()], holder };
  }

  /** Applies to the projection any events of `stream` it does not have yet. */
  async catchUp(stream: string): Promise<StreamState | null> {
    for (;;) {
      const [state = null] = await this.store.loadStates([stream]);
      const missing = await this.store.readStream(stream, state?.seq ?? 0);
      if (missing.length === 0) return state;
      // Events after an archived prefix (docs/checkpoints.md "Archives"): no state is folded from
      // a tail alone; the session it continues has ended, and its tokens are refused without one.
      if (!state && missing[0]?.seq !== 1) return null;
      let next: StreamState | null = state;
      for (const event of missing) next = evolve(next, event);
      if (next && (await this.store.saveState(next, state?.seq ?? 0))) return next;
    }
  }

  /**
   * Finds streams marked pending and applies their unprojected events. Returns the streams
   * repaired.
   */
  async repair(): Promise<string[]> {
    const repaired: string[] = [];
    for (const { stream } of await this.store.pendingStreams()) {
      const before = (await this.store.loadStates([stream]))[0]?.seq ?? 0;
      const at = (await this.catchUp(stream))?.seq ?? 0;
      if (at > before) repaired.push(stream);
      // A mark above `at` is an append that never happened, or one in flight on another instance.
      await this.store.clearPending(stream, at);
    }
    return repaired;
  }

  /** A session and its subject's state, in one store round trip. */
  async loadSession(
    sid: string,
    sub: string,
  ): Promise<{ session: SessionState | null; subject: SubjectState | null }> {
    assertId(sid, 'sid');
    assertId(sub, 'sub');
    const states = await this.states([sid, subjectStream(sub)]);
    return pickSessionAndSubject(states, sid, sub);
  }

  /**
   * `loadSession`, and in the same store round trip which session holds token `jti` (see
   * `findTokenHolder`): a caller's check and the lookup of the token it asks about, together.
   */
  async loadSessionFindingToken(
    sid: string,
    sub: string,
    jti: string,
  ): Promise<{
    session: SessionState | null;
    subject: SubjectState | null;
    holder: TokenHolder | null;
  }> {
    assertId(sid, 'sid');
    assertId(sub, 'sub');
    assertId(jti, 'jti');
    const { states, holder } = await this.#read([sid, subjectStream(sub)], jti);
    return { ...pickSessionAndSubject(states, sid, sub), holder };
  }

  /**
   * Which session token `jti` belongs to, and its subject, in one store round trip; null when no
   * session state names it. A token never changes session, so the answer cannot be stale, but the
   * session may no longer hold it (pruned): `findByToken` checks.
   */
  async findTokenHolder(jti: string): Promise<TokenHolder | null> {
    assertId(jti, 'jti');
    return (await this.#read([], jti)).holder;
  }

  /**
   * The session holding token `jti`, with its subject's state: which session that is, then the
   * session and subject read as `loadSession` reads them (two store round trips). Null for a token
   * the session's current state does not hold (unknown, or pruned long after its expiry).
   */
  async findByToken(
    jti: string,
  ): Promise<{ session: SessionState | null; subject: SubjectState | null }> {
    const holder = await this.findTokenHolder(jti);
    return holder ? this.loadHolder(holder, jti) : { session: null, subject: null };
  }

  /**
   * The session `holder` names (from `findTokenHolder`), with its subject's state, read as
   * `loadSession` reads them; nulls when that session's state no longer holds token `jti`.
   */
  async loadHolder(
    holder: TokenHolder,
    jti: string,
  ): Promise<{ session: SessionState | null; subject: SubjectState | null }> {
    const { session, subject } = await this.loadSession(holder.stream, holder.sub);
    const holds = session?.tokens.some((token) => token.jti === jti) ?? false;
    return holds ? { session, subject } : { session: null, subject: null };
  }

  /**
   * The event that issued token `jti`, from the log: the first event naming it (a `refreshed` event
   * names the token it spent only after that token's own event). Found for tokens the projection
   * has pruned too; null for a token the ledger never issued.
   */
  async issuingEvent(jti: string): Promise<IssuedEvent | RefreshedEvent | null> {
    assertId(jti, 'jti');
    const [first] = await this.store.queryEvents({ jti, limit: 1 });
    return first?.type === 'issued' || first?.type === 'refreshed' ? first : null;
  }

  /**
   * A stream's state folded from its events up to and including time `at` (point in time): what the
   * projection held then. With `complete`, tokens it had pruned by then are kept (`foldComplete`).
   */
  async stateAt(
    stream: string,
    at: Date,
    options: { complete?: boolean } = {},
  ): Promise<StreamState | null> {
    assertId(stream, 'stream');
    const events = await this.store.readStream(stream);
    const upto = events.filter((event) => event.time.getTime() <= at.getTime());
    return options.complete ? foldComplete(upto) : fold(upto);
  }
}

function pickSessionAndSubject(states: StreamState[], sid: string, sub: string) {
  const session = states.find((state) => state.stream === sid);
  const subject = states.find((state) => state.stream === subjectStream(sub));
  return {
    session: session?.kind === 'session' ? session : null,
    subject: subject?.kind === 'subject' ? subject : null,
  };
}

/** Completes a draft into the event to append: position, time, token ids and the chain link. */
function seal(
  stream: string,
  draft: EventDraft,
  state: StreamState | null,
  now: number,
): LedgerEvent {
  // Event time never goes backwards within a stream, even across instances with skewed clocks.
  const time = new Date(Math.max(now, state?.updatedAt.getTime() ?? 0));
  const unsealed = {
    v: EVENT_VERSION,
    stream,
    seq: (state?.seq ?? 0) + 1,
    time,
    jtis: tokenIdsOf(draft),
    prev: state?.hash ?? null,
    ...eventBody(draft),
  } as Omit<LedgerEvent, 'hash'>;
  return { ...unsealed, hash: hashEvent(unsealed) } as LedgerEvent;
}
