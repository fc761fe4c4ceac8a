/**
 * Failed-login throttling for the optional login route: at most `maxFailures` failures per key
 * (a username, an IP address) in a fixed window of `windowSeconds` from the key's first failure.
 *
 * Per instance by design: the state lives in this object (one per `auth.routes()` call), not in the
 * store, so N instances allow up to N times the limit. The map is bounded: when it is full, expired
 * windows are pruned, then the oldest windows are evicted.
 */
import type { Clock } from '../../clock.js';
import { TooManyRequestsError } from '../../errors.js';

/** The `login.throttle` route option: how many failed logins a username or client IP may make. */
export interface ThrottleOptions {
  /** Failures allowed per key and window. Default 5. */
  maxFailures?: number;
  /** Window length in seconds. Default 900 (15 minutes). */
  windowSeconds?: number;
  /** Most keys remembered at once. Default 10000. */
  maxEntries?: number;
}

interface Window {
  start: number;
  failures: number;
}

export class LoginThrottle {
  readonly #maxFailures: number;
  readonly #windowMs: number;
  readonly #maxEntries: number;
  readonly #clock: Clock;
  readonly #windows = new Map<string, Window>();

  constructor(clock: Clock, options: ThrottleOptions = {}) {
    this.#clock = clock;
    this.#maxFailures = options.maxFailures ?? 5;
    this.#windowMs = (options.windowSeconds ?? 900) * 1000;
    this.#maxEntries = options.maxEntries ?? 10_000;
  }

  /** Keys currently remembered. */
  get size(): number {
    return this.#windows.size;
  }

  /**
   * Counts an attempt against every key before the password is checked, so concurrent attempts
   * cannot all slip under the limit; `refund` or `forgive` it afterwards. Throws 429 when any key
   * has used up its window, with the seconds until that window ends.
   */
  take(keys: readonly string[]): void {
    const now = this.#clock();
    const windows = keys.map((key) => this.#window(key, now));
    const blocked = windows.filter((window) => window.failures >= this.#maxFailures);
    if (blocked.length > 0) {
      const end = Math.max(...blocked.map((window) => window.start + this.#windowMs));
      throw new TooManyRequestsError(
        'too many failed logins; try again later',
        Math.max(1, Math.ceil((end - now) / 1000)),
      );
    }
    for (const window of windows) window.failures++;
  }

  /** Gives back an attempt that was neither a success nor a wrong password (e.g. a 503). */
  refund(keys: readonly string[]): void {
    for (const key of keys) {
      const window = this.#windows.get(key);
      if (window && window.failures > 0) window.failures--;
    }
  }

  /** After a successful login: the attempt is given back and `key`'s failures are forgotten. */
  forgive(keys: readonly string[], key: string): void {
    this.refund(keys);
    this.#windows.delete(key);
  }

  #window(key: string, now: number): Window {
    const existing = this.#windows.get(key);
    if (existing && now - existing.start < this.#windowMs) return existing;
    // A new or expired window goes to the end of the map, which keeps it ordered by start.
    this.#windows.delete(key);
    if (this.#windows.size >= this.#maxEntries) this.#makeRoom(now);
    const window = { start: now, failures: 0 };
    this.#windows.set(key, window);
    return window;
  }

  #makeRoom(now: number): void {
    for (const [key, window] of this.#windows) {
      if (now - window.start < this.#windowMs) break;
      this.#windows.delete(key);
    }
    const excess = this.#windows.size - this.#maxEntries + 1;
    let evicted = 0;
    for (const key of this.#windows.keys()) {
      if (evicted++ >= excess) break;
      this.#windows.delete(key);
    }
  }
}
