/**
 * Failed-login throttling for the optional login route: each attempt counts against three counters,
 * each with its own limit of failures in a fixed window of `windowSeconds` from its first failure:
 *
 * - a username from one client address (`maxFailures`, default 5): stops a guesser at one address;
 * - a client address across usernames (`maxFailuresPerClient`, default 4 x `maxFailures`): stops
 *   password spraying from one address;
 * - a username from every address (`maxFailuresPerUsername`, default 20 x `maxFailures`, i.e. 100,
 *   the cap NIST SP 800-63B section 5.2.2 sets): stops distributed guessing, while a stranger's
 *   five wrong passwords no longer lock the user out of their own address (docs/security-throttle.md).
 *
 * Per instance by design: the state lives in this object (one per `auth.routes()` call), not in the
 * store, so N instances allow up to N times the limits. The map is bounded by `maxEntries` and never
 * forgets a counter that holds failures in its window: forgetting one would hand its failures back
 * to whoever made the map forget it. When it is full and nothing has expired, an attempt that needs
 * a new counter is refused (429) until the oldest window ends.
 */
import type { Clock } from '../../clock.js';
import { TooManyRequestsError } from '../../errors.js';

/**
 * Limits of the login route's throttle (`routes({ login: { throttle } })`), per instance.
 *
 * @example auth.routes({ login: { verifyPassword, throttle: { maxFailuresPerUsername: 50 } } })
 */
export interface ThrottleOptions {
  /** Failures allowed per username from one client address, per window. Default 5. */
  maxFailures?: number;
  /** Failures allowed per client address across usernames. Default 4 x `maxFailures`. */
  maxFailuresPerClient?: number;
  /** Failures allowed per username from all addresses. Default 20 x `maxFailures`. */
  maxFailuresPerUsername?: number;
  /** Window length in seconds. Default 900 (15 minutes). */
  windowSeconds?: number;
  /** Most counters remembered at once. Default 10000. */
  maxEntries?: number;
}

/** One thing an attempt is counted against, and the failures it allows per window. */
export interface Counter {
  key: string;
  limit: number;
  /** A username's counter, forgotten after a successful login. */
  user: boolean;
}

interface Window {
  start: number;
  failures: number;
}

const TOO_MANY = 'too many failed logins; try again later';

export class LoginThrottle {
  readonly #limits: { pair: number; client: number; username: number };
  readonly #windowMs: number;
  readonly #maxEntries: number;
  readonly #clock: Clock;
  /** Ordered by window start: a new or restarted window is (re)inserted at the end. */
  readonly #windows = new Map<string, Window>();

  constructor(clock: Clock, options: ThrottleOptions = {}) {
    this.#clock = clock;
    const pair = options.maxFailures ?? 5;
    this.#limits = {
      pair,
      client: options.maxFailuresPerClient ?? 4 * pair,
      username: options.maxFailuresPerUsername ?? 20 * pair,
    };
    this.#windowMs = (options.windowSeconds ?? 900) * 1000;
    this.#maxEntries = options.maxEntries ?? 10_000;
  }

  /** Counters remembered. */
  get size(): number {
    return this.#windows.size;
  }

  /** The counters of a login attempt by `username` (as typed) from address `client`. */
  countersFor(username: string, client: string): Counter[] {
    const user = username.normalize('NFKC').toLowerCase();
    return [
      { key: `user:${user}`, limit: this.#limits.username, user: true },
      // JSON keeps the pair unambiguous whatever characters the username holds.
      {
        key: `user-client:${JSON.stringify([user, client])}`,
        limit: this.#limits.pair,
        user: true,
      },
      { key: `client:${client}`, limit: this.#limits.client, user: false },
    ];
  }

  /**
   * Counts an attempt against every counter before the password is checked, so concurrent attempts
   * cannot all slip under a limit; `refund` or `forgive` it afterwards. Throws 429, counting and
   * remembering nothing, when a counter has used up its window (with the seconds until the latest
   * such window ends) or when new counters find no room.
   */
  take(counters: readonly Counter[]): void {
    const now = this.#clock();
    let blockedUntil = -Infinity;
    let missing = 0;
    for (const { key, limit } of counters) {
      const window = this.#active(key, now);
      if (window === undefined) missing++;
      else if (window.failures >= limit) {
        blockedUntil = Math.max(blockedUntil, window.start + this.#windowMs);
      }
    }
    if (blockedUntil > -Infinity) throw this.#tooMany(blockedUntil, now);
    if (missing > 0) this.#makeRoom(missing, now);
    for (const { key } of counters) {
      let window = this.#windows.get(key);
      if (window === undefined) {
        window = { start: now, failures: 0 };
        this.#windows.set(key, window);
      }
      window.failures++;
    }
  }

  /** Gives back an attempt that was neither a success nor a wrong password (e.g. a 503). */
  refund(counters: readonly Counter[]): void {
    for (const { key } of counters) {
      const window = this.#windows.get(key);
      if (window === undefined) continue;
      window.failures--;
      // A window with no failures says nothing; dropping it keeps the room for counters that do.
      if (window.failures <= 0) this.#windows.delete(key);
    }
  }

  /** After a successful login: the attempt is given back and the username's failures forgotten. */
  forgive(counters: readonly Counter[]): void {
    this.refund(counters);
    for (const { key, user } of counters) if (user) this.#windows.delete(key);
  }

  /** The key's window if it has not ended; an ended one is dropped. */
  #active(key: string, now: number): Window | undefined {
    const window = this.#windows.get(key);
    if (window === undefined || now - window.start < this.#windowMs) return window;
    this.#windows.delete(key);
    return undefined;
  }

  /** Prunes expired windows (the oldest come first) until `needed` places are free, or refuses. */
  #makeRoom(needed: number, now: number): void {
    for (const [key, window] of this.#windows) {
      if (this.#windows.size + needed <= this.#maxEntries) return;
      if (now - window.start < this.#windowMs) break;
      this.#windows.delete(key);
    }
    if (this.#windows.size + needed <= this.#maxEntries) return;
    const oldest = this.#windows.values().next();
    const end = oldest.done === true ? now : oldest.value.start + this.#windowMs;
    throw this.#tooMany(end, now);
  }

  #tooMany(end: number, now: number): TooManyRequestsError {
    return new TooManyRequestsError(TOO_MANY, Math.max(1, Math.ceil((end - now) / 1000)));
  }
}
