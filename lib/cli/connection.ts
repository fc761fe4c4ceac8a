/**
 * From the global options to an open `MongoStore`: the connection string (`--uri`, else
 * `$MONGODB_URI`), the database (`--db`, else the one in the URI, else `jwtconnect`) and the
 * collection names. Connection strings are only ever printed with their password masked.
 *
 * The ledger must already exist in that database: no command creates a database, and commands
 * that only read create no collection or index either. A database without a ledger is an error
 * naming the databases that have one, not an empty answer.
 */
import { ConfigError, LedgerNotFoundError, StoreUnavailableError } from '../errors.js';
import { DEFAULT_COLLECTIONS, maskPasswords, MongoStore } from '../ledger/index.js';
import { CliError, describeError } from './errors.js';

export { DEFAULT_DATABASE as DEFAULT_DB, maskPasswords } from '../ledger/index.js';
export const DEFAULT_EVENTS_COLLECTION = DEFAULT_COLLECTIONS.events;
export const DEFAULT_STATE_COLLECTION = DEFAULT_COLLECTIONS.state;
export const DEFAULT_DATA_KEYS_COLLECTION = DEFAULT_COLLECTIONS.dataKeys;

/** The global options every ledger command reads (commander's `optsWithGlobals()`). */
export interface ConnectionOptions {
  uri?: string;
  db?: string;
  eventsCollection: string;
  stateCollection: string;
  dataKeysCollection: string;
  connectTimeout: number;
}

export function resolveUri(uri: string | undefined, env: NodeJS.ProcessEnv): string {
  const resolved = uri ?? env['MONGODB_URI'];
  if (resolved === undefined || resolved === '') {
    throw new CliError('no MongoDB connection string: pass --uri <uri> or set MONGODB_URI');
  }
  return resolved;
}

/** `read`: the command writes nothing, so the store is opened without creating anything. */
export type StoreAccess = 'read' | 'write';

/** Opens the store, runs `task`, and always closes the client. */
export async function withStore<T>(
  options: ConnectionOptions,
  env: NodeJS.ProcessEnv,
  access: StoreAccess,
  task: (store: MongoStore) => Promise<T>,
): Promise<T> {
  const uri = resolveUri(options.uri, env);
  const store = openable(uri, options);
  try {
    try {
      await store.open({ create: false });
      // Writers keep the ledger's indexes in place, as the plugin does at start-up.
      if (access === 'write') await store.open();
    } catch (error) {
      if (error instanceof LedgerNotFoundError) throw await noLedger(store, error);
      // The store wraps every driver error in a generic one; the driver's says what went wrong.
      const reason = error instanceof StoreUnavailableError ? (error.cause ?? error) : error;
      const where = maskPasswords(uri, uri);
      throw new CliError(`cannot open the ledger at ${where}: ${describeError(reason)}`, {
        cause: error,
      });
    }
    return await task(store);
  } finally {
    await store.close();
  }
}

function openable(uri: string, options: ConnectionOptions): MongoStore {
  try {
    return new MongoStore({
      uri,
      // Without --db, MongoStore takes the URI's database, else DEFAULT_DB.
      ...(options.db !== undefined && { dbName: options.db }),
      collections: {
        events: options.eventsCollection,
        state: options.stateCollection,
        dataKeys: options.dataKeysCollection,
      },
      serverSelectionTimeoutMS: options.connectTimeout,
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new CliError(error.message.replace(/^store\.mongo\.uri/, 'the connection string'));
  }
}

/** The error for a database without a ledger, naming the databases that have one. */
async function noLedger(store: MongoStore, error: LedgerNotFoundError): Promise<CliError> {
  let where: string;
  try {
    const found = await store.ledgerDatabases();
    where =
      found.length === 0
        ? 'no database on this server has one'
        : `databases with a ledger: ${found.join(', ')}`;
  } catch (listError) {
    where = `the databases could not be listed (${describeError(listError)})`;
  }
  return new CliError(`${error.message}; ${where}. Choose one with --db <name>`, {
    cause: error,
  });
}
