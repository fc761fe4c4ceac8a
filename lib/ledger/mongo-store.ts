/**
 * The MongoDB store. Needs no multi-document transactions, sessions, change streams or TTL indexes,
 * so it also runs on MongoDB-compatible servers without them (FerretDB v1 is tested).
 *
 * Collections: events (append-only; unique (stream, seq) arbitrates races) and the projection
 * (one document per stream, `_id` = stream id, replaced by compare-and-set on `seq`).
 */
import {
  MongoClient,
  type AnyBulkWriteOperation,
  type Collection,
  type Db,
  type Filter,
  type WriteConcernSettings,
} from 'mongodb';
import { ConcurrencyError, StoreUnavailableError } from '../errors.js';
import type { LedgerEvent } from './events.js';
import type { SessionState, StreamState } from './projection.js';
import type { EventQuery, LedgerStore } from './store.js';

export interface MongoStoreOptions {
  /** A connection string; the store owns (and closes) the client it creates. */
  uri?: string;
  /** Database name with `uri` (default: the one in the URI, else `jwtconnect`). */
  dbName?: string;
  /** A host-provided database; the host owns its client. */
  db?: Db;
  collections?: { events?: string; state?: string };
  /**
   * Write concern for every write. Default: `{ w: 'majority' }` on a replica set, the server's
   * default otherwise (decided at `open()` from the `hello` reply).
   */
  writeConcern?: WriteConcernSettings;
  /** How long to wait for a server before failing closed, with `uri`. Default 5000 ms. */
  serverSelectionTimeoutMS?: number;
}

type EventDocument = LedgerEvent & { _id?: unknown };
type StateDocument = StreamState & { _id: string; pending?: number };
/** Written by `markPending` before a stream's first event; not a state. */
interface PlaceholderDocument {
  _id: string;
  seq: 0;
  pending: number;
}

const SCAN_BATCH = 1000;

export class MongoStore implements LedgerStore {
  readonly #options: MongoStoreOptions;
  #client: MongoClient | undefined;
  #events: Collection<EventDocument> | undefined;
  #state: Collection<StateDocument | PlaceholderDocument> | undefined;

  constructor(options: MongoStoreOptions) {
    if (!options.db && !options.uri) throw new TypeError('"store.mongo" needs "uri" or "db"');
    this.#options = options;
  }

