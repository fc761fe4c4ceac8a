/**
 * The one source of time. Everything that reads the time takes a `Clock`, so tests freeze and
 * advance it instead of sleeping.
 */
export type Clock = () => number;

/** Milliseconds since the epoch, from the system. */
export const systemClock: Clock = () => Date.now();

/** Whole seconds since the epoch, as JWT NumericDate (RFC 7519 section 2). */
export function epochSeconds(clock: Clock): number {
  return Math.floor(clock() / 1000);
}
