/**
 * The checkpoint format: a compact JWS (RFC 7515) with header `typ: ledger-checkpoint+jwt`, whose
 * claims commit to the head of every stream as of `upto` through an RFC 6962 Merkle tree hash.
 * Everything here is what an outside verifier needs, and nothing reads the store.
 */
import { createHash } from 'node:crypto';
import {
  compactVerify,
  createLocalJWKSet,
  decodeJwt,
  errors as joseErrors,
  type JSONWebKeySet,
} from 'jose';
import { CheckpointError } from '../../errors.js';
import { canonicalJson } from '../hash-chain.js';
import type { StreamHead } from '../store.js';
import { leafHash } from './merkle.js';

/** The `typ` header of a checkpoint: never `at+jwt` or `rt+jwt`, so it never passes as a token. */
export const CHECKPOINT_TYP = 'ledger-checkpoint+jwt';

/** What a checkpoint signs. */
export interface CheckpointClaims {
  /** The plugin's `issuer`. */
  iss: string;
  /** When it was signed (NumericDate). */
  iat: number;
  /** It covers every event with `time <= upto` (NumericDate, seconds). */
  upto: number;
  /** Leaves of the tree: streams with at least one covered event. */
  streams: number;
  /** Events covered. */
  events: number;
  /** base64url of the RFC 6962 Merkle tree hash over one leaf per stream. */
  root: string;
  /** base64url SHA-256 of the previous checkpoint's compact serialization; absent on the first. */
  prev?: string;
}

/** A checkpoint: its place in the sequence, its JWS and the claims the JWS signs. */
export interface Checkpoint {
  seq: number;
  jws: string;
  claims: CheckpointClaims;
}

/**
 * A leaf: the UTF-8 of the RFC 8785 canonical JSON `{"hash":..,"seq":..,"stream":..}` of a
 * stream's last covered event.
 */
export function leafOf(head: StreamHead): string {
  // Written out rather than canonicalized per leaf: the members are already in RFC 8785 order
  // (section 3.2.3), `seq` is an integer whose canonical form is its decimal digits (section
  // 3.2.2.3), and a string's canonical form is what JSON.stringify writes (section 3.2.2.2), except
  // for lone surrogates, which JSON.stringify escapes and RFC 8785 rejects (I-JSON, RFC 7493
  // section 2.1). JSON.stringify writes \u only for those and for control characters: any leaf
  // holding one goes through the generic canonicaliser, which rejects the first and agrees on the
  // second.
  if (Number.isSafeInteger(head.seq)) {
    const leaf = `{"hash":${JSON.stringify(head.hash)},"seq":${head.seq},"stream":${JSON.stringify(head.stream)}}`;
    if (!leaf.includes('\\u')) return leaf;
  }
  return canonicalJson({ hash: head.hash, seq: head.seq, stream: head.stream });
}

/** Heads in ascending byte order of the UTF-8 stream id, and their leaf hashes. */
export function orderLeaves(heads: readonly StreamHead[]): {
  heads: StreamHead[];
  leaves: Buffer[];
} {
  const ordered = orderHeads(heads);
  return { heads: ordered, leaves: ordered.map((head) => leafHash(leafOf(head))) };
}

/** Heads in ascending byte order of the UTF-8 stream id (a sorted copy). */
export function orderHeads(heads: readonly StreamHead[]): StreamHead[] {
  if (!heads.some((head) => SURROGATE_OR_ABOVE.test(head.stream))) {
    // Below U+D800, UTF-16 code unit order is UTF-8 byte order: the engine's string order will do.
    return [...heads].sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0));
  }
  if (heads.some((head) => LONE_SURROGATE.test(head.stream))) {
    // UTF-8 has no lone surrogates: Buffer.from writes U+FFFD for them, so their order is that of
    // the bytes written, not of any code point in the string.
    const keyed = heads.map((head) => ({ head, key: Buffer.from(head.stream, 'utf8') }));
    keyed.sort((a, b) => Buffer.compare(a.key, b.key));
    return keyed.map(({ head }) => head);
  }
  return [...heads].sort((a, b) => compareCodePoints(a.stream, b.stream));
}

/**
 * Code point order of two well-formed strings, which is UTF-8 byte order (RFC 3629 section 1),
 * without encoding them. UTF-16 code units differ from it only where U+E000..U+FFFF meets a
 * surrogate (a code point from U+10000): the surrogates are moved above U+FFFF.
 */
function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 || y < 0xd800) return x - y;
    return (x >= 0xe000 ? x - 0x800 : x + 0x2000) - (y >= 0xe000 ? y - 0x800 : y + 0x2000);
  }
  return a.length - b.length;
}

const SURROGATE_OR_ABOVE = /[\uD800-\uFFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** base64url SHA-256 of a compact JWS: the next checkpoint's `prev`. */
export function checkpointDigest(jws: string): string {
  return createHash('sha256').update(jws).digest('base64url');
}

/** The claims of a checkpoint this ledger wrote, without checking its signature. */
export function decodeCheckpoint(jws: string): CheckpointClaims {
  return checkClaims(decodeJwt(jws));
}

/**
 * Verifies a checkpoint's signature with a public JWKS and returns its claims.
 *
 * @throws {@link CheckpointError} for a bad signature, an unknown key, a wrong `typ` or claims.
 */
export async function verifyCheckpoint(
  jws: string,
  jwks: JSONWebKeySet,
): Promise<CheckpointClaims> {
  let payload: Uint8Array;
  try {
    const verified = await compactVerify(jws, createLocalJWKSet(jwks));
    if (verified.protectedHeader.typ !== CHECKPOINT_TYP) {
      throw new CheckpointError(`the JWS is not a checkpoint (typ must be ${CHECKPOINT_TYP})`);
    }
    payload = verified.payload;
  } catch (error) {
    if (error instanceof CheckpointError) throw error;
    if (error instanceof joseErrors.JOSEError) {
      throw new CheckpointError(`the checkpoint signature does not verify (${error.code})`, {
        cause: error,
      });
    }
    throw error;
  }
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder().decode(payload));
  } catch (error) {
    throw new CheckpointError('the checkpoint payload is not JSON', { cause: error });
  }
  return checkClaims(claims);
}

function checkClaims(value: unknown): CheckpointClaims {
  const claims = value as Partial<Record<keyof CheckpointClaims, unknown>> | null;
  const count = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  if (
    typeof claims !== 'object' ||
    claims === null ||
    typeof claims.iss !== 'string' ||
    !count(claims.iat) ||
    !count(claims.upto) ||
    !count(claims.streams) ||
    !count(claims.events) ||
    typeof claims.root !== 'string' ||
    !/^[A-Za-z0-9_-]{43}$/.test(claims.root) ||
    (claims.prev !== undefined && typeof claims.prev !== 'string')
  ) {
    throw new CheckpointError('the checkpoint claims are malformed');
  }
  return claims as CheckpointClaims;
}
