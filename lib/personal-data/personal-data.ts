/**
 * The personal data of the ledger's events, encrypted under per-subject, per-period data keys:
 * what the `Ledger` calls to protect drafts and reveal events, and what refresh calls for a
 * session's claims. See docs/personal-data.md.
 */
import type { Clock } from '../clock.js';
import type {
  AuditEvent,
  EventDraft,
  LedgerEvent,
  LedgerStore,
  PersonalDataCodec,
  SessionState,
} from '../ledger/index.js';
import { openPersonal, protect, reveal, revealAppended } from './codec.js';
import { DataKeys } from './data-keys.js';
import { KeyEncryptionKeys, type KekSource } from './key-encryption.js';

export interface PersonalDataOptions {
  /** The server's secret, from which the default key-encryption key is derived. */
  subjectSecret: string;
  /** Explicit key-encryption keys; the first wraps new data keys. */
  keys?: readonly KekSource[];
  clock: Clock;
  /** Unwrapped data keys kept in memory; 0 turns the cache off. */
  cacheEntries: number;
}

export class PersonalData implements PersonalDataCodec {
  readonly keys: DataKeys;
  /**
   * Sessions' decrypted login claims, by session id, least recently used first. They never change
   * for a session, and a session whose data was erased is revoked before its keys are destroyed,
   * so a remembered entry is never used for a refresh that the revocation did not refuse first.
   */
  readonly #claims = new Map<string, Readonly<Record<string, unknown>>>();
  readonly #maxClaims: number;

  constructor(store: LedgerStore, options: PersonalDataOptions) {
    const keks = new KeyEncryptionKeys(options.subjectSecret, options.keys);
    this.keys = new DataKeys(store, keks, options.clock, options.cacheEntries);
    this.#maxClaims = options.cacheEntries;
  }

  protect(draft: EventDraft, now: number): Promise<EventDraft> {
    return protect(this.keys, draft, now);
  }

  reveal(events: readonly LedgerEvent[]): Promise<AuditEvent[]> {
    return reveal(this.keys, events);
  }

  revealAppended(event: LedgerEvent, draft: EventDraft): AuditEvent {
    return revealAppended(event, draft);
  }

  /**
   * The user claims a session's access tokens carry (from its `issued` event). A
   * `PersonalDataError` when they cannot be read (erased, expired or unavailable).
   */
  async sessionClaims(session: SessionState): Promise<Readonly<Record<string, unknown>>> {
    if (session.personal === undefined) return session.claims ?? {};
    // A session's login claims never change: decrypt them once per instance (bounded).
    const remembered = this.rememberedClaims(session.stream);
    if (remembered) return remembered;
    const claims = (await openPersonal(this.keys, session.personal)).claims ?? {};
    return this.rememberClaims(session.stream, claims);
  }

  /** Remembers the login claims of session `sid` (bounded, least recently used dropped first). */
  rememberClaims(
    sid: string,
    claims: Readonly<Record<string, unknown>>,
  ): Readonly<Record<string, unknown>> {
    const frozen = Object.freeze({ ...claims });
    if (this.#maxClaims > 0) {
      this.#claims.set(sid, frozen);
      for (const oldest of this.#claims.keys()) {
        if (this.#claims.size <= this.#maxClaims) break;
        this.#claims.delete(oldest);
      }
    }
    return frozen;
  }

  /** The login claims of session `sid` if this instance decrypted them before. */
  rememberedClaims(sid: string): Readonly<Record<string, unknown>> | undefined {
    const claims = this.#claims.get(sid);
    if (claims) {
      this.#claims.delete(sid);
      this.#claims.set(sid, claims);
    }
    return claims;
  }

  clear(): void {
    this.keys.clear();
    this.#claims.clear();
  }
}
