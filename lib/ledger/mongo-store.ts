/**
 * The MongoDB store. Needs no multi-document transactions, sessions, change streams or TTL indexes,
 * so it also runs on MongoDB-compatible servers without them (FerretDB v1 is tested).
 *
 * Collections, written by inserts and deletes, and one replace (a pending mark by its snapshot):
 * - events: append-only; a unique (stream, seq) arbitrates races between writers;
 * - state: the projection as snapshots, one per (stream, seq), unique; readers take the highest seq
 *   and writers drop the older ones. Two writers at one seq write equal states (a fold of one log),
 *   so the unique insert decides and a projection can never move backwards, even on servers whose
 *   single-document updates are not atomic (FerretDB v1 with SQLite: concurrent compare-and-set
 *   replaces were seen to both win, and an update to undo a newer replace);
 *   The state collection also holds the pending marks written before each append (see
 *   `MarkDocument`), so the one query that reads a stream's state also shows whether the log may
 *   be ahead of it: a failed projection write is completed by the next reader, not at a restart;
 * - data keys: wrapped per-subject keys of personal data. The one in-place update anywhere destroys
 *   one (removes the wrapped key): unconditional on its outcome and idempotent, so it needs no
 *   atomic compare-and-set.
 */
import {
  MongoClient,
  type Collection,
  type Db,
  type Filter,
  type IndexDescription,
  type WriteConcernSettings,
} from 'mongodb';
import {
  ConfigError,
  LedgerInputError,
  LedgerNotFoundError,
  StoreUnavailableError,
} from '../errors.js';
import { maskUserInfo } from './connection-string.js';
import { subjectStream, type LedgerEvent } from './events.js';
import { guard, isDuplicateKey, translate } from './mongo-errors.js';
import {
  SCAN_BATCH,
  isMark,
  type DataKeyDocument,
  type EventDocument,
  type MarkDocument,
  type SnapshotDocument,
  type StateDocument,
} from './mongo-documents.js';
import { replaceAllSnapshots } from './mongo-rebuild.js';
import type { SessionState, StreamState, SubjectState } from './projection.js';
import type {
  ArchivedHead,
  ArchivedQuery,
  ArchivedStream,
  ArchiveRecord,
  CheckpointRecord,
  DataKeyQuery,
  DataKeyRecord,
  EventQuery,
  LedgerStore,
  PendingMark,
  StateRead,
  StreamHead,
  TokenHolder,
} from './store.js';
import {
  ARCHIVE_INDEXES,
  ARCHIVED_INDEXES,
  CHECKPOINT_INDEXES,
  appendCheckpoint,
  archivedFilter,
  endedSessions,
  listCheckpoints,
  recordArchive,
  removeStreams,
  streamHeads,
  type AuditCollections,
} from './mongo-archive.js';

/** Options of the MongoDB store (`store: { mongo: ... }`): a connection string or your own `Db`. */
export interface MongoStoreOptions {
  /** A connection string; the store owns (and closes) the client it creates. */
  uri?: string;
  /** Database name with `uri` (default: the one in the URI's path, else `jwtconnect`). */
  dbName?: string;
  /** A host-provided database; the host owns its client. */
  db?: Db;
  /**
   * Collection names. Default `jwtconnect_events`, `jwtconnect_state` (which also keeps the pending
   * marks), `jwtconnect_data_keys`, and for checkpoints and archives `jwtconnect_checkpoints`,
   * `jwtconnect_archives`, `jwtconnect_archived`.
   */
  collections?: {
    events?: string;
    state?: string;
    dataKeys?: string;
    checkpoints?: string;
    archives?: string;
    archived?: string;
  };
  /**
   * Write concern for every write. Default: `{ w: 'majority' }` on a replica set, the server's
   * default otherwise (decided at `open()` from the `hello` reply).
   */
  writeConcern?: WriteConcernSettings;
  /** How long to wait for a server before failing closed, with `uri`. Default 5000 ms. */
  serverSelectionTimeoutMS?: number;
}

