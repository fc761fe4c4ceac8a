/**
 * The demo's user directory. A real app has its own (with scrypt or argon2 hashes); the plugin
 * never sees it: it only receives the user record after the app has authenticated someone.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { UserRecord } from '../lib/index.js';

export interface DemoUser extends UserRecord {
  id: string;
  username: string;
  /** Space-separated scopes for the user's tokens. */
  scope?: string;
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** Password = username, for the demo only. Digests, so the comparison has a fixed length. */
const directory = new Map<string, { user: DemoUser; passwordDigest: Buffer }>(
  [
    { id: 'u-alice', username: 'alice', first_name: 'Alice', email: 'alice@example.org' },
    { id: 'u-bob', username: 'bob', first_name: 'Bob', email: 'bob@example.org' },
    { id: 'u-admin', username: 'admin', first_name: 'Ada', scope: 'introspection audit admin' },
  ].map((user: DemoUser) => [user.username, { user, passwordDigest: digest(user.username) }]),
);

/** A digest no password produces, so unknown users cost the same comparison as known ones. */
const NO_PASSWORD = digest('\u0000 no such user');

export const DEMO_USERNAMES: readonly string[] = [...directory.keys()];

export function findUser(username: string): DemoUser | undefined {
  return directory.get(username)?.user;
}

/** The user when the password matches, else null (the same answer for an unknown user). */
export function checkPassword(username: string, password: string): DemoUser | null {
  const entry = directory.get(username);
  const matches = timingSafeEqual(digest(password), entry?.passwordDigest ?? NO_PASSWORD);
  return matches && entry ? entry.user : null;
}

/** Scope of a user's session (the login hook's `scope` option). */
export function scopeOf(user: UserRecord): string | undefined {
  return typeof user['scope'] === 'string' ? user['scope'] : undefined;
}
