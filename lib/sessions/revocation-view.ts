/**
 * Bounded-staleness revocation checks: a local view of recent `revoked` events, refreshed from the
 * ledger in the background and before answering whenever it is older than `maxStalenessMs`. A
 * request then costs no database round trip, and every instance sees a revocation within the bound.
 * If the view cannot be refreshed within the bound, checks fail closed (503).
 *
 * Nothing unrecorded is accepted in this mode either: the first time an instance sees a token it
 * reads the store once to confirm the ledger issued it (and that it is not revoked); later requests
 * with that token are answered from the view alone.
 *
 * Only revocations that can still matter are kept: those younger than the longest token lifetime.
 * Event times come from each writer's clock; polls overlap by the clock tolerance plus a second so a
 * writer slightly behind is not missed.
 *
 * An insert can become visible long after its time (a write retried across a failover, a paused
 * process, replication lag), behind the time cursor. Such an insert never goes unseen: each sync
 * first reads the pending marks, which writers put down before stamping and inserting an event and
 * remove only once the event is projected, and reads again every stream that is marked, or was at
 * the previous sync. An event is either visible to the time query of the first sync after its mark
 * was removed, or its mark was seen by a sync and its stream is read until the mark is gone; and a
 * mark that came and went between two syncs belongs to an event stamped after the earlier sync
 * began, which the later sync's time query covers.
 */
import type { ResolvedConfig } from '../config.js';
import { InvalidTokenError, StoreUnavailableError } from '../errors.js';
import {
  coveredByCutOff,
  history,
  type Ledger,
  type LedgerEvent,
  type TokenHolder,
} from '../ledger/index.js';
import type { TokenClaims } from '../tokens/claims.js';
import { sessionEnd } from './lifetime.js';
import {
  StoreRevocationCheck,
  assertRecordedAndNotRevoked,
  claimsAsRecorded,
  sessionExpired,
  type RevocationCheck,
  type RevocationCheckOptions,
} from './revocation-check.js';

/** An access token confirmed as recorded: its session, subject, when they began, its claims. */
interface Recorded {
  sid: string;
  sub: string;
  /** The session's start, epoch seconds (what a subject cut-off is compared with). */
  authTime: number;
  /** The session's absolute end, epoch ms (`sessionMaxAge`). */
  sessionEndMs: number;
  /** As recorded: the token's expiry (NumericDate) and the session's scope and audience. */
  exp: number;
  scope?: string;
  aud?: string | string[];
}

export interface RevocationViewOptions extends RevocationCheckOptions {
  maxStalenessMs: number;
  /** How far back revocations matter: the longest token lifetime, in ms. */
  lookbackMs: number;
  /** Allowed clock difference between instances, in ms. */
  skewMs: number;
  onError?: (error: unknown) => void;
}

const PAGE = 500;

export class RevocationView implements RevocationCheck {
  readonly #ledger: Ledger;
  readonly #options: RevocationViewOptions;
  /** Revoked token ids and session ids, with the time of their event (for pruning). */
  readonly #tokens = new Map<string, number>();
  readonly #sessions = new Map<string, number>();
  readonly #cutOffs = new Map<string, Date>();
  readonly #seen = new Map<string, number>();
  readonly #recorded = new Map<string, Recorded>();
  /** Streams marked pending at the last sync: read again until their mark is gone. */
  #marked = new Set<string>();
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
    const recorded = await this.#confirmRecorded(claims);
    const cutOff = this.#cutOffs.get(claims.sub);
    if (
      this.#tokens.has(claims.jti) ||
      this.#sessions.has(claims.sid) ||
      (cutOff !== undefined && coveredByCutOff(recorded.authTime, cutOff))
    ) {
      throw new InvalidTokenError('the token is revoked', 'revoked');
    }
    if (recorded.sessionEndMs <= this.#options.clock()) throw sessionExpired();
  }

  /** Answered from the view, so the token's session is looked up on its own. */
  async assertNotRevokedFindingToken(
    claims: TokenClaims,
    jti: string,
  ): Promise<TokenHolder | null> {
    await this.assertNotRevoked(claims);
    return this.#ledger.findTokenHolder(jti);
  }

  /** One store read per token and instance: a token the ledger never issued is refused. */
  async #confirmRecorded(claims: TokenClaims): Promise<Recorded> {
    const known = this.#recorded.get(claims.jti);
    if (known && known.sid === claims.sid && known.sub === claims.sub) {
      // The same jti with other claims is a token the ledger never issued (re-signed).
      if (!claimsAsRecorded(claims, known, known)) {
        throw new InvalidTokenError('the token is not valid', 'unknown');
      }
      return known;
    }
    const { clock, sessionMaxAge } = this.#options;
    const { session, token } = await assertRecordedAndNotRevoked(
      this.#ledger,
      claims,
      clock(),
      sessionMaxAge,
    );
    const recorded: Recorded = {
      sid: session.stream,
      sub: session.sub,
      authTime: Math.floor(session.createdAt.getTime() / 1000),
      sessionEndMs: sessionEnd(session, sessionMaxAge) * 1000,
      exp: token.exp,
    };
    if (session.scope !== undefined) recorded.scope = session.scope;
    if (session.aud !== undefined) recorded.aud = session.aud;
    this.#recorded.set(claims.jti, recorded);
    return recorded;
  }

  async #sync(): Promise<void> {
    const { clock, lookbackMs, skewMs } = this.#options;
    const startedAt = clock();
    const from = new Date((this.#from ?? startedAt - lookbackMs) - skewMs - 1000);
    // Marks first, then the streams, then the time query: see the header for why this order.
    const marked = new Set((await this.#ledger.store.pendingStreams()).map((mark) => mark.stream));
    for (const stream of new Set([...this.#marked, ...marked])) {
      for (const event of await this.#ledger.store.readStream(stream)) this.#apply(event);
    }
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
    this.#marked = marked;
    this.#from = startedAt;
    this.#syncedAt = startedAt;
    this.#prune(startedAt - lookbackMs - skewMs - 1000);
    for (const [jti, { exp }] of this.#recorded)
      if (exp * 1000 < startedAt - skewMs) this.#recorded.delete(jti);
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

/**
 * The revocation check `revocation.maxStalenessMs` asks for: the store read on every call (0, the
 * default), or a view that bound, filled before this resolves.
 */
export async function startRevocationCheck(
  ledger: Ledger,
  config: Pick<
    ResolvedConfig,
    | 'revocation'
    | 'accessTokenTtl'
    | 'refreshTokenTtl'
    | 'clockTolerance'
    | 'sessionMaxAge'
    | 'clock'
    | 'logger'
  >,
): Promise<RevocationCheck> {
  const { maxStalenessMs } = config.revocation;
  const { sessionMaxAge, clock } = config;
  if (maxStalenessMs <= 0) return new StoreRevocationCheck(ledger, { sessionMaxAge, clock });
  const view = new RevocationView(ledger, {
    maxStalenessMs,
    lookbackMs: Math.max(config.accessTokenTtl, config.refreshTokenTtl) * 1000,
    skewMs: config.clockTolerance * 1000,
    sessionMaxAge,
    clock,
    onError: (error) => config.logger.warn('revocation view refresh failed', error),
  });
  await view.start();
  return view;
}