/** The database used with a `uri` that names none and no `dbName`. */
export const DEFAULT_DATABASE = 'jwtconnect';
/** The collections the ledger uses unless `collections` names others. */
export const DEFAULT_COLLECTIONS = {
  events: 'jwtconnect_events',
  state: 'jwtconnect_state',
  dataKeys: 'jwtconnect_data_keys',
} as const;

/**
 * History pages (`queryEvents`) come in the log's order, (time, stream, seq): each equality a page
 * can select by leads an index that continues in that order, so no page is sorted in memory.
 */
export const EVENT_INDEXES: IndexDescription[] = [
  { key: { stream: 1, seq: 1 }, name: 'stream_seq', unique: true },
  { key: { time: 1, stream: 1, seq: 1 }, name: 'time_stream_seq' },
  { key: { sub: 1, time: 1, stream: 1, seq: 1 }, name: 'sub_time_stream_seq' },
  { key: { stream: 1, time: 1, seq: 1 }, name: 'stream_time_seq' },
  { key: { jtis: 1, time: 1, stream: 1, seq: 1 }, name: 'jtis_time_stream_seq' },
  { key: { type: 1, time: 1, stream: 1, seq: 1 }, name: 'type_time_stream_seq' },
];

export const STATE_INDEXES: IndexDescription[] = [
  { key: { stream: 1, seq: 1 }, name: 'stream_seq', unique: true },
  { key: { 'tokens.jti': 1 }, name: 'tokens_jti' },
  // A subject's sessions, latest snapshot of each first (`findOpenSessions`).
  { key: { sub: 1, kind: 1, stream: 1, seq: -1 }, name: 'sub_kind_stream_seq' },
  // Live sessions of a subject (`findLiveSessions`) without reading its expired ones.
  { key: { sub: 1, kind: 1, refreshExp: 1 }, name: 'sub_kind_refreshExp' },
  { key: { pending: 1 }, name: 'pending' },
];

export const DATA_KEY_INDEXES: IndexDescription[] = [
  { key: { kid: 1 }, name: 'kid', unique: true },
  { key: { sub: 1, period: 1, kid: 1 }, name: 'sub_period_kid' },
  // All of a subject's keys, in kid order (`liveDataKeys` without a period).
  { key: { sub: 1, kid: 1 }, name: 'sub_kid' },
  { key: { period: 1 }, name: 'period' },
];

/**
 * The MongoDB store (`store: { mongo: ... }`): the product's store, shared by every instance.
 * Needs no transactions, sessions, change streams or TTL indexes.
 */
export class MongoStore implements LedgerStore {
  readonly #options: MongoStoreOptions;
  #client: MongoClient | undefined;
  #events: Collection<EventDocument> | undefined;
  #state: Collection<SnapshotDocument> | undefined;
  #dataKeys: Collection<DataKeyDocument> | undefined;
  #audit: AuditCollections | undefined;

  /** Throws `ConfigError` for a connection string the driver cannot parse (nothing is opened). */
  constructor(options: MongoStoreOptions) {
    if (!options.db && !options.uri) throw new ConfigError('store.mongo needs "uri" or "db"');
    this.#options = options;
    // The driver parses the string when the client is made, not when it connects: a typo is an
    // option problem, found at start-up, not an outage.
    if (!options.db) this.#client = this.#newClient();
  }

