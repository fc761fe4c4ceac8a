/**
 * The one token verification function (RFC 8725, RFC 9068 section 4), used by the middleware and
 * every route. Cheap structural and header checks run before any cryptography; the header only
 * ever SELECTS one of the configured keys, and that key's single algorithm is the only one allowed.
 */
import { decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { epochSeconds, type Clock } from '../clock.js';
import { ttypeOf, type TokenClaims, type TokenTyp } from './claims.js';
import { invalidToken, toInvalidTokenError } from './jose-errors.js';
import type { KeySet, SigningAlgorithm, TokenKey } from './keys.js';

export interface VerifyOptions {
  issuer: string;
  /** When set, `aud` is required and must contain one of these. */
  audience?: string | string[];
  typ: TokenTyp;
  clockToleranceSeconds: number;
  /** Epoch milliseconds: the injected clock. */
  now: Clock;
  /** Longer inputs are refused before any decoding (default 8192 characters). */
  maxTokenLength?: number;
}

/** A token whose signature and claims verified (RFC 8725): its protected header and claims. */
export interface VerifiedToken {
  /** The protected header: algorithm, key id and type. */
  header: { alg: SigningAlgorithm; kid: string; typ: TokenTyp };
  /** The verified claims. */
  claims: TokenClaims;
}

export const DEFAULT_MAX_TOKEN_LENGTH = 8192;

/** Three non-empty base64url parts: an unsigned (`alg: none`) or stripped token fails here. */
const COMPACT_JWS = /^[\w-]+\.[\w-]+\.[\w-]+$/;

/**
 * Keys and URLs the token would have us trust (RFC 8725 section 3.10) and extensions we do not
 * understand (RFC 7515 section 4.1.11): refused, never fetched or used.
 */
const REFUSED_HEADERS = ['jku', 'x5u', 'x5c', 'jwk', 'crit'] as const;

const REQUIRED_CLAIMS = ['iss', 'sub', 'iat', 'exp', 'jti', 'sid', 'ttype'];

/**
 * One spelling per byte string (RFC 4648 section 3.5): the unused bits of a part's last character
 * must be zero. Otherwise a token has up to 16 spellings per part that all verify. Those bits are
 * all in the last quantum (RFC 4648 section 4; 2 or 3 characters when unpadded), so re-encoding
 * that quantum alone decides, without decoding and copying the whole payload and signature again.
 */
function isCanonicalBase64url(part: string): boolean {
  const last = part.slice(part.length - (part.length % 4 || 4));
  return Buffer.from(last, 'base64url').toString('base64url') === last;
}

function readHeader(jwt: unknown, maxLength: number): Record<string, unknown> {
  if (typeof jwt !== 'string' || jwt.length > maxLength || !COMPACT_JWS.test(jwt)) {
    throw invalidToken('malformed');
  }
  if (!jwt.split('.').every(isCanonicalBase64url)) throw invalidToken('malformed');
  try {
    return decodeProtectedHeader(jwt) as Record<string, unknown>;
  } catch {
    throw invalidToken('malformed');
  }
}

function selectKey(keySet: KeySet, header: Record<string, unknown>): TokenKey {
  for (const name of REFUSED_HEADERS) if (Object.hasOwn(header, name)) throw invalidToken('header');
  const { alg, kid } = header;
  if (typeof alg !== 'string' || !keySet.algorithms.has(alg as SigningAlgorithm)) {
    throw invalidToken('algorithm');
  }
  if (kid === undefined) {
    // Without a kid, only an unambiguous key of that algorithm may be used.
    const candidates = keySet.verificationKeys(alg);
    const [only] = candidates;
    if (only === undefined || candidates.length !== 1) throw invalidToken('header');
    return only;
  }
  const key = typeof kid === 'string' ? keySet.verificationKey(kid) : undefined;
  if (key === undefined) throw invalidToken('header');
  // The key decides the algorithm, never the token: no HS/RS confusion (RFC 8725 section 2.1).
  if (key.alg !== alg) throw invalidToken('algorithm');
  return key;
}

/** RFC 9068 section 4: compared case-insensitively, with an optional `application/` prefix. */
function checkTyp(typ: unknown, expected: TokenTyp): void {
  if (typeof typ !== 'string') throw invalidToken('wrong_type');
  const lower = typ.toLowerCase();
  const bare = lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
  if (bare !== expected) throw invalidToken('wrong_type');
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function checkClaims(payload: JWTPayload, options: VerifyOptions, now: number): TokenClaims {
  const { iss, sub, jti, sid, iat, exp, ttype, scope } = payload;
  if (
    typeof iss !== 'string' ||
    !isNonEmptyString(sub) ||
    !isNonEmptyString(jti) ||
    !isNonEmptyString(sid) ||
    !Number.isFinite(iat) ||
    !Number.isFinite(exp) ||
    (scope !== undefined && typeof scope !== 'string')
  ) {
    throw invalidToken('claims');
  }
  // jose checks `iat` only together with maxTokenAge; a token from the future is not yet valid.
  if ((iat as number) > now + options.clockToleranceSeconds) throw invalidToken('not_yet_valid');
  if (ttype !== ttypeOf(options.typ)) throw invalidToken('wrong_type');
  return payload as TokenClaims;
}

/**
 * Verifies a compact JWS token of the given type and returns its header and claims, or rejects
 * with an `InvalidTokenError` whose `reason` says why.
 *
 * @example
 * const { claims } = await verifyToken(keySet, bearer, {
 *   issuer, typ: ACCESS_TOKEN_TYP, clockToleranceSeconds: 5, now: systemClock,
 * });
 */
export async function verifyToken(
  keySet: KeySet,
  jwt: string,
  options: VerifyOptions,
): Promise<VerifiedToken> {
  // Any other typ is the caller's mistake: a TypeError before any work.
  ttypeOf(options.typ, '"typ" option');
  const header = readHeader(jwt, options.maxTokenLength ?? DEFAULT_MAX_TOKEN_LENGTH);
  const key = selectKey(keySet, header);
  checkTyp(header.typ, options.typ);

  const nowMs = options.now();
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(jwt, key.key, {
      algorithms: [key.alg],
      issuer: options.issuer,
      audience: options.audience,
      clockTolerance: options.clockToleranceSeconds,
      currentDate: new Date(nowMs),
      typ: options.typ,
      requiredClaims: REQUIRED_CLAIMS,
    }));
  } catch (error) {
    throw toInvalidTokenError(error);
  }
  const claims = checkClaims(
    payload,
    options,
    epochSeconds(() => nowMs),
  );
  return { header: { alg: key.alg, kid: key.kid, typ: options.typ }, claims };
}
