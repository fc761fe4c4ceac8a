/**
 * Bounded-staleness revocation checks: a local view of recent `revoked` events, refreshed from the
 * ledger in the background and before answering whenever it is older than `maxStalenessMs`. A
 * request then costs no database round trip, and every instance sees a revocation within the bound.
 * If the view cannot be refreshed within the bound, checks fail closed (503).
 *
 * Only revocations that can still matter are kept: those younger than the longest token lifetime.
 * Event times come from each writer's clock; polls overlap by the clock tolerance plus a second so a
 * writer slightly behind, or an insert that took a moment, is not missed.
 */
import type { Clock } from '../clock.js';
import { InvalidTokenError, StoreUnavailableError } from '../errors.js';
import { history, type LedgerEvent, type Ledger } from '../ledger/index.js';
import type { TokenClaims } from '../tokens/claims.js';
import { authTimeCovered } from './access.js';

export interface RevocationViewOptions {
  maxStalenessMs: number;
  /** How far back revocations matter: the longest token lifetime, in ms. */
  lookbackMs: number;
  /** Allowed clock difference between instances, in ms. */
  skewMs: number;
  clock: Clock;
  onError?: (error: unknown) => void;
}

const PAGE = 500;

export class RevocationView {
  readonly #ledger: Ledger;
  readonly #options: RevocationViewOptions;
  /** Revoked token ids and session ids, with the time of their event (for pruning). */
  readonly #tokens = new Map<string, number>();
  readonly #sessions = new Map<string, number>();
  readonly #cutOffs = new Map<string, Date>();
  readonly #seen = new Map<string, number>();
  #syncedAt = Number.NEGATIVE_INFINITY;
  #from: number | undefined;
  #inFlight: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(ledger: Ledger, options: RevocationViewOptions) {
    this.#ledger = ledger;
    this.#options = options;
  }

  async start(): Promise<void> {
    await this.sync();
    const every = Math.max(25, Math.floor(this.#options.maxStalenessMs / 2));
    this.#timer = setInterval(() => {
      this.sync().catch((error: unknown) => this.#options.onError?.(error));
    }, every);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Refreshes the view from the ledger; concurrent callers share one refresh. */
  sync(): Promise<void> {
    this.#inFlight ??= this.#sync().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async assertNotRevoked(claims: TokenClaims): Promise<void> {
    if (this.#options.clock() - this.#syncedAt > this.#options.maxStalenessMs) {
      try {
        await this.sync();
      } catch (error) {
        throw new StoreUnavailableError('revocations cannot be checked', { cause: error });
      }
    }
    if (
      this.#tokens.has(claims.jti) ||
      this.#sessions.has(claims.sid) ||
      authTimeCovered(claims, this.#cutOffs.get(claims.sub))
    ) {
      throw new InvalidTokenError('the token is revoked', 'revoked');
    }
  }

  async #sync(): Promise<void> {
    const { clock, lookbackMs, skewMs } = this.#options;
    const startedAt = clock();
    const from = new Date((this.#from ?? startedAt - lookbackMs) - skewMs - 1000);
    let cursor: string | undefined;
    do {
      const page = await history(this.#ledger, {
        type: 'revoked',
        from,
        limit: PAGE,
        ...(cursor !== undefined && { cursor }),
      });
      for (const event of page.events) this.#apply(event);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    this.#from = startedAt;
    this.#syncedAt = startedAt;
    this.#prune(startedAt - lookbackMs - skewMs - 1000);
  }

  #apply(event: LedgerEvent): void {
    const key = `${event.stream}\u0000${event.seq}`;
    if (event.type !== 'revoked' || this.#seen.has(key)) return;
    const time = event.time.getTime();
    this.#seen.set(key, time);
    const { target } = event;
    if (target.kind === 'token') this.#tokens.set(target.jti, time);
    else if (target.kind === 'session') this.#sessions.set(event.stream, time);
    else {
      const previous = this.#cutOffs.get(event.sub);
      if (!previous || previous < target.before) this.#cutOffs.set(event.sub, target.before);
    }
  }

  #prune(before: number): void {
    for (const map of [this.#tokens, this.#sessions, this.#seen]) {
      for (const [key, time] of map) if (time < before) map.delete(key);
    }
    for (const [sub, cutOff] of this.#cutOffs)
      if (cutOff.getTime() < before) this.#cutOffs.delete(sub);
  }
}
