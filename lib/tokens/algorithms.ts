/**
 * The JWS algorithms the plugin signs and verifies with, and the key each one needs
 * (RFC 7518 section 3, RFC 8037 section 3.1). Every key is bound to exactly one algorithm
 * (RFC 8725 section 3.1), so a key can never be used with an algorithm it was not meant for.
 */
import type { KeyObject } from 'node:crypto';

/** The JWS algorithms the plugin signs and verifies with (RFC 7518, RFC 8037). */
export const SIGNING_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'EdDSA',
  'HS256',
  'HS384',
  'HS512',
] as const;

/** A JWS algorithm the plugin supports, e.g. `ES256`, `RS256`, `EdDSA`, `HS256`. */
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];
export type HmacAlgorithm = Extract<SigningAlgorithm, `HS${string}`>;

const KNOWN: ReadonlySet<string> = new Set(SIGNING_ALGORITHMS);

export function isSigningAlgorithm(value: unknown): value is SigningAlgorithm {
  return typeof value === 'string' && KNOWN.has(value);
}

export function isHmacAlgorithm(alg: SigningAlgorithm): alg is HmacAlgorithm {
  return alg.startsWith('HS');
}

/** RFC 7518 section 3.3 / RFC 8725 section 3.5: at least 2048-bit RSA moduli. */
export const MIN_RSA_BITS = 2048;

/**
 * RFC 7518 section 3.2: an HMAC key at least as long as the hash output (32, 48, 64 bytes).
 */
export const MIN_SECRET_BYTES: Readonly<Record<HmacAlgorithm, number>> = {
  HS256: 32,
  HS384: 48,
  HS512: 64,
};

/** The Web Crypto hash for an HMAC algorithm, used to import the secret once. */
export function hmacHash(alg: HmacAlgorithm): 'SHA-256' | 'SHA-384' | 'SHA-512' {
  return `SHA-${alg.slice(2)}` as 'SHA-256' | 'SHA-384' | 'SHA-512';
}

const CURVES: Readonly<Record<string, string>> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

/** A short description of a key's type, for error messages (never any key material). */
export function describeKey(key: KeyObject): string {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'rsa' || type === 'rsa-pss') return `a ${details.modulusLength ?? '?'}-bit RSA key`;
  if (type === 'ec') {
    const curve = details.namedCurve ?? '?';
    return `an EC ${CURVES[curve] ?? curve} key`;
  }
  if (type) return `an ${type[0]?.toUpperCase()}${type.slice(1)} key`;
  return 'a shared secret';
}

/**
 * Why `key` cannot be used with `alg`, or `undefined` when it can. `key` is the public half of an
 * asymmetric key; shared secrets are checked by `secretMismatch`.
 */
export function keyMismatch(alg: SigningAlgorithm, key: KeyObject): string | undefined {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (alg.startsWith('RS') || alg.startsWith('PS')) {
    if (type !== 'rsa') return `${alg} needs an RSA key, got ${describeKey(key)}`;
    const bits = details.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS)
      return `${alg} needs an RSA key of at least ${MIN_RSA_BITS} bits, got ${describeKey(key)}`;
    return undefined;
  }
  if (alg === 'ES256' || alg === 'ES384') {
    const curve = alg === 'ES256' ? 'prime256v1' : 'secp384r1';
    if (type === 'ec' && details.namedCurve === curve) return undefined;
    return `${alg} needs an EC ${CURVES[curve]} key, got ${describeKey(key)}`;
  }
  if (alg === 'EdDSA') {
    return type === 'ed25519' ? undefined : `EdDSA needs an Ed25519 key, got ${describeKey(key)}`;
  }
  return `${alg} needs a shared secret, got ${describeKey(key)}`;
}

/** Why `secret` cannot be used with `alg`, or `undefined` when it can. */
export function secretMismatch(alg: SigningAlgorithm, secret: Uint8Array): string | undefined {
  if (!isHmacAlgorithm(alg)) {
    return `${alg} needs an asymmetric key, got a shared secret (use HS256, HS384 or HS512)`;
  }
  const min = MIN_SECRET_BYTES[alg];
  if (secret.byteLength < min) {
    return `${alg} needs a secret of at least ${min} bytes, got ${secret.byteLength}`;
  }
  return undefined;
}
