/**
 * The one place MongoDB errors become plugin errors (used by `MongoStore` only).
 */
import { ConcurrencyError, LedgerInputError, StoreUnavailableError } from '../errors.js';
import type { LedgerEvent } from './events.js';

export function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 11000;
}

/** Whether an unordered bulk insert failed only on duplicate keys (every other document landed). */
export function isOnlyDuplicateKeys(error: unknown): boolean {
  const bulk = error as { writeErrors?: unknown; writeConcernError?: unknown } | null;
  const writeErrors = bulk?.writeErrors;
  const list = Array.isArray(writeErrors) ? (writeErrors as unknown[]) : [writeErrors];
  return (
    isDuplicateKey(error) &&
    bulk?.writeConcernError === undefined &&
    list.every((writeError) => isDuplicateKey(writeError))
  );
}

/**
 * The one place MongoDB errors become plugin errors: a duplicate (stream, seq) is a lost race;
 * anything else means the store cannot be trusted to answer, so callers fail closed.
 */
export function translate(error: unknown, appending?: LedgerEvent): never {
  if (
    error instanceof ConcurrencyError ||
    error instanceof StoreUnavailableError ||
    error instanceof LedgerInputError
  ) {
    throw error;
  }
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

export async function guard<T>(operation: () => Promise<T>, appending?: LedgerEvent): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    translate(error, appending);
  }
}