  #newClient(): MongoClient {
    const uri = this.#options.uri as string;
    try {
      return new MongoClient(uri, {
        serverSelectionTimeoutMS: this.#options.serverSelectionTimeoutMS ?? 5000,
      });
    } catch (error) {
      // The driver's message may quote parts of the string (a user name, an option's value); the
      // user info is masked and the driver error is not attached, so no password can leak.
      const reason = error instanceof Error ? maskUserInfo(error.message, uri) : 'unparsable';
      throw new ConfigError(`store.mongo.uri is not a MongoDB connection string: ${reason}`);
    }
  }

  /**
   * Connects and creates the collections' indexes (which creates the database and collections).
   * With `create: false` nothing is created: the events collection must exist, else
   * `LedgerNotFoundError`; read-only tools open this way so a wrong name creates no database.
   */
  async open(options: { create?: boolean } = {}): Promise<void> {
    const create = options.create ?? true;
    const names = this.#options.collections ?? {};
    const events = names.events ?? DEFAULT_COLLECTIONS.events;
    const { db, writeConcern, exists } = await guard(async () => {
      let db = this.#options.db;
      if (!db) {
        this.#client ??= this.#newClient();
        await this.#client.connect();
        db = this.#client.db(
          this.#options.dbName ?? databaseInUri(this.#options.uri) ?? DEFAULT_DATABASE,
        );
      }
      const hello = await db.command({ hello: 1 });
      const writeConcern =
        this.#options.writeConcern ?? (hello['setName'] ? { w: 'majority' as const } : undefined);
      const exists =
        create ||
        (await db.listCollections({ name: events }, { nameOnly: true }).toArray()).length > 0;
      return { db, writeConcern, exists };
    });
    if (!exists) {
      throw new LedgerNotFoundError(
        `database "${db.databaseName}" has no ledger (no "${events}" collection)`,
        db.databaseName,
      );
    }
    const settings = writeConcern && { writeConcern };
    this.#events = db.collection<EventDocument>(events, settings);
    this.#state = db.collection<SnapshotDocument>(
      names.state ?? DEFAULT_COLLECTIONS.state,
      settings,
    );
    this.#dataKeys = db.collection<DataKeyDocument>(
      names.dataKeys ?? DEFAULT_COLLECTIONS.dataKeys,
      settings,
    );
    this.#audit = {
      events: this.#events,
      state: this.#state,
      checkpoints: db.collection(names.checkpoints ?? 'jwtconnect_checkpoints', settings),
      archives: db.collection(names.archives ?? 'jwtconnect_archives', settings),
      archived: db.collection(names.archived ?? 'jwtconnect_archived', settings),
    };
    if (!create) return;
    const audit = this.#audit;
    await guard(async () => {
      // One index per command: FerretDB v1.24 drops the connection when one `createIndexes`
      // names several indexes that all exist already, i.e. on every start after the first.
      for (const index of EVENT_INDEXES) await this.#eventsCollection().createIndexes([index]);
      for (const index of STATE_INDEXES) await this.#stateCollection().createIndexes([index]);
      for (const index of DATA_KEY_INDEXES) {
        await this.#dataKeysCollection().createIndexes([index]);
      }
      for (const index of CHECKPOINT_INDEXES) await audit.checkpoints.createIndexes([index]);
      for (const index of ARCHIVE_INDEXES) await audit.archives.createIndexes([index]);
      for (const index of ARCHIVED_INDEXES) await audit.archived.createIndexes([index]);
    });
  }

  /**
   * The databases on the server that hold this store's events collection, for telling an operator
   * where the ledger is. Reads only; needs the `listDatabases` privilege.
   */
  async ledgerDatabases(): Promise<string[]> {
    const client = this.#options.db?.client ?? this.#client;
    if (!client) return [];
    const events = this.#options.collections?.events ?? DEFAULT_COLLECTIONS.events;
    return guard(async () => {
      const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
      const found: string[] = [];
      for (const { name } of databases) {
        const match = { name: events };
        const collections = await client
          .db(name)
          .listCollections(match, { nameOnly: true })
          .toArray();
        if (collections.length > 0) found.push(name);
      }
      return found.sort();
    });
  }

  async close(): Promise<void> {
    await this.#client?.close();
    this.#client = undefined;
  }

  async appendEvent(event: LedgerEvent): Promise<void> {
    // insertOne adds `_id` to the object it is given: hand it a copy.
    await guard(() => this.#eventsCollection().insertOne({ ...event }), event);
  }

  async readStream(stream: string, afterSeq = 0): Promise<LedgerEvent[]> {
    return guard(async () => {
      const docs = await this.#eventsCollection()
        .find({ stream, seq: { $gt: afterSeq } }, { projection: { _id: 0 } })
        .sort({ seq: 1 })
        .toArray();
      return docs as unknown as LedgerEvent[];
    });
  }

  async queryEvents(query: EventQuery): Promise<LedgerEvent[]> {
    const and: Filter<EventDocument>[] = [];
    if (query.sub !== undefined) and.push({ sub: query.sub });
    if (query.stream !== undefined) and.push({ stream: query.stream });
    if (query.jti !== undefined) and.push({ jtis: query.jti });
    if (query.type !== undefined) and.push({ type: query.type });
    if (query.from !== undefined) and.push({ time: { $gte: query.from } });
    if (query.to !== undefined) and.push({ time: { $lt: query.to } });
    if (query.after !== undefined) {
      const { time, stream, seq } = query.after;
      and.push({
        $or: [
          { time: { $gt: time } },
          { time, stream: { $gt: stream } },
          { time, stream, seq: { $gt: seq } },
        ],
      });
    }
    return guard(async () => {
      const docs = await this.#eventsCollection()
        .find(and.length > 0 ? { $and: and } : {}, { projection: { _id: 0 } })
        .sort({ time: 1, stream: 1, seq: 1 })
        .limit(query.limit)
        .toArray();
      return docs as unknown as LedgerEvent[];
    });
  }

  async *scanEvents(): AsyncIterable<LedgerEvent> {
    const cursor = this.#eventsCollection()
      .find({}, { projection: { _id: 0 }, batchSize: SCAN_BATCH })
      .sort({ stream: 1, seq: 1 });
    try {
      for await (const doc of cursor) yield doc as unknown as LedgerEvent;
    } catch (error) {
      translate(error);
    }
  }

  async countEvents(): Promise<number> {
    return guard(() => this.#eventsCollection().countDocuments());
  }

  async markPending(stream: string, seq: number): Promise<void> {
    await guard(async () => {
      try {
        // At the slot its snapshot will take: saving the state replaces the mark (see MarkDocument).
        const mark: MarkDocument = { stream, seq, pending: seq };
        await this.#stateCollection().insertOne(mark);
      } catch (error) {
        // The same mark twice (a writer retrying at one seq) is one mark; a snapshot already at
        // that seq means the writer's state was stale, which its event insert finds out.
        if (!isDuplicateKey(error)) throw error;
      }
    });
  }

  async pendingStreams(): Promise<PendingMark[]> {
    return guard(async () => {
      const highest = new Map<string, number>();
      const marks = this.#stateCollection().find(
        { pending: { $gt: 0 } },
        { projection: { _id: 0, stream: 1, pending: 1 } },
      );
      for await (const mark of marks) {
        if (!isMark(mark)) continue;
        highest.set(mark.stream, Math.max(mark.pending, highest.get(mark.stream) ?? 0));
      }
      return [...highest].map(([stream, seq]) => ({ stream, seq }));
    });
  }

  async clearPending(stream: string, uptoSeq: number): Promise<void> {
    await guard(() =>
      this.#stateCollection().deleteMany({ stream, seq: { $lte: uptoSeq }, pending: { $gt: 0 } }),
    );
  }

  async loadStates(streams: readonly string[]): Promise<StreamState[]> {
    return (await this.readStates(streams)).states;
  }

  async readStates(
    streams: readonly string[],
    options: { holderOf?: string } = {},
  ): Promise<StateRead> {
    const { holderOf } = options;
    if (holderOf !== undefined && streams.length === 0) return this.#findHolder(holderOf);
    const byStream = { stream: { $in: [...streams] } };
    return guard(async () => {
      const found =
        holderOf === undefined
          ? this.#stateCollection().find(byStream, { projection: { _id: 0 } })
          : // Each branch is served by its own index; a server-side sort over both would not be.
            this.#stateCollection().find(
              { $or: [byStream, { 'tokens.jti': holderOf }] },
              { projection: { _id: 0 } },
            );
      const docs =
        holderOf === undefined
          ? // The (stream, seq) index's own order: with `$in`, a descending seq would need a sort
            // in memory on MongoDB (each stream is one run of the index).
            await found.sort({ stream: 1, seq: 1 }).toArray()
          : (await found.toArray()).sort(byStreamThenSeqDescending);
      const asked = new Set(streams);
      const snapshots: StateDocument[] = [];
      const pending = new Map<string, number>();
      let holder: TokenHolder | undefined;
      for (const doc of docs) {
        if (!isMark(doc) && holderOf !== undefined && holdsToken(doc, holderOf)) {
          holder ??= { stream: doc.stream, sub: doc.sub };
        }
        if (!asked.has(doc.stream)) continue;
        if (!isMark(doc)) snapshots.push(doc);
        else pending.set(doc.stream, Math.max(doc.pending, pending.get(doc.stream) ?? 0));
      }
      return {
        states: latestPerStream(snapshots),
        pending: [...pending].map(([stream, seq]) => ({ stream, seq })),
        ...(holder && { holder }),
      };
    });
  }

  /** `readStates([], { holderOf })`: only which session holds the token, so only its ids. */
  async #findHolder(jti: string): Promise<StateRead> {
    return guard(async () => {
      const found = await this.#stateCollection().findOne(
        { 'tokens.jti': jti },
        { projection: { _id: 0, stream: 1, sub: 1 } },
      );
      const holder = found && { stream: found.stream, sub: (found as { sub: string }).sub };
      return { states: [], pending: [], ...(holder && { holder }) };
    });
  }

  /**
   * One round trip: the snapshot takes its seq's slot (replacing the pending mark there, or
   * inserted when none is left), while the snapshots and marks below it, which it makes obsolete,
   * are deleted by a second command sent at the same time. The unique (stream, seq) index decides
   * between writers at one seq; they write equal states (a fold of one log). The delete may land
   * first: a reader in between sees only the mark and completes the state from the log, and if the
   * snapshot write fails the mark stays, so the next reader does the same.
   */
  async saveState(state: StreamState, expectedSeq: number): Promise<boolean> {
    const collection = this.#stateCollection();
    const { stream, seq } = state;
    const save = guard(async () => {
      try {
        await collection.replaceOne({ stream, seq, pending: seq }, { ...state }, { upsert: true });
        return true;
      } catch (error) {
        if (isDuplicateKey(error)) return false;
        throw error;
      }
    });
    // A first state has nothing below it.
    const obsolete =
      expectedSeq > 0 ? guard(() => collection.deleteMany({ stream, seq: { $lt: seq } })) : null;
    const [saved] = await Promise.all([save, obsolete]);
    return saved;
  }

  async findSessionByToken(jti: string): Promise<SessionState | null> {
    return guard(async () => {
      const found = await this.#stateCollection().findOne(
        { 'tokens.jti': jti, kind: 'session' },
        { projection: { _id: 0, stream: 1 } },
      );
      if (!found) return null;
      // The match may be an older snapshot, not yet dropped, of a state that has since pruned
      // the token: answer only if the latest one holds it.
      const [state] = await this.loadStates([found.stream]);
      if (state?.kind !== 'session') return null;
      return state.tokens.some((token) => token.jti === jti) ? state : null;
    });
  }

  async findOpenSessions(sub: string): Promise<SessionState[]> {
    return guard(async () => {
      const docs = await this.#stateCollection()
        .find({ sub, kind: 'session' }, { projection: { _id: 0 } })
        .sort({ stream: 1, seq: -1 })
        .toArray();
      return latestPerStream(docs.filter((doc) => !isMark(doc))).filter(
        (state): state is SessionState => state.kind === 'session' && !state.revoked,
      );
    });
  }

  /**
   * One query on (sub, kind, refreshExp). Older snapshots of a stream, not yet dropped, may match
   * too; the latest one of each stream is kept. A refresh never moves `refreshExp` back and a
   * revocation keeps it, so when an older snapshot matches, the latest one matches as well.
   */
  async findLiveSessions(
    sub: string,
    after: number,
  ): Promise<{ sessions: SessionState[]; subject: SubjectState | null }> {
    return guard(async () => {
      const docs = await this.#stateCollection()
        .find(
          { sub, $or: [{ kind: 'session', refreshExp: { $gt: after } }, { kind: 'subject' }] },
          { projection: { _id: 0 } },
        )
        .sort({ stream: 1, seq: -1 })
        .toArray();
      const latest = latestPerStream(docs);
      const subject = latest.find((state) => state.stream === subjectStream(sub));
      return {
        sessions: latest.filter(
          (state): state is SessionState => state.kind === 'session' && !state.revoked,
        ),
        subject: subject?.kind === 'subject' ? subject : null,
      };
    });
  }

  async firstEvents(streams: readonly string[]): Promise<LedgerEvent[]> {
    return guard(async () => {
      const docs = await this.#eventsCollection()
        .find({ stream: { $in: [...streams] }, seq: 1 }, { projection: { _id: 0 } })
        .toArray();
      return docs as unknown as LedgerEvent[];
    });
  }

  async *scanStates(): AsyncIterable<StreamState> {
    // The (stream, seq) index's own order, walked whole: the last snapshot of each stream is its
    // latest. Marks share the slots and are skipped.
    const cursor = this.#stateCollection()
      .find({ seq: { $gt: 0 } }, { projection: { _id: 0 }, batchSize: SCAN_BATCH })
      .sort({ stream: 1, seq: 1 });
    let latest: StreamState | undefined;
    try {
      for await (const doc of cursor) {
        if (isMark(doc)) continue;
        if (latest && latest.stream !== doc.stream) yield latest;
        latest = doc as unknown as StreamState;
      }
    } catch (error) {
      translate(error);
    }
    if (latest) yield latest;
  }

  /** See `replaceAllSnapshots` (lib/ledger/mongo-rebuild.ts). */
  async replaceAllStates(
    states: AsyncIterable<StreamState> | Iterable<StreamState>,
  ): Promise<void> {
    await guard(() =>
      replaceAllSnapshots(
        { events: this.#eventsCollection(), state: this.#stateCollection() },
        states,
      ),
    );
  }

  async insertDataKey(record: DataKeyRecord): Promise<void> {
    await guard(async () => {
      try {
        await this.#dataKeysCollection().insertOne({ ...record });
      } catch (error) {
        if (isDuplicateKey(error)) {
          throw new LedgerInputError('the data key id is taken', { cause: error });
        }
        throw error;
      }
    });
  }

  async findDataKey(kid: string): Promise<DataKeyRecord | null> {
    return guard(() => this.#dataKeysCollection().findOne({ kid }, { projection: { _id: 0 } }));
  }

  async liveDataKeys(query: DataKeyQuery): Promise<DataKeyRecord[]> {
    const filter: Filter<DataKeyDocument> =
      'periodBefore' in query
        ? { period: { $lt: query.periodBefore } }
        : 'kids' in query
          ? { kid: { $in: [...query.kids] } }
          : { sub: query.sub, ...(query.period !== undefined && { period: query.period }) };
    return guard(() =>
      this.#dataKeysCollection()
        .find({ ...filter, wrapped: { $exists: true } }, { projection: { _id: 0 } })
        .sort({ kid: 1 })
        .toArray(),
    );
  }

  async destroyDataKey(
    kid: string,
    destroyed: { reason: 'erased' | 'expired'; at: Date },
  ): Promise<void> {
    await guard(() =>
      this.#dataKeysCollection().updateOne(
        { kid, destroyed: { $exists: false } },
        { $set: { destroyed }, $unset: { wrapped: '' } },
      ),
    );
  }

  #dataKeysCollection(): Collection<DataKeyDocument> {
    if (!this.#dataKeys) throw new StoreUnavailableError('the MongoDB store is not open');
    return this.#dataKeys;
  }

  #eventsCollection(): Collection<EventDocument> {
    if (!this.#events) throw new StoreUnavailableError('the MongoDB store is not open');
    return this.#events;
  }

  async streamHeads(upto: Date): Promise<StreamHead[]> {
    return guard(() => streamHeads(this.#auditCollections().events, upto));
  }

  async appendCheckpoint(record: CheckpointRecord): Promise<boolean> {
    return guard(() => appendCheckpoint(this.#auditCollections().checkpoints, record));
  }

  async latestCheckpoint(): Promise<CheckpointRecord | null> {
    return guard(() =>
      this.#auditCollections().checkpoints.findOne(
        {},
        { sort: { seq: -1 }, projection: { _id: 0 } },
      ),
    );
  }

  async listCheckpoints(afterSeq: number, limit: number): Promise<CheckpointRecord[]> {
    return guard(() => listCheckpoints(this.#auditCollections().checkpoints, afterSeq, limit));
  }

  async endedSessions(before: Date, limit: number, afterStream = ''): Promise<SessionState[]> {
    return guard(() => endedSessions(this.#auditCollections().state, before, limit, afterStream));
  }

  async recordArchive(record: ArchiveRecord, streams: readonly ArchivedStream[]): Promise<void> {
    await guard(() => recordArchive(this.#auditCollections(), record, streams));
  }

  async unfinishedArchives(): Promise<ArchiveRecord[]> {
    return guard(
      () =>
        this.#auditCollections()
          .archives.find({ finished: false }, { projection: { _id: 0 } })
          .toArray() as Promise<ArchiveRecord[]>,
    );
  }

  async finishArchive(id: string): Promise<void> {
    await guard(() =>
      this.#auditCollections().archives.updateOne({ id }, { $set: { finished: true } }),
    );
  }

  async findArchived(query: ArchivedQuery): Promise<ArchivedStream[]> {
    return guard(
      () =>
        this.#auditCollections()
          .archived.find(archivedFilter(query), { projection: { _id: 0 } })
          .sort({ stream: 1 })
          .toArray() as Promise<ArchivedStream[]>,
    );
  }

  async personalCiphertexts(
    streams: readonly string[],
  ): Promise<{ stream: string; personal: string }[]> {
    return guard(() =>
      this.#eventsCollection()
        .find(
          { stream: { $in: [...streams] }, personal: { $exists: true } },
          { projection: { _id: 0, stream: 1, personal: 1 } },
        )
        .toArray(),
    ) as Promise<{ stream: string; personal: string }[]>;
  }

  async removeStreams(streams: readonly ArchivedHead[]): Promise<void> {
    await guard(() => removeStreams(this.#auditCollections(), streams));
  }

  #auditCollections(): AuditCollections {
    if (!this.#audit) throw new StoreUnavailableError('the MongoDB store is not open');
    return this.#audit;
  }

  #stateCollection(): Collection<SnapshotDocument> {
    if (!this.#state) throw new StoreUnavailableError('the MongoDB store is not open');
    return this.#state;
  }
}

function byStreamThenSeqDescending(a: SnapshotDocument, b: SnapshotDocument): number {
  if (a.stream !== b.stream) return a.stream < b.stream ? -1 : 1;
  return b.seq - a.seq;
}

function holdsToken(doc: StateDocument, jti: string): boolean {
  return doc.kind === 'session' && doc.tokens.some((token) => token.jti === jti);
}

/** The highest-seq document of each stream, streams in the order of `docs`. */
function latestPerStream(docs: readonly SnapshotDocument[]): StreamState[] {
  const latest = new Map<string, StreamState>();
  for (const doc of docs) {
    const seen = latest.get(doc.stream);
    if (!seen || doc.seq > seen.seq) latest.set(doc.stream, doc as StreamState);
  }
  return [...latest.values()];
}

/** The database named in a connection string's path, if any. */
function databaseInUri(uri: string | undefined): string | undefined {
  const path = uri?.match(/^mongodb(?:\+srv)?:\/\/[^/?]*\/([^?]+)/)?.[1];
  return path ? decodeURIComponent(path) : undefined;
}