  async open(): Promise<void> {
    await guard(async () => {
      let db = this.#options.db;
      if (!db) {
        this.#client ??= new MongoClient(this.#options.uri as string, {
          serverSelectionTimeoutMS: this.#options.serverSelectionTimeoutMS ?? 5000,
        });
        await this.#client.connect();
        db = this.#client.db(this.#options.dbName);
      }
      const hello = await db.command({ hello: 1 });
      const writeConcern =
        this.#options.writeConcern ?? (hello['setName'] ? { w: 'majority' as const } : undefined);
      const names = this.#options.collections ?? {};
      this.#events = db.collection<EventDocument>(
        names.events ?? 'jwtconnect_events',
        writeConcern && { writeConcern },
      );
      this.#state = db.collection(
        names.state ?? 'jwtconnect_state',
        writeConcern && { writeConcern },
      );
      await this.#events.createIndexes([
        { key: { stream: 1, seq: 1 }, name: 'stream_seq', unique: true },
        { key: { time: 1, stream: 1, seq: 1 }, name: 'time_stream_seq' },
        { key: { sub: 1, time: 1 }, name: 'sub_time' },
        { key: { jtis: 1 }, name: 'jtis' },
        { key: { type: 1, time: 1 }, name: 'type_time' },
      ]);
      await this.#state.createIndexes([
        { key: { 'tokens.jti': 1 }, name: 'tokens_jti' },
        { key: { sub: 1, kind: 1 }, name: 'sub_kind' },
        { key: { pending: 1 }, name: 'pending', sparse: true },
      ]);
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
    const mark = () =>
      this.#stateCollection().updateOne(
        { _id: stream },
        { $max: { pending: seq }, $setOnInsert: { seq: 0 } },
        { upsert: true },
      );
    await guard(async () => {
      try {
        await mark();
      } catch (error) {
        // Two upserts of one new _id can race; the loser's retry finds the document.
        if (!isDuplicateKey(error)) throw error;
        await mark();
      }
    });
  }

  async pendingStreams(): Promise<{ stream: string; seq: number }[]> {
    return guard(async () => {
      const docs = await this.#stateCollection()
        .find({ pending: { $exists: true } }, { projection: { _id: 1, pending: 1 } })
        .toArray();
      return docs.map((doc) => ({ stream: doc._id, seq: doc.pending ?? 0 }));
    });
  }

  async clearPending(stream: string, uptoSeq: number): Promise<void> {
    await guard(async () => {
      await this.#stateCollection().deleteOne({ _id: stream, seq: 0, pending: { $lte: uptoSeq } });
      await this.#stateCollection().updateOne(
        { _id: stream, pending: { $lte: uptoSeq } },
        { $unset: { pending: '' } },
      );
    });
  }

  async loadStates(streams: readonly string[]): Promise<StreamState[]> {
    return guard(async () => {
      const docs = await this.#stateCollection()
        .find({ _id: { $in: [...streams] }, seq: { $gt: 0 } })
        .toArray();
      return docs.map(toState);
    });
  }

  async saveState(state: StreamState, expectedSeq: number): Promise<boolean> {
    return guard(async () => {
      try {
        const result = await this.#stateCollection().replaceOne(
          { _id: state.stream, seq: expectedSeq },
          { ...state },
          { upsert: expectedSeq === 0 },
        );
        return result.matchedCount + result.upsertedCount === 1;
      } catch (error) {
        // The upsert of a first state lost to another writer's document.
        if (isDuplicateKey(error)) return false;
        throw error;
      }
    });
  }

  async findSessionByToken(jti: string): Promise<SessionState | null> {
    return guard(async () => {
      const doc = await this.#stateCollection().findOne({ 'tokens.jti': jti, kind: 'session' });
      return doc ? (toState(doc) as SessionState) : null;
    });
  }

  async findOpenSessions(sub: string): Promise<SessionState[]> {
    return guard(async () => {
      const docs = await this.#stateCollection()
        .find({ sub, kind: 'session', revoked: { $exists: false } })
        .toArray();
      return docs.map(toState) as SessionState[];
    });
  }

  async *scanStates(): AsyncIterable<StreamState> {
    const cursor = this.#stateCollection()
      .find({ seq: { $gt: 0 } }, { batchSize: SCAN_BATCH })
      .sort({ _id: 1 });
    try {
      for await (const doc of cursor) yield toState(doc);
    } catch (error) {
      translate(error);
    }
  }

  /**
   * Upserts every rebuilt state, then removes states the log does not back. A state that a live
   * writer moved past the rebuilt seq meanwhile is left as it is.
   */
  async replaceAllStates(
    states: AsyncIterable<StreamState> | Iterable<StreamState>,
  ): Promise<void> {
    const collection = this.#stateCollection();
    const keep = new Set<string>();
    let batch: AnyBulkWriteOperation<StateDocument | PlaceholderDocument>[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const operations = batch;
      batch = [];
      try {
        await collection.bulkWrite(operations, { ordered: false });
      } catch (error) {
        const writeErrors = (error as { writeErrors?: { code?: number }[] }).writeErrors;
        if (!writeErrors?.every((e) => e.code === 11000)) throw error;
      }
    };
    await guard(async () => {
      for await (const state of states) {
        keep.add(state.stream);
        batch.push({
          replaceOne: {
            filter: { _id: state.stream, seq: { $lte: state.seq } },
            replacement: { ...state },
            upsert: true,
          },
        });
        if (batch.length >= SCAN_BATCH) await flush();
      }
      await flush();
      const orphans: string[] = [];
      for await (const doc of collection.find({}, { projection: { _id: 1 } })) {
        if (!keep.has(doc._id)) orphans.push(doc._id);
      }
      for (let i = 0; i < orphans.length; i += SCAN_BATCH) {
        await collection.deleteMany({ _id: { $in: orphans.slice(i, i + SCAN_BATCH) } });
      }
    });
  }

  #eventsCollection(): Collection<EventDocument> {
    if (!this.#events) throw new StoreUnavailableError('the MongoDB store is not open');
    return this.#events;
  }

  #stateCollection(): Collection<StateDocument | PlaceholderDocument> {
    if (!this.#state) throw new StoreUnavailableError('the MongoDB store is not open');
    return this.#state;
  }
}

function toState(doc: StateDocument | PlaceholderDocument): StreamState {
  const { _id, pending: _pending, ...state } = doc as StateDocument;
  return state as StreamState;
}

function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 11000;
}

/**
 * The one place MongoDB errors become plugin errors: a duplicate (stream, seq) is a lost race;
 * anything else means the store cannot be trusted to answer, so callers fail closed.
 */
function translate(error: unknown, appending?: LedgerEvent): never {
  if (error instanceof ConcurrencyError || error instanceof StoreUnavailableError) throw error;
  if (appending && isDuplicateKey(error)) {
    throw new ConcurrencyError(
      `stream ${appending.stream} already has seq ${appending.seq}`,
      appending.stream,
      appending.seq,
      { cause: error },
    );
  }
  throw new StoreUnavailableError('the ledger store is unavailable', { cause: error });
}

async function guard<T>(operation: () => Promise<T>, appending?: LedgerEvent): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    translate(error, appending);
  }
}
