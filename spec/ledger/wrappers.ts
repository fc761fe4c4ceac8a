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

/** `store` whose `saveState` throws once after `arm()` is called; until then it passes through. */
export function saveStateFailsOnceArmed(store: LedgerStore): { store: LedgerStore; arm(): void } {
  let armed = false;
  return {
    store: delegate(store, {
      saveState: async (state, expectedSeq) => {
        if (!armed) return store.saveState(state, expectedSeq);
        armed = false;
        throw new SimulatedCrash(`the projection write of ${state.stream}@${state.seq} failed`);
      },
    }),
    arm: () => {
      armed = true;
    },
  };
}

/**
 * `store` whose `revoked` inserts wait until `release()`: the event reaches the store late, as an
 * insert retried across a failover or held by a paused process does. Other writes pass through.
 */
export function delayedRevocations(store: LedgerStore): {
  store: LedgerStore;
  /** Resolves once a `revoked` insert is being held. */
  held: Promise<void>;
  release(): Promise<void>;
} {
  const waiting: { event: Parameters<LedgerStore['appendEvent']>[0]; done: () => void }[] = [];
  const inserted: Promise<void>[] = [];
  let arrived = () => {};
  const held = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  return {
    store: delegate(store, {
      appendEvent: (event) => {
        if (event.type !== 'revoked') return store.appendEvent(event);
        return new Promise<void>((resolve, reject) => {
          waiting.push({
            event,
            done: () => {
              const insert = store.appendEvent(event).then(resolve, reject);
              inserted.push(insert);
            },
          });
          arrived();
        });
      },
    }),
    held,
    release: async () => {
      for (const entry of waiting.splice(0)) entry.done();
      await Promise.all(inserted);
    },
  };
}

/**
 * `store` whose `findOpenSessions` answers no caller until `parties` callers are waiting: the
 * callers' preceding steps have all happened by then, as with concurrent logins.
 */
export function openSessionsBarrier(store: LedgerStore, parties: number): LedgerStore {
  const waiting: (() => void)[] = [];
  let open = false;
  return delegate(store, {
    findOpenSessions: async (sub) => {
      if (open) return store.findOpenSessions(sub);
      if (waiting.length < parties - 1) {
        await new Promise<void>((resolve) => waiting.push(resolve));
      } else {
        open = true;
        for (const wake of waiting.splice(0)) wake();
      }
      return store.findOpenSessions(sub);
    },
  });
}

/** `store` that runs `hook` once, just before the first append of an event of `type`. */
export function beforeFirstAppend(
  store: LedgerStore,
  type: Parameters<LedgerStore['appendEvent']>[0]['type'],
  hook: () => Promise<void>,
): LedgerStore {
  let done = false;
  return delegate(store, {
    appendEvent: async (event) => {
      if (!done && event.type === type) {
        done = true;
        await hook();
      }
      return store.appendEvent(event);
    },
  });
}
