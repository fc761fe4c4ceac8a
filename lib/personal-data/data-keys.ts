/**
 * Data keys: one random AES-256 key per subject and period, stored only wrapped by a key-encryption
 * key, and a bounded cache of unwrapped ones so that issue and refresh rarely read the store.
 *
 * Cached keys are trusted for `KEY_CACHE_TTL_MS` at most: a key destroyed by another instance (or
 * the CLI) is forgotten here within that bound. The instance that destroys a key forgets it at
 * once. Audit reads skip the cache (`fresh`), so they show an erasure as soon as it happened.
 *
 * An unwrapped key is held as a non-extractable WebCrypto key, imported once: jose encrypts and
 * decrypts through WebCrypto, and given raw bytes or a secret `KeyObject` it imports the key again
 * on every call, which cost about a third of each event's encryption.
 */
import { randomBytes, webcrypto } from 'node:crypto';
import type { CryptoKey } from 'jose';
import type { Clock } from '../clock.js';
import { PersonalDataError } from '../errors.js';
import type { DataKeyRecord, LedgerStore } from '../ledger/index.js';
import type { KeyEncryptionKeys } from './key-encryption.js';
import { periodOf } from './periods.js';

/** How long an unwrapped key is used without asking the store whether it still exists. */
export const KEY_CACHE_TTL_MS = 60_000;
export const DEFAULT_KEY_CACHE_ENTRIES = 10_000;

export interface OpenKey {
  kid: string;
  sub: string;
  period: string;
  /** AES-256-GCM (`dir` + `A256GCM`, RFC 7518 section 5.3), usable only to encrypt and decrypt. */
  key: CryptoKey;
}

interface Cached {
  open: OpenKey;
  until: number;
}

export class DataKeys {
  readonly #store: LedgerStore;
  /** null: this reader has none (a CLI without the secret), so it can destroy keys only. */
  readonly #keks: KeyEncryptionKeys | null;
  readonly #clock: Clock;
  readonly #maxEntries: number;
  /** kid -> key, in least recently used order (a hit moves the entry to the end). */
  readonly #cache = new Map<string, Cached>();
  /** `sub period` -> kid of the key new data of that subject and period is written under. */
  readonly #writing = new Map<string, string>();
  /** Keys being found or made, so a burst of logins of one subject makes one key, not many. */
  readonly #inflight = new Map<string, Promise<OpenKey>>();

  constructor(
    store: LedgerStore,
    keks: KeyEncryptionKeys | null,
    clock: Clock,
    maxEntries: number,
  ) {
    this.#store = store;
    this.#keks = keks;
    this.#clock = clock;
    this.#maxEntries = maxEntries;
  }

  /** The key for new personal data of `sub` at time `now`: its period's, made if there is none. */
  async forWriting(sub: string, now: number): Promise<OpenKey> {
    const period = periodOf(now);
    const slot = `${sub} ${period}`;
    const kid = this.#writing.get(slot);
    const cached = kid === undefined ? undefined : this.#hit(kid);
    if (cached) return cached;
    let pending = this.#inflight.get(slot);
    if (!pending) {
      pending = this.#findOrMake(sub, period).finally(() => this.#inflight.delete(slot));
      this.#inflight.set(slot, pending);
    }
    const open = await pending;
    this.#writing.set(slot, open.kid);
    return open;
  }

  /**
   * The key `kid`, or a `PersonalDataError` saying why not (`erased`, `expired`, `unavailable`).
   * With `fresh`, the store is asked even when the key is cached.
   */
  async forReading(kid: string, options: { fresh?: boolean } = {}): Promise<OpenKey> {
    const cached = options.fresh ? undefined : this.#hit(kid);
    if (cached) return cached;
    const record = await this.#store.findDataKey(kid);
    if (!record) throw new PersonalDataError('the data key is missing', 'unavailable');
    if (record.wrapped === undefined) {
      this.#forget(kid);
      const reason = record.destroyed?.reason ?? 'unavailable';
      throw new PersonalDataError(`the personal data was ${reason}`, reason);
    }
    return this.#remember(record, await this.#kekSet().unwrap(kid, record.wrapped));
  }

  /** Destroys the given keys in the store, forgetting them here first. */
  async destroy(records: readonly DataKeyRecord[], reason: 'erased' | 'expired'): Promise<void> {
    const at = new Date(this.#clock());
    for (const record of records) {
      this.#forget(record.kid);
      await this.#store.destroyDataKey(record.kid, { reason, at });
    }
  }

  /** Forgets every cached key of `sub` (before destroying them). */
  forgetSubject(sub: string): void {
    for (const [kid, cached] of this.#cache) if (cached.open.sub === sub) this.#forget(kid);
  }

  clear(): void {
    this.#cache.clear();
    this.#writing.clear();
  }

  async #findOrMake(sub: string, period: string): Promise<OpenKey> {
    // Two instances may both make one; both keys are then live and either opens what it wrote.
    const [existing] = await this.#store.liveDataKeys({ sub, period });
    if (existing?.wrapped !== undefined) {
      return this.#remember(existing, await this.#kekSet().unwrap(existing.kid, existing.wrapped));
    }
    const kid = randomBytes(16).toString('base64url');
    const key = randomBytes(32);
    const record: DataKeyRecord = {
      kid,
      sub,
      period,
      createdAt: new Date(this.#clock()),
      wrapped: await this.#kekSet().wrap(kid, key),
    };
    await this.#store.insertDataKey(record);
    return this.#remember(record, key);
  }

  #kekSet(): KeyEncryptionKeys {
    if (!this.#keks) throw new PersonalDataError('no key-encryption key is configured');
    return this.#keks;
  }

  #hit(kid: string): OpenKey | undefined {
    const cached = this.#cache.get(kid);
    if (!cached) return undefined;
    this.#cache.delete(kid);
    if (cached.until <= this.#clock()) return undefined;
    this.#cache.set(kid, cached);
    return cached.open;
  }

  async #remember(record: DataKeyRecord, key: Uint8Array): Promise<OpenKey> {
    const open: OpenKey = {
      kid: record.kid,
      sub: record.sub,
      period: record.period,
      key: await webcrypto.subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt', 'decrypt']),
    };
    // The imported key is a copy that cannot be exported; the bytes are not needed any more.
    key.fill(0);
    if (this.#maxEntries === 0) return open;
    this.#cache.delete(record.kid);
    this.#cache.set(record.kid, { open, until: this.#clock() + KEY_CACHE_TTL_MS });
    for (const oldest of this.#cache.keys()) {
      if (this.#cache.size <= this.#maxEntries) break;
      this.#forget(oldest);
    }
    return open;
  }

  #forget(kid: string): void {
    const cached = this.#cache.get(kid);
    this.#cache.delete(kid);
    if (cached) {
      const slot = `${cached.open.sub} ${cached.open.period}`;
      if (this.#writing.get(slot) === kid) this.#writing.delete(slot);
    }
  }
}
