import * as chai from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { InvalidGrantError } from '../../lib/errors.js';
import { MemoryStore } from '../../lib/ledger/memory-store.js';
import { MongoStore } from '../../lib/ledger/mongo-store.js';
import type { LedgerStore } from '../../lib/ledger/store.js';
import { ledgerOf } from '../../lib/internals.js';
import { testPlugin, type TestPlugin } from '../support/plugin.js';
import { DISTINCT, ZELDA, onBothStores, request } from './support.js';

chai.use(chaiAsPromised);
const { expect } = chai;

class SimulatedCrash extends Error {
  override name = 'SimulatedCrash';
}

/** `store`, whose method `name` throws once when `when` says so: a process dying there. */
function crashOnce<K extends keyof LedgerStore>(
  store: LedgerStore,
  name: K,
  when: (...args: Parameters<LedgerStore[K]>) => boolean,
): LedgerStore {
  let crashed = false;
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (property === name && !crashed && when(...(args as Parameters<LedgerStore[K]>))) {
          crashed = true;
          return Promise.reject(new SimulatedCrash(`died in ${String(name)}`));
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

onBothStores('auth.erase() interrupted', (db) => {
  let p: TestPlugin;
  let round = 0;
  let user: typeof ZELDA;
  let refreshToken: string;

  async function start(wrap: (store: LedgerStore) => LedgerStore) {
    const database = db();
    const store = database ? new MongoStore({ db: database }) : new MemoryStore();
    p = await testPlugin(database, { store: { custom: wrap(store) } });
    user = { ...ZELDA, id: `${ZELDA.id}-crash-${(round += 1)}` };
    const ctx = request(DISTINCT.ips[0] as string, DISTINCT.agents[0] as string);
    refreshToken = (await p.auth.issue(user, { source: 'saml', ctx })).refresh_token;
    p.clock.advance(60_000);
  }
  afterEach(async () => {
    await p.auth.close();
  });

  async function expectErasedCleanly(sub: string) {
    await expect(p.auth.refresh(refreshToken)).to.be.rejectedWith(InvalidGrantError);
    expect((await p.auth.audit.verify()).ok).to.equal(true);
    expect((await p.auth.audit.rebuild({ dryRun: true })).differences).to.deep.equal([]);
    const events = (await p.auth.audit.history({ sub })).events;
    expect(events[0]).to.deep.include({ type: 'issued', personal: 'erased' });
    expect(events.at(-1)?.type).to.equal('erased');
    expect(await p.auth.erase({ sub })).to.include({ erased: false });
  }

  it('after the revocation, before any key is destroyed: sessions are refused, and a second call finishes', async () => {
    await start((store) => crashOnce(store, 'destroyDataKey', () => true));
    const sub = p.auth.subjectOf(user);
    await expect(p.auth.erase(user)).to.be.rejectedWith(SimulatedCrash);
    await expect(p.auth.refresh(refreshToken)).to.be.rejectedWith(InvalidGrantError);
    expect((await p.auth.audit.history({ sub })).events[0]?.personal).to.equal('decrypted');
    expect(await p.auth.erase(user)).to.include({ erased: true, keysDestroyed: 1 });
    await expectErasedCleanly(sub);
  });

  it('after the keys are destroyed, before the erased event: data reads erased, a second call records it', async () => {
    await start((store) => crashOnce(store, 'appendEvent', (event) => event.type === 'erased'));
    const sub = p.auth.subjectOf(user);
    await expect(p.auth.erase(user)).to.be.rejectedWith(SimulatedCrash);
    await ledgerOf(p.auth).repair();
    const history = (await p.auth.audit.history({ sub })).events;
    expect(history.map((event) => event.type)).to.deep.equal(['issued', 'revoked']);
    expect(history[0]?.personal).to.equal('erased');
    expect(await p.auth.erase(user)).to.include({ erased: true, keysDestroyed: 0 });
    await expectErasedCleanly(sub);
  });
});
