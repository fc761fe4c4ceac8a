/**
 * The default refresh-token key: an HS256 key derived with HKDF-SHA256 (RFC 5869) from
 * `subjectSecret`. Refresh tokens are read by this server only, so they need no public key, and a
 * MAC costs a fraction of an asymmetric signature.
 *
 * Why `subjectSecret`: it is the one secret every deployment already has, the same on every
 * instance (or `sub` values would differ between them), at least 32 characters, and never sent
 * anywhere: only HMAC outputs of it leave the server. Deriving from it needs no new option and no
 * new secret to distribute. HKDF's `info` label separates the uses (RFC 5869 section 3.2): the
 * derived key, the kid below, the personal-data KEK (its own salt and label, in
 * lib/personal-data/key-encryption.ts) and the `sub` HMAC are independent outputs, so none of them
 * tells anything about another or about the secret. The consequence, documented in
 * docs/tokens-and-ledger.md: changing `subjectSecret` ends every outstanding refresh token (as it
 * already changes every `sub`). HKDF adds no strength to a weak secret; README "Options" asks for
 * a random one.
 *
 * The derived key never joins the access-token key set and is never published, so nothing it signs
 * passes as an access token (SECURITY.md "Defences").
 */
import { hkdfSync } from 'node:crypto';
import { base64url } from 'jose';
import { loadKeys, type KeySet } from './keys.js';

/** HKDF `info` of the MAC key; a new version gets a new label, and so a new key and kid. */
export const REFRESH_MAC_INFO = 'koa-jwtconnect refresh-token MAC v1';

/**
 * HKDF `info` of the kid: an output independent of the key, so the kid names the key (which
 * secret MACed a token) without revealing it. A guess at a weak secret can be checked against it,
 * as against any MAC or `sub` the secret produced: the secret must be random.
 */
const KID_INFO = `${REFRESH_MAC_INFO} kid`;

/** A fixed, public salt (RFC 5869 section 3.1: a salt need not be secret). */
const SALT = 'koa-jwtconnect';

/** The kid's prefix, so an operator reading a token header knows which key it names. */
export const REFRESH_MAC_KID_PREFIX = 'rt-mac-';

/** 32 bytes: the HS256 minimum and the SHA-256 output (RFC 7518 section 3.2). */
const KEY_BYTES = 32;
/** 72 bits: two different secrets sharing a kid is not a practical concern. */
const KID_BYTES = 9;

export interface RefreshMacKey {
  readonly kid: string;
  /** The raw key: for the key set and for tests only; never logged, published or recorded. */
  readonly secret: Uint8Array;
}

function hkdf(subjectSecret: string, info: string, length: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', Buffer.from(subjectSecret, 'utf8'), SALT, info, length));
}

/** The derived MAC key and its kid: the same for the same `subjectSecret` on every instance. */
export function deriveRefreshMacKey(subjectSecret: string): RefreshMacKey {
  return {
    kid: REFRESH_MAC_KID_PREFIX + base64url.encode(hkdf(subjectSecret, KID_INFO, KID_BYTES)),
    secret: hkdf(subjectSecret, REFRESH_MAC_INFO, KEY_BYTES),
  };
}

/** The key set that MACs refresh tokens by default: one HS256 key, nothing to publish. */
export async function refreshMacKeySet(subjectSecret: string): Promise<KeySet> {
  const { kid, secret } = deriveRefreshMacKey(subjectSecret);
  try {
    return await loadKeys(
      { secret, kid, alg: 'HS256' },
      { defaultAlgorithm: 'HS256', label: 'the refresh-token MAC key' },
    );
  } finally {
    // The key set holds its own imported, non-extractable copy.
    secret.fill(0);
  }
}
