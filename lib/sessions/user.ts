/**
 * The host's user ids as the ledger knows them: opaque `sub` values (HMAC-SHA256 under the subject
 * secret), so operators can ask about a user without computing `sub` themselves.
 */
import { LedgerInputError } from '../errors.js';
import type { HistoryQuery } from '../ledger/index.js';
import { subjectFor } from '../tokens/claims.js';
import type { SessionDeps } from './deps.js';

/** A user, by the host's own id (what `userId` returns for the user record), or a subject. */
export type UserOrSubject = string | number | { sub: string };

/** A history query that may name the user by the host's id instead of `sub`. */
export interface UserHistoryQuery extends HistoryQuery {
  /** The host's user id; mapped to `sub` as logins map it. Not with `sub`. */
  user?: string | number;
}

/** The `sub` of the user with the host's id `id`, as `issue()` computes it. */
export function subjectOfUserId(deps: SessionDeps, id: unknown): string {
  if (!((typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id)))) {
    throw new LedgerInputError('"user" must be a non-empty string or a finite number (a user id)');
  }
  return subjectFor(String(id), deps.config.subjectSecret);
}

/** The subject named by a user id or by `{ sub }`. */
export function subjectOf(deps: SessionDeps, owner: UserOrSubject): string {
  if (typeof owner === 'object' && owner !== null) {
    if (Object.keys(owner).length !== 1 || !('sub' in owner)) {
      throw new LedgerInputError('name the user by its id, or the subject as { sub }');
    }
    return owner.sub;
  }
  return subjectOfUserId(deps, owner);
}

/** `query` with `user` turned into `sub`. */
export function historyQuery(deps: SessionDeps, query: UserHistoryQuery): HistoryQuery {
  if (typeof query !== 'object' || query === null || !('user' in query)) return query;
  const { user, ...rest } = query;
  if (rest.sub !== undefined) throw new LedgerInputError('give one of "user" or "sub", not both');
  return { ...rest, sub: subjectOfUserId(deps, user) };
}
