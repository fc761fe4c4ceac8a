/**
 * The key set: every configured key parsed, checked and imported ONCE at start-up, so that signing
 * and verifying never parse or import a key again. One key signs (the active one); all of them
 * verify, which is how keys rotate. Only public parts are ever published.
 */
import { webcrypto, type KeyObject } from 'node:crypto';
import { base64url, calculateJwkThumbprint, importJWK, type CryptoKey, type JWK } from 'jose';
import { ConfigError, KeyError } from '../errors.js';
import {
  hmacHash,
  isHmacAlgorithm,
  isSigningAlgorithm,
  keyMismatch,
  secretMismatch,
  type HmacAlgorithm,
  type SigningAlgorithm,
} from './algorithms.js';
import { readKeySource, type KeySource, type RawKey } from './key-sources.js';

export type { SigningAlgorithm } from './algorithms.js';
export type { KeySource } from './key-sources.js';

/** A key ready for jose: already imported, bound to one algorithm. */
export interface TokenKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly key: CryptoKey;
}

/** A published key: public members only (RFC 7517 section 4, RFC 7518 section 6). */
export interface PublicJwk {
  readonly kty: string;
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly use: 'sig';
  readonly crv?: string;
  readonly x?: string;
  readonly y?: string;
  readonly n?: string;
  readonly e?: string;
}

/** The published key set (`GET /.well-known/jwks.json`): public members only. */
export interface PublicJwks {
  /** Every configured public key, the signing key's and those kept for verification. */
  readonly keys: readonly PublicJwk[];
}

export interface KeySet {
  /** The one key that signs: a private key or secret. */
  readonly signing: TokenKey;
  /** The algorithm allow-list for verification: algorithms of configured keys only. */
  readonly algorithms: ReadonlySet<SigningAlgorithm>;
  /** The verification key with exactly this `kid`, if configured. */
  verificationKey(kid: string): TokenKey | undefined;
  /** The verification keys for an algorithm (used when a token has no `kid`). */
  verificationKeys(alg: string): readonly TokenKey[];
  /** The JWKS to publish, built once: the same frozen object every time. */
  jwks(): PublicJwks;
}

export interface LoadKeysOptions {
  /** The algorithm of keys whose source and JWK do not name one. */
  defaultAlgorithm: SigningAlgorithm;
  /** Told once when a shared secret is configured. */
  warn?: (message: string) => void;
  /** The option name used in error messages. Default `keys`. */
  label?: string;
}

interface LoadedKey {
  readonly label: string;
  readonly verify: TokenKey;
  readonly sign?: TokenKey;
  readonly active: boolean | undefined;
  readonly published?: PublicJwk;
}

const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const;

/**
 * The public members of a key's JWK (RFC 7517 section 4, RFC 7518 section 6): what the JWKS
 * publishes and what a default `kid` (the RFC 7638 thumbprint) is computed over.
 */
export function publicJwkOf(key: KeyObject): JWK {
  const full = key.export({ format: 'jwk' }) as Record<string, unknown>;
  const jwk: Record<string, unknown> = {};
  for (const member of PUBLIC_MEMBERS) if (full[member] !== undefined) jwk[member] = full[member];
  return jwk as JWK;
}

async function resolveKid(raw: RawKey, thumbprintOf: () => Promise<string>): Promise<string> {
  if (raw.kid === undefined) return thumbprintOf();
  if (typeof raw.kid !== 'string' || raw.kid.length === 0) {
    throw new KeyError(`${raw.label}: "kid" must be a non-empty string`);
  }
  return raw.kid;
}

async function prepareSecret(raw: RawKey, secret: Uint8Array, alg: SigningAlgorithm) {
  const problem = secretMismatch(alg, secret);
  if (problem !== undefined) throw new KeyError(`${raw.label}: ${problem}`);
  const hash = hmacHash(alg as HmacAlgorithm);
  const kid = await resolveKid(raw, () =>
    calculateJwkThumbprint({ kty: 'oct', k: base64url.encode(secret) }),
  );
  // Imported once as a CryptoKey: jose re-imports a raw Uint8Array (or a secret KeyObject) on
  // every sign and verify call.
  const key = await webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash }, false, [
    'sign',
    'verify',
  ]);
  const token: TokenKey = Object.freeze({ kid, alg, key });
  return { verify: token, sign: token };
}

async function prepareAsymmetric(raw: RawKey, publicKey: KeyObject, alg: SigningAlgorithm) {
  const problem = keyMismatch(alg, publicKey);
  if (problem !== undefined) throw new KeyError(`${raw.label}: ${problem}`);
  const jwk = publicJwkOf(publicKey);
  const kid = await resolveKid(raw, () => calculateJwkThumbprint(jwk));
  const verify: TokenKey = Object.freeze({
    kid,
    alg,
    key: (await importJWK(jwk, alg)) as CryptoKey,
  });
  const published: PublicJwk = Object.freeze({ ...jwk, kid, alg, use: 'sig' } as PublicJwk);
  if (raw.privateKey === undefined) return { verify, published };
  const privateJwk = raw.privateKey.export({ format: 'jwk' }) as JWK;
  const sign: TokenKey = Object.freeze({
    kid,
    alg,
    key: (await importJWK(privateJwk, alg)) as CryptoKey,
  });
  return { verify, sign, published };
}

