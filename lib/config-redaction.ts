/**
 * How the resolved config prints: `auth.config` holds key material, secrets and connection strings
 * the plugin needs, and hosts log their config (`console.log`, `JSON.stringify`, pino). Every part
 * that holds a secret gets a `toJSON` and a `util.inspect.custom` (non-enumerable, so key-source
 * checks and spreads never see them) that show it with the secret replaced; the values themselves
 * stay in place for the plugin (README "Security notes").
 */
import { inspect } from 'node:util';
import type { JWK } from 'jose';
import type { KekSource } from './personal-data/key-encryption.js';
import { maskPasswords, type MongoStoreOptions } from './ledger/index.js';
import type { KeySource } from './tokens/key-sources.js';

/** What a secret prints as. */
export const REDACTED = '[redacted]';

/** Key-source members that hold key material (a certificate or a file name is public). */
const SECRET_MEMBERS = new Set(['privateKeyPem', 'secret']);
/** JWK members that hold private or symmetric key material (RFC 7518 section 6). */
const PRIVATE_JWK_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']);

/** `target`, printing (and serializing) as `view()` from now on. */
function printsAs<T extends object>(target: T, view: () => unknown): T {
  Object.defineProperty(target, 'toJSON', { value: view });
  Object.defineProperty(target, inspect.custom, {
    value: (_depth: number, options: object, show: typeof inspect) => show(view(), options),
  });
  return target;
}

function publicJwk(jwk: JWK): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(jwk).map(([name, value]) => [
      name,
      PRIVATE_JWK_MEMBERS.has(name) ? REDACTED : value,
    ]),
  );
}

/** A frozen copy of a `keys` or `refreshKeys` source that prints without its key material. */
export function redactedKeySource(source: KeySource): KeySource {
  const copy: KeySource = { ...source };
  return Object.freeze(
    printsAs(copy, () =>
      Object.fromEntries(
        Object.entries(copy).map(([name, value]) => {
          if (SECRET_MEMBERS.has(name)) return [name, REDACTED];
          if (name === 'jwk') return [name, publicJwk(value as JWK)];
          if (name === 'jwks') {
            const { keys } = value as { keys: JWK[] };
            return [name, { keys: keys.map(publicJwk) }];
          }
          return [name, value];
        }),
      ),
    ),
  );
}

/** A frozen key-encryption key that prints as its `kid` alone. */
export function redactedKek({ kid, secret }: KekSource): KekSource {
  return Object.freeze(printsAs({ kid, secret }, () => ({ kid, secret: REDACTED })));
}

/** What the `store` option holds, as the resolved config keeps it. */
export type StoreParts =
  | { mongo: MongoStoreOptions & { db?: { databaseName: string } } }
  | { memory: true }
  | { custom: object };

/**
 * A copy of the `store` option that prints a connection string with `***` for its password, a
 * host's `Db` and a custom store by name only (either may hold a client with credentials).
 */
export function redactedStore<S extends StoreParts>(store: S): S {
  if ('mongo' in store) {
    const mongo = { ...store.mongo };
    const { uri, db } = mongo;
    printsAs(mongo, () => ({
      ...mongo,
      ...(uri !== undefined && { uri: maskPasswords(uri) }),
      ...(db !== undefined && { db: `[Db ${db.databaseName}]` }),
    }));
    return Object.freeze({ mongo: Object.freeze(mongo) }) as S;
  }
  if ('custom' in store) {
    const name = (store.custom as { constructor?: { name?: string } }).constructor?.name;
    return Object.freeze(printsAs({ ...store }, () => ({ custom: `[${name ?? 'LedgerStore'}]` })));
  }
  return Object.freeze({ ...store });
}

/**
 * Freezes the resolved config with `subjectSecret` not enumerable (a spread or `Object.entries`
 * leaves it out) and printing as `[redacted]`.
 */
export function frozenConfig<C extends { subjectSecret: string }>(config: C): C {
  const { subjectSecret, ...rest } = config;
  const target = { ...rest } as C;
  Object.defineProperty(target, 'subjectSecret', { value: subjectSecret });
  const shown = Object.entries(config).map(([name, value]) => [
    name,
    name === 'subjectSecret' ? REDACTED : value,
  ]);
  printsAs(target, () => Object.fromEntries(shown));
  return Object.freeze(target);
}
