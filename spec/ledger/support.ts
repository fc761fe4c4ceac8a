/**
 * Shared pieces of the store contract suite (contract.ts and its parts).
 */
import { InvalidGrantError } from '../../lib/errors.js';
import type { LedgerEvent } from '../../lib/ledger/events.js';
import type { Decide, Ledger } from '../../lib/ledger/ledger.js';
import { fold, type SessionState, type StreamState } from '../../lib/ledger/projection.js';
import type { LedgerStore } from '../../lib/ledger/store.js';
import { issued, newId, refreshed } from './drafts.js';

export interface DisposableStore {
  store: LedgerStore;
  dispose(): Promise<void>;
}

export interface ContractContext {
  /** The store shared by the suite. */
  store(): LedgerStore;
  /** A store of its own, opened; the caller disposes of it. */
  open(): Promise<DisposableStore>;
  /** Runs `use` with a store of its own, opened, disposed afterwards. */
  fresh<T>(use: (store: LedgerStore) => Promise<T>): Promise<T>;
}

/** `stream#seq` of each event, for readable order assertions. */
export function positions(events: readonly LedgerEvent[]): string[] {
  return events.map((event) => `${event.stream}#${event.seq}`);
}

/** Reference order of the audit log: time, then stream, then seq. */
export function byPosition(a: LedgerEvent, b: LedgerEvent): number {
  return (
    a.time.getTime() - b.time.getTime() ||
    (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0) ||
    a.seq - b.seq
  );
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/**
 * A caller changing what a store handed out. Stores hand out copies (MongoDB) or frozen values
 * (memory), so the change either applies to the caller's copy or throws a TypeError; anything else
 * fails. Either way, the assertions that follow check that the store itself kept its value.
 */
export function tryToChange(change: () => void): void {
  try {
    change();
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
}

export function stateOf(events: readonly LedgerEvent[]): StreamState {
  const state = fold(events);
  if (!state) throw new Error('no events');
  return state;
}

/** A decision that rotates the session's current refresh token. */
export const rotate: Decide = (state, { now }) => {
  if (state?.kind !== 'session') throw new InvalidGrantError('no such session');
  return refreshed(state, now);
};

export async function issue(
  ledger: Ledger,
  sub = newId('sub'),
): Promise<{ sid: string; sub: string }> {
  const sid = newId('sid');
  await ledger.execute(sid, (_state, { now }) => issued(sub, now));
  return { sid, sub };
}

export async function session(store: LedgerStore, sid: string): Promise<SessionState> {
  const [state] = await store.loadStates([sid]);
  if (state?.kind !== 'session') throw new Error(`no session ${sid}`);
  return state;
}

export const BAD_IDS: unknown[] = [{ $ne: null }, ['x'], 42, '', null];
