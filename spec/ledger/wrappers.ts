/**
 * Store wrappers for the ledger specs: a spy that records which methods were called, and a store
 * whose `saveState` fails once, to simulate a process that dies between the append and the
 * projection update.
 */
import type { LedgerStore } from '../../lib/ledger/store.js';

type Method = keyof LedgerStore;

/** Delegates every call to `store`, letting `override` replace single methods. */
function delegate(store: LedgerStore, override: Partial<LedgerStore>): LedgerStore {
  return new Proxy(store, {
    get(target, property) {
      if (Object.hasOwn(override, property)) return override[property as Method];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function'
        ? (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(target, args)
        : value;
    },
  });
}

/** `store`, plus the list of method names called on it. */
export function spyStore(store: LedgerStore): { store: LedgerStore; calls: Method[] } {
  const calls: Method[] = [];
  const spy = new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(property as Method);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: spy, calls };
}

export class SimulatedCrash extends Error {
  override name = 'SimulatedCrash';
}

/** `store` whose next `saveState` throws: the event is appended, the projection is not updated. */
export function crashBeforeProjection(store: LedgerStore): LedgerStore {
  let crashed = false;
  return delegate(store, {
    saveState: async (state, expectedSeq) => {
      if (crashed) return store.saveState(state, expectedSeq);
      crashed = true;
      throw new SimulatedCrash(`process died before projecting ${state.stream}@${state.seq}`);
    },
  });
}

/** `store` whose next `appendEvent` throws: the pending mark is written, the event is not. */
export function crashBeforeAppend(store: LedgerStore): LedgerStore {
  let crashed = false;
  return delegate(store, {
    appendEvent: async (event) => {
      if (crashed) return store.appendEvent(event);
      crashed = true;
      throw new SimulatedCrash(`process died before appending ${event.stream}@${event.seq}`);
    },
  });
}
