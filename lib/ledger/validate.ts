/**
 * Guards at the ledger's edge: ids are non-empty strings of bounded length, so an operator object
 * such as `{ $ne: null }` or an array can never reach a store query.
 */
import { LedgerInputError } from '../errors.js';

export const MAX_ID_LENGTH = 512;

export function assertId(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw new LedgerInputError(
      `"${name}" must be a non-empty string of at most ${MAX_ID_LENGTH} characters`,
    );
  }
}

export function assertDate(value: unknown, name: string): asserts value is Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new LedgerInputError(`"${name}" must be a valid date`);
  }
}
