/**
 * A bounded, per-instance cache of access tokens that passed `verifyToken`, so a client presenting
 * the same token on every request pays for its signature once, not on every request.
 *
 * What makes it safe:
 * - Only a token that passed the full verification is remembered. It is found by its signing input
 *   (header and payload, exactly as presented) and hit only when the signature is exactly the one
 *   verified: a token differing in any character is verified in full. One signing input has one
 *   entry, so another valid signature of the same content (an ECDSA signature's (r, n - s)) replaces
 *   the entry instead of adding one, and respelling a token cannot fill the cache.
 * - Signature, header and static claims (`iss`, `aud`, `typ`, `ttype`, required claims) are fixed by
 *   the token's bytes and this instance's keys and options, which do not change while it runs. The
 *   time claims are not: `exp`, `nbf` and `iat` are checked again on every hit, with the same clock
 *   and tolerance as a full verification; a token that fails them is dropped and verified in full,
 *   so it gets exactly the error a first presentation would get.
 * - Revocation is never cached here: callers check it after this, on every request, as configured.
 * - Every hit returns fresh objects (the payload is parsed again), so a handler that changes
 *   `ctx.state.user` cannot change what a later request sees.
 *
 * A hit answers sooner than a miss. That tells only whether this exact valid token was presented
 * recently, which only someone holding the token can ask.
 */
import type { TokenClaims, TokenTyp } from './claims.js';
import type { VerifiedToken } from './verify.js';

interface Entry {
  /** The signature part that was verified. */
  signature: string;
  header: VerifiedToken['header'];
  /** The verified payload as JSON, parsed again on every hit. */
  payload: string;
  exp: number;
  iat: number;
  nbf: number | undefined;
}

export const DEFAULT_VERIFY_CACHE_ENTRIES = 10_000;

export class VerifiedTokenCache {
  readonly maxEntries: number;
  readonly #entries = new Map<string, Entry>();

  constructor(maxEntries: number = DEFAULT_VERIFY_CACHE_ENTRIES) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new TypeError('"maxEntries" must be a positive integer');
    }
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The verification result for `jwt`, if it was verified as `typ` before and its time claims still
   * hold at `nowMs` within `toleranceSeconds`; otherwise undefined (and a stale entry is dropped).
   */
  lookup(
    jwt: string,
    typ: TokenTyp,
    nowMs: number,
    toleranceSeconds: number,
  ): VerifiedToken | undefined {
    const [input, signature] = split(jwt);
    const entry = this.#entries.get(input);
    if (entry === undefined || entry.signature !== signature || entry.header.typ !== typ) {
      return undefined;
    }
    // The same comparisons as jose's claim checks and verifyToken's `iat` check.
    const now = Math.floor(nowMs / 1000);
    if (
      entry.exp <= now - toleranceSeconds ||
      entry.iat > now + toleranceSeconds ||
      (entry.nbf !== undefined && entry.nbf > now + toleranceSeconds)
    ) {
      this.#entries.delete(input);
      return undefined;
    }
    return { header: { ...entry.header }, claims: JSON.parse(entry.payload) as TokenClaims };
  }

  /** Remembers a token that `verifyToken` accepted; the oldest entry makes room when full. */
  remember(jwt: string, verified: VerifiedToken): void {
    const { claims } = verified;
    const nbf = (claims as { nbf?: unknown }).nbf;
    const [input, signature] = split(jwt);
    if (this.#entries.size >= this.maxEntries && !this.#entries.has(input)) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(input, {
      signature,
      header: { ...verified.header },
      payload: JSON.stringify(claims),
      exp: claims.exp,
      iat: claims.iat,
      nbf: typeof nbf === 'number' ? nbf : undefined,
    });
  }

  clear(): void {
    this.#entries.clear();
  }
}

/** `[signing input, signature]` of a compact JWS (RFC 7515 section 7.1). */
function split(jwt: string): [string, string] {
  const dot = jwt.lastIndexOf('.');
  return [jwt.slice(0, dot), jwt.slice(dot + 1)];
}
