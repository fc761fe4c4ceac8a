/**
 * Records the commands a MongoDB client sends, through the driver's command monitoring
 * (`monitorCommands`): their names, filters and sorts, and how many sequential round trips they
 * took (commands that overlap in time share one round trip). Counts are what any MongoDB-compatible
 * server answers the same way, unlike times.
 */
import { MongoClient, type CommandStartedEvent, type Db } from 'mongodb';
import { randomBytes } from 'node:crypto';
import { inspectedBySpecs, openInspectionClient, testServerUri } from './db.js';
import { commandShape, type CommandShape } from './query-shape.js';

/** One command as sent: its name, collection, and the shape of each filter and sort it carries. */
export type RecordedCommand = CommandShape;

export interface Measured {
  commands: RecordedCommand[];
  roundTrips: number;
}

/** Handshake and topology chatter, not the store's work. */
const IGNORED = new Set(['hello', 'isMaster', 'ismaster', 'ping', 'endSessions', 'buildInfo']);

export class CommandRecorder {
  readonly client: MongoClient;
  /** The database to hand the plugin; collections a spec takes from it are not recorded. */
  readonly db: Db;
  readonly #inspection: MongoClient;
  /** Every command since the recorder opened (for the index coverage check). */
  readonly all: RecordedCommand[] = [];
  #current: RecordedCommand[] | undefined;
  readonly #inFlight = new Set<number>();
  #roundTrips = 0;

  private constructor(client: MongoClient, inspection: MongoClient, name: string) {
    this.client = client;
    this.#inspection = inspection;
    this.db = inspectedBySpecs(client.db(name), inspection);
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
    const inspection = await openInspectionClient();
    return new CommandRecorder(client, inspection, `t_${label}_${randomBytes(4).toString('hex')}`);
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
    await this.#inspection.db(this.db.databaseName).dropDatabase();
    await this.client.close();
  }

  #started(event: CommandStartedEvent): void {
    if (IGNORED.has(event.commandName) || event.databaseName !== this.db.databaseName) return;
    // A command that starts while none is in flight starts a new sequential round trip.
    if (this.#inFlight.size === 0) this.#roundTrips += 1;
    this.#inFlight.add(event.requestId);
    const recorded = commandShape(event.command);
    this.all.push(recorded);
    this.#current?.push(recorded);
  }
}
