/**
 * What the CLI needs to read or erase personal data: the subject secret and any explicit
 * key-encryption keys, from the environment only (never from arguments, which other local users
 * can see in the process list).
 *
 * - `JWTCONNECT_SUBJECT_SECRET`: the plugin's `subjectSecret`; turns `--user` into a `sub` and
 *   derives the default key-encryption key.
 * - `JWTCONNECT_PERSONAL_DATA_KEYS`: the plugin's `personalData.keys`, as JSON.
 */
import { systemClock } from '../clock.js';
import type { LedgerStore } from '../ledger/index.js';
import { DataKeys } from '../personal-data/data-keys.js';
import { KeyEncryptionKeys, type KekSource } from '../personal-data/key-encryption.js';
import { PersonalData } from '../personal-data/personal-data.js';
import { subjectFor } from '../tokens/claims.js';
import { CliError } from './errors.js';

export const SECRET_ENV = 'JWTCONNECT_SUBJECT_SECRET';
export const KEYS_ENV = 'JWTCONNECT_PERSONAL_DATA_KEYS';

function secretOf(env: NodeJS.ProcessEnv): string | undefined {
  const secret = env[SECRET_ENV];
  if (secret === undefined || secret === '') return undefined;
  if (secret.length < 32) throw new CliError(`${SECRET_ENV} must be at least 32 characters`);
  return secret;
}

function keksOf(env: NodeJS.ProcessEnv): KekSource[] {
  const text = env[KEYS_ENV];
  if (text === undefined || text === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${KEYS_ENV} is not JSON`, { cause: error });
  }
  const list: unknown[] = Array.isArray(value) ? value : [value];
  for (const item of list) {
    const { kid, secret } = (item ?? {}) as Partial<KekSource>;
    if (typeof kid !== 'string' || kid === '' || typeof secret !== 'string' || secret.length < 32) {
      throw new CliError(`${KEYS_ENV} must list { "kid", "secret" (>= 32 characters) }`);
    }
  }
  return list as KekSource[];
}

/** The decrypting side of the plugin, if the environment holds the secret; else undefined. */
export function personalDataFrom(
  env: NodeJS.ProcessEnv,
  store: LedgerStore,
): PersonalData | undefined {
  const subjectSecret = secretOf(env);
  if (subjectSecret === undefined) return undefined;
  // One command, one pass: no cache needed beyond the call itself.
  return new PersonalData(store, {
    subjectSecret,
    keys: keksOf(env),
    clock: Date.now,
    cacheEntries: 0,
  });
}

/** Data keys for destroying (and reading, with the secret). */
export function dataKeysFrom(env: NodeJS.ProcessEnv, store: LedgerStore): DataKeys {
  const subjectSecret = secretOf(env);
  const keks =
    subjectSecret === undefined ? null : new KeyEncryptionKeys(subjectSecret, keksOf(env));
  return new DataKeys(store, keks, systemClock, 0);
}

/** The `sub` of `--sub`, or of `--user` under the subject secret. */
export function subjectFrom(
  options: { sub?: string; user?: string },
  env: NodeJS.ProcessEnv,
): string {
  if (options.sub !== undefined) return options.sub;
  if (options.user === undefined)
    throw new CliError('name the subject: --sub <sub> or --user <id>');
  const secret = secretOf(env);
  if (secret === undefined) throw new CliError(`--user needs the subject secret in ${SECRET_ENV}`);
  return subjectFor(options.user, secret);
}
