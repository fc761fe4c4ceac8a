/**
 * Store latency: the store wrapped once, so every operation of every store (MongoDB, memory, a
 * host's own) is timed by the same code into the `jwtconnect.store.duration` histogram.
 *
 * A Proxy rather than a class listing the methods, so operations added to the store contract are
 * timed too. Methods run on the store itself (its private fields need it); a method replaced on
 * the wrapper after the fact is timed as it is then. Only calls answering a promise are timed: the
 * scans answer async iterables, read at the caller's pace.
 */
import type { Attributes, Histogram } from '@opentelemetry/api';
import { JwtConnectError } from '../errors.js';
import type { LedgerStore } from '../ledger/index.js';

type Method = (...args: unknown[]) => unknown;

export function timedStore(store: LedgerStore, histogram: Histogram): LedgerStore {
  const wrapped = new WeakMap<Method, Method>();
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      const method = value as Method;
      let timed = wrapped.get(method);
      if (!timed) {
        timed = timeCalls(target, method, property, histogram);
        wrapped.set(method, timed);
      }
      return timed;
    },
  });
}

function timeCalls(target: object, method: Method, name: string, histogram: Histogram): Method {
  const ok: Attributes = { 'db.operation.name': name };
  return function timed(...args: unknown[]): unknown {
    const start = performance.now();
    const result = method.apply(target, args);
    if (!(result instanceof Promise)) return result;
    return result.then(
      (answer: unknown) => {
        histogram.record((performance.now() - start) / 1000, ok);
        return answer;
      },
      (error: unknown) => {
        const code = error instanceof JwtConnectError ? error.code : 'ERR_UNEXPECTED';
        histogram.record((performance.now() - start) / 1000, { ...ok, 'error.type': code });
        throw error;
      },
    );
  };
}
