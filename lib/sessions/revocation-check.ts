/**
 * Whether a verified access token may still be used: the ledger must have recorded it, with the
 * claims it carries, and neither it, its session nor its subject may be revoked. One interface,
 * two answers: `StoreRevocationCheck` reads the store on every call (the default), `RevocationView`
 * answers from a local view at most `revocation.maxStalenessMs` old.
 */
import type { Clock } from '../clock.js';
import { InvalidTokenError } from '../errors.js';
import {
  tokenStatus,
  type Ledger,
  type SessionState,
  type SubjectState,
  type TokenHolder,
  type TokenState,
} from '../ledger/index.js';
import type { TokenClaims } from '../tokens/claims.js';
import { hasSessionEnded } from './lifetime.js';

/** The answer for a validly signed token whose session the ledger has never recorded. */
export const UNKNOWN_SESSION =
  'unknown session: the ledger has no record of this token (was the store reset?)';

/** How session code asks whether a verified access token is recorded and unrevoked. */
export interface RevocationCheck {
  /**
   * Resolves when the token is usable; otherwise throws `InvalidTokenError` (`unknown`, `revoked`,
   * `session_expired`), or `StoreUnavailableError` when that cannot be known (fail closed).
   */
  assertNotRevoked(claims: TokenClaims): Promise<void>;
  /**
   * `assertNotRevoked`, then which session holds token `jti` (null: none), for a caller asking
   * about that token: found in the same store read as the caller's own session when the check
   * reads the store.
   */
  assertNotRevokedFindingToken(claims: TokenClaims, jti: string): Promise<TokenHolder | null>;
  /** Stops any background work; the check is not used afterwards. */
  stop(): void;
}

/** What both checks need from the configuration. */
export interface RevocationCheckOptions {
  /** The configured absolute session lifetime, seconds, for sessions recorded without their end. */
  sessionMaxAge: number;
  clock: Clock;
}

/** Reads the session and subject state on every call: one store round trip, never stale. */
export class StoreRevocationCheck implements RevocationCheck {
  readonly #ledger: Ledger;
  readonly #options: RevocationCheckOptions;

  constructor(ledger: Ledger, options: RevocationCheckOptions) {
    this.#ledger = ledger;
    this.#options = options;
  }

  async assertNotRevoked(claims: TokenClaims): Promise<void> {
    const { clock, sessionMaxAge } = this.#options;
    await assertRecordedAndNotRevoked(this.#ledger, claims, clock(), sessionMaxAge);
  }

  async assertNotRevokedFindingToken(
    claims: TokenClaims,
    jti: string,
  ): Promise<TokenHolder | null> {
    const { clock, sessionMaxAge } = this.#options;
    const read = await this.#ledger.loadSessionFindingToken(claims.sid, claims.sub, jti);
    assertUsable(read, claims, clock(), sessionMaxAge);
    return read.holder;
  }

  stop(): void {
    // Nothing runs in the background.
  }
}

/**
 * Reads the session and subject state and returns the session and the token's recorded state. A
 * token the ledger does not know as an access token of that session and subject, or whose `exp`,
 * `scope` or `aud` differ from what the ledger recorded for it, was never issued here, whoever
 * signed it, and is refused (fail closed); so is one of a session past its absolute end
 * (`sessionMaxAge`, seconds). With `exp` as recorded, the verification's expiry check (with its
 * clock tolerance) is the ledger's.
 */
export async function assertRecordedAndNotRevoked(
  ledger: Ledger,
  claims: TokenClaims,
  now: number,
  sessionMaxAge: number,
): Promise<{ session: SessionState; token: TokenState }> {
  return assertUsable(await ledger.loadSession(claims.sid, claims.sub), claims, now, sessionMaxAge);
}

/** The checks of `assertRecordedAndNotRevoked` on the session and subject states it read. */
function assertUsable(
  { session, subject }: { session: SessionState | null; subject: SubjectState | null },
  claims: TokenClaims,
  now: number,
  sessionMaxAge: number,
): { session: SessionState; token: TokenState } {
  // Said plainly: after a restart on the in-memory store (or a reset database) every token the
  // host still holds is validly signed but unknown, which "not valid" would leave unexplained.
  if (!session) throw new InvalidTokenError(UNKNOWN_SESSION, 'unknown');
  if (session.sub !== claims.sub) throw new InvalidTokenError('the token is not valid', 'unknown');
  const view = tokenStatus(session, claims.jti, subject, now);
  if (!view || view.token.type !== 'access') {
    throw new InvalidTokenError('unknown token: its session has no record of it', 'unknown');
  }
  if (!claimsAsRecorded(claims, session, view.token)) {
    throw new InvalidTokenError('the token is not valid', 'unknown');
  }
  if (view.status === 'revoked') throw new InvalidTokenError('the token is revoked', 'revoked');
  if (hasSessionEnded(session, sessionMaxAge, now)) throw sessionExpired();
  return { session, token: view.token };
}

/**
 * Whether a token's `exp`, `scope` and `aud` are those the ledger recorded for it. A token signed
 * with the right key but claims of its own (a leaked key, a second service misconfigured with it)
 * must not raise its own scope, audience or lifetime: defence in depth behind the signature.
 */
export function claimsAsRecorded(
  claims: Pick<TokenClaims, 'exp' | 'scope' | 'aud'>,
  session: Pick<SessionState, 'scope' | 'aud'>,
  token: Pick<TokenState, 'exp'>,
): boolean {
  if (claims.exp !== token.exp) return false;
  if (claims.scope !== session.scope) return false;
  const presented = audiences(claims.aud);
  const recorded = audiences(session.aud);
  return presented.length === recorded.length && presented.every((aud) => recorded.includes(aud));
}

function audiences(aud: unknown): unknown[] {
  return aud === undefined ? [] : [aud].flat();
}

export function sessionExpired(): InvalidTokenError {
  return new InvalidTokenError('the session has expired', 'session_expired');
}
