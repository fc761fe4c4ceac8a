/**
 * The ledger behind a plugin instance, for the plugin's own specs and tools. Deliberately not
 * exported from the package entry point (`lib/index.ts`; package.json's `exports` opens nothing
 * else): the ledger and its stores can change without a breaking release, and hosts use the
 * `auth.audit.*` and `auth.sessions.*` methods instead.
 */
import type { JwtConnect } from './jwtconnect.js';
import type { Ledger } from './ledger/index.js';

const ledgers = new WeakMap<JwtConnect, Ledger>();

/** Records the ledger `jwtconnect()` opened for `auth`. */
export function attachLedger(auth: JwtConnect, ledger: Ledger): void {
  ledgers.set(auth, ledger);
}

/** The ledger behind a `jwtconnect()` instance. */
export function ledgerOf(auth: JwtConnect): Ledger {
  const ledger = ledgers.get(auth);
  if (ledger === undefined) throw new TypeError('ledgerOf() takes what jwtconnect() returned');
  return ledger;
}
