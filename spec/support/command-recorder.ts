/**
 * Records the commands a MongoDB client sends, through the driver's command monitoring
 * (`monitorCommands`): their names, filters and sorts, and how many sequential round trips they
 * took (commands that overlap in time share one round trip). Counts are what any MongoDB-compatible
 * server answers the same way, unlike times.
 */
import { MongoClient, type CommandStartedEvent, type Db } from 'mongodb';
import { randomBytes } from 'node:crypto';
import { testServerUri } from './db.js';

/** One command as sent: its name, collection, and each filter and sort it carries. */
export interface RecordedCommand {
  name: string;
  collection: string;
  /** One entry per statement (a `delete` or `update` may carry several). */
  queries: { filter: Record<string, unknown>; sort?: Record<string, number> }[];
}

export interface Measured {
  commands: RecordedCommand[];
  roundTrips: number;
}

/** Handshake and topology chatter, not the store's work. */
const IGNORED = new Set(['hello', 'isMaster', 'ismaster', 'ping', 'endSessions', 'buildInfo']);

export class CommandRecorder {
  readonly client: MongoClient;
  readonly db: Db;
  /** Every command since the recorder opened (for the index coverage check). */
  readonly all: RecordedCommand[] = [];
  #current: RecordedCommand[] | undefined;
  readonly #inFlight = new Set<number>();
  #roundTrips = 0;

  private constructor(client: MongoClient, name: string) {
    this.client = client;
    this.db = client.db(name);
    client.on('commandStarted', (event) => this.#started(event));
    const done = (event: { requestId: number }) => {
      this.#inFlight.delete(event.requestId);
    };
    client.on('commandSucceeded', done);
    client.on('commandFailed', done);
  }

  /** A recorder on a fresh database of the run's test server. */
  static async open(label: string): Promise<CommandRecorder> {
    const client = new MongoClient(testServerUri(), {
      serverSelectionTimeoutMS: 5000,
      monitorCommands: true,
      // A warm pool, as a serving instance has: commands sent together then go out together,
      // instead of one waiting for a new connection while the other completes (which would
      // count as two round trips).
      minPoolSize: 4,
    });
    await client.connect();
    return new CommandRecorder(client, `t_${label}_${randomBytes(4).toString('hex')}`);
  }

  /** The commands `action` sends, and the sequential round trips they take. */
  async measure(action: () => Promise<unknown>): Promise<Measured> {
    this.#current = [];
    this.#roundTrips = 0;
    try {
      await action();
      return { commands: this.#current, roundTrips: this.#roundTrips };
    } finally {
      this.#current = undefined;
    }
  }

  async dispose(): Promise<void> {
    await this.db.dropDatabase();
    await this.client.close();
  }

  #started(event: CommandStartedEvent): void {
    if (IGNORED.has(event.commandName) || event.databaseName !== this.db.databaseName) return;
    // A command that starts while none is in flight starts a new sequential round trip.
    if (this.#inFlight.size === 0) this.#roundTrips += 1;
    this.#inFlight.add(event.requestId);
    const recorded = describe(event);
    this.all.push(recorded);
    this.#current?.push(recorded);
  }
}

function describe(event: CommandStartedEvent): RecordedCommand {
  const command = event.command as Record<string, unknown>;
  const name = event.commandName;
  const collection = String(command[name]);
  const queries: RecordedCommand['queries'] = [];
  const filterOf = (value: unknown) => (value ?? {}) as Record<string, unknown>;
  if (name === 'find') {
    // The driver sends a sort as an ordered Map.
    const raw = command['sort'] as Map<string, number> | Record<string, number> | undefined;
    const sort = raw instanceof Map ? Object.fromEntries(raw) : raw;
    queries.push({ filter: filterOf(command['filter']), ...(sort && { sort }) });
  } else if (name === 'delete' || name === 'update') {
    const key = name === 'delete' ? 'deletes' : 'updates';
    for (const statement of command[key] as { q: unknown }[]) {
      queries.push({ filter: filterOf(statement.q) });
    }
  } else if (name === 'aggregate') {
    const pipeline = command['pipeline'] as Record<string, unknown>[];
    const match = pipeline.find((stage) => '$match' in stage);
    queries.push({ filter: filterOf(match?.['$match']) });
  } else if (name === 'count' || name === 'distinct') {
    queries.push({ filter: filterOf(command['query']) });
  }
  return { name, collection, queries };
}