async function prepare(raw: RawKey, defaultAlgorithm: SigningAlgorithm): Promise<LoadedKey> {
  const alg = raw.alg ?? defaultAlgorithm;
  if (!isSigningAlgorithm(alg)) {
    throw new KeyError(`${raw.label}: "alg" ${JSON.stringify(alg)} is not supported`);
  }
  if (raw.active !== undefined && typeof raw.active !== 'boolean') {
    throw new KeyError(`${raw.label}: "active" must be a boolean`);
  }
  const { secret, publicKey } = raw;
  const prepared =
    secret !== undefined
      ? await prepareSecret(raw, secret, alg)
      : publicKey !== undefined
        ? await prepareAsymmetric(raw, publicKey, alg)
        : undefined;
  if (prepared === undefined) throw new KeyError(`${raw.label}: holds no key`);
  return { label: raw.label, active: raw.active, ...prepared };
}

function chooseSigningKey(keys: readonly LoadedKey[], name: string): TokenKey {
  const marked = keys.filter((k) => k.active === true);
  if (marked.length > 1) {
    const labels = marked.map((k) => k.label).join(', ');
    throw new KeyError(`${name}: only one key may be active, got ${marked.length} (${labels})`);
  }
  const [chosen] = marked;
  if (chosen !== undefined && chosen.sign === undefined) {
    throw new KeyError(`${chosen.label}: the active key needs a private key or secret`);
  }
  const signing = chosen?.sign ?? keys.find((k) => k.sign && k.active !== false)?.sign;
  if (signing === undefined) {
    throw new KeyError(`${name}: no key can sign; configure a private key or a secret`);
  }
  return signing;
}

function assertUniqueKids(keys: readonly LoadedKey[]): void {
  const seen = new Map<string, string>();
  for (const { verify, label } of keys) {
    const first = seen.get(verify.kid);
    if (first !== undefined) {
      throw new KeyError(`${label}: duplicate "kid" ${JSON.stringify(verify.kid)} (also ${first})`);
    }
    seen.set(verify.kid, label);
  }
}

/**
 * Loads, checks and imports the configured keys.
 *
 * @example
 * const keySet = await loadKeys(
 *   { privateKeyFile: 'certs/private.key', certificateFile: 'certs/public.cert' },
 *   { defaultAlgorithm: 'RS256' },
 * );
 */
export async function loadKeys(
  sources: KeySource | readonly KeySource[],
  options: LoadKeysOptions,
): Promise<KeySet> {
  if (!isSigningAlgorithm(options.defaultAlgorithm)) {
    throw new ConfigError(
      `algorithm: ${JSON.stringify(options.defaultAlgorithm)} is not supported`,
    );
  }
  const name = options.label ?? 'keys';
  const list: readonly KeySource[] = Array.isArray(sources) ? sources : [sources as KeySource];
  if (list.length === 0) throw new KeyError(`${name}: at least one key is required`);
  const label = (i: number) => (Array.isArray(sources) ? `${name}[${i}]` : name);
  const raws = (await Promise.all(list.map((s, i) => readKeySource(s, label(i))))).flat();
  const loaded = await Promise.all(raws.map((raw) => prepare(raw, options.defaultAlgorithm)));

  assertUniqueKids(loaded);
  const signing = chooseSigningKey(loaded, name);
  if (loaded.some((k) => isHmacAlgorithm(k.verify.alg))) {
    options.warn?.(
      `${name}: a shared secret (HS*) is configured; asymmetric keys (ES256, EdDSA, RS256) are ` +
        'preferred, since every verifier holding the secret can also sign',
    );
  }

  const byKid = new Map(loaded.map(({ verify }) => [verify.kid, verify]));
  const byAlg = new Map<string, TokenKey[]>();
  for (const { verify } of loaded)
    byAlg.set(verify.alg, [...(byAlg.get(verify.alg) ?? []), verify]);
  for (const keys of byAlg.values()) Object.freeze(keys);
  const published = loaded.flatMap((k) => (k.published ? [k.published] : []));
  const jwks: PublicJwks = Object.freeze({ keys: Object.freeze(published) });
  const none: readonly TokenKey[] = Object.freeze([]);

  return Object.freeze({
    signing,
    algorithms: new Set(loaded.map((k) => k.verify.alg)),
    verificationKey: (kid: string) => byKid.get(kid),
    verificationKeys: (alg: string) => byAlg.get(alg) ?? none,
    jwks: () => jwks,
  });
}

/**
 * A key set that signs with `primary` and verifies with the keys of both, `primary` first. Each key
 * stays bound to its own algorithm, so joining sets allows no algorithm confusion; a `kid` in both
 * sets is refused at start-up, so a `kid` never selects between two keys.
 */
export function joinKeySets(primary: KeySet, fallback: KeySet, name: string): KeySet {
  for (const alg of fallback.algorithms) {
    for (const key of fallback.verificationKeys(alg)) {
      if (primary.verificationKey(key.kid) !== undefined) {
        throw new KeyError(`${name}: "kid" ${JSON.stringify(key.kid)} is also a "keys" kid`);
      }
    }
  }
  const algorithms = new Set([...primary.algorithms, ...fallback.algorithms]);
  // Joined once here, not on every verification.
  const byAlg = new Map<string, readonly TokenKey[]>();
  for (const alg of algorithms) {
    byAlg.set(
      alg,
      Object.freeze([...primary.verificationKeys(alg), ...fallback.verificationKeys(alg)]),
    );
  }
  const none: readonly TokenKey[] = Object.freeze([]);
  return Object.freeze({
    signing: primary.signing,
    algorithms,
    verificationKey: (kid: string) => primary.verificationKey(kid) ?? fallback.verificationKey(kid),
    verificationKeys: (alg: string) => byAlg.get(alg) ?? none,
    jwks: () => primary.jwks(),
  });
}
