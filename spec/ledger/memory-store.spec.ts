import { StoreUnavailableError } from '../../lib/errors.js';
import { MemoryStore } from '../../lib/ledger/memory-store.js';
import { storeContract } from './contract.js';
import { Ledger } from '../../lib/ledger/ledger.js';
import type { SessionState } from '../../lib/ledger/projection.js';
import { fakeClock } from '../support/clock.js';
import { sessionEvents, newId, T0 } from './drafts.js';
import { expect } from './expect.js';
import { collect, issue, rotate, session } from './support.js';

storeContract('memory', async () => {
  const store = new MemoryStore();
  return { store, dispose: () => store.close() };
});

describe('MemoryStore', () => {
  it('fails closed with a StoreUnavailableError once closed', async () => {
    const store = new MemoryStore();
    await store.open();
    await store.close();
    const [event] = sessionEvents(newId('sid'), newId('sub'), T0);
    await expect(store.appendEvent(event!))
      .to.be.rejectedWith(StoreUnavailableError)
      .and.eventually.have.property('code', 'ERR_STORE_UNAVAILABLE');
    await expect(store.loadStates(['x'])).to.be.rejectedWith(StoreUnavailableError);
  });

  it('keeps separate instances apart', async () => {
    const [one, two] = [new MemoryStore(), new MemoryStore()];
    const stream = newId('sid');
    const [event] = sessionEvents(stream, newId('sub'), T0);
    await one.appendEvent(event!);
    expect(await two.readStream(stream)).to.deep.equal([]);
    expect(await one.readStream(stream)).to.deep.equal([event]);
  });

  it('hands out what it stores, deeply frozen, without copying it on each read', async () => {
    const store = new MemoryStore();
    const ledger = new Ledger({ store, clock: fakeClock() });
    await ledger.open();
    const { sid, sub } = await issue(ledger);
    await ledger.execute(sid, rotate);
    const state = await session(store, sid);
    expect(await session(store, sid)).to.equal(state);
    expect((await store.findOpenSessions(sub))[0]).to.equal(state);
    expect(await store.findSessionByToken(state.refreshJti)).to.equal(state);
    expect((await collect(store.scanStates())).find((s) => s.stream === sid)).to.equal(state);
    const [first] = await store.readStream(sid);
    expect((await store.queryEvents({ stream: sid, limit: 1 }))[0]).to.equal(first);
    expect((await collect(store.scanEvents())).find((e) => e.stream === sid)).to.equal(first);

    const [stateBefore, eventBefore] = [structuredClone(state), structuredClone(first)];
    expect(() => ((state as { seq: number }).seq = 0)).to.throw(TypeError);
    expect(() => (state.tokens[0]!.exp = 0)).to.throw(TypeError);
    expect(() => state.tokens.push(state.tokens[0]!)).to.throw(TypeError);
    expect(() => state.createdAt.setTime(0)).to.throw(TypeError);
    expect(() => (first!.meta.reason = 'forged')).to.throw(TypeError);
    expect(() => first!.time.setUTCFullYear(2000)).to.throw(TypeError);
    expect(await session(store, sid)).to.deep.equal(stateBefore);
    expect((await store.readStream(sid))[0]).to.deep.equal(eventBefore);
  });

  it('shares the unchanged parts of a state with the state it was evolved from', async () => {
    const store = new MemoryStore();
    const ledger = new Ledger({ store, clock: fakeClock() });
    await ledger.open();
    const { sid } = await issue(ledger);
    const before = await session(store, sid);
    await ledger.execute(sid, rotate);
    const after = await session(store, sid);
    expect(after).to.not.equal(before);
    expect(after.tokens[0]).to.equal(before.tokens[0]);
    expect(after.login).to.equal(before.login);
    expect(after.createdAt).to.equal(before.createdAt);
    const rotated = after.tokens[1] as SessionState['tokens'][number];
    expect(rotated).to.not.equal(before.tokens[1]);
    expect(rotated.replacedBy).to.equal(after.refreshJti);
    expect(before.tokens[1]!.replacedBy).to.equal(undefined);
  });
});
