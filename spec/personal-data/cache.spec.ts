import { expect } from 'chai';
import { MemoryStore } from '../../lib/ledger/memory-store.js';
import type { LedgerStore } from '../../lib/ledger/store.js';
import { KEY_CACHE_TTL_MS } from '../../lib/personal-data/data-keys.js';
import { fakeClock } from '../support/clock.js';
import { testPlugin } from '../support/plugin.js';
import { ZELDA, request } from './support.js';

const DATA_KEY_METHODS = new Set(['insertDataKey', 'findDataKey', 'liveDataKeys']);

/** `store`, counting calls of its data-key methods. */
function counting(store: LedgerStore): { store: LedgerStore; calls: string[] } {
  const calls: string[] = [];
  const proxy = new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (DATA_KEY_METHODS.has(String(property))) calls.push(String(property));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, calls };
}

describe('data key cache', () => {
  it('lets refreshes and further logins of a subject read no data key from the store', async () => {
    const { store, calls } = counting(new MemoryStore());
    const p = await testPlugin(null, { store: { custom: store } });
    try {
      let pair = await p.auth.issue(ZELDA, { source: 'saml', ctx: request('192.0.2.1', 'UA') });
      expect(calls).to.deep.equal(['liveDataKeys', 'insertDataKey']);
      calls.length = 0;
      for (let i = 0; i < 5; i++) {
        p.clock.advance(1000);
        pair = await p.auth.refresh(pair.refresh_token, request('192.0.2.1', 'UA'));
      }
      await p.auth.issue(ZELDA, { source: 'saml', ctx: request('192.0.2.1', 'UA') });
      expect(calls).to.deep.equal([]);
    } finally {
      await p.auth.close();
    }
  });

  it('stops using a key another instance destroyed once the cache bound has passed', async () => {
    const shared = new MemoryStore();
    const clock = fakeClock();
    const a = await testPlugin(null, { store: { custom: shared } }, clock);
    const b = await testPlugin(null, { store: { custom: shared } }, clock);
    try {
      await b.auth.issue(ZELDA, { source: 'saml', ctx: request('192.0.2.1', 'UA') });
      await a.auth.erase(ZELDA);
      clock.advance(KEY_CACHE_TTL_MS);
      // B writes the next login's data under a new key, which A reads.
      await b.auth.issue(ZELDA, { source: 'saml', ctx: request('192.0.2.2', 'UA') });
      const sub = a.auth.subjectOf(ZELDA);
      const issued = (await a.auth.audit.history({ sub, type: 'issued' })).events;
      expect(issued.map((event) => event.personal)).to.deep.equal(['erased', 'decrypted']);
      expect(issued[1]?.meta.ip).to.equal('192.0.2.2');
    } finally {
      await a.auth.close();
      await b.auth.close();
    }
  });
});
