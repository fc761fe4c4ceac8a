import { StoreUnavailableError } from '../../lib/errors.js';
import { MemoryStore } from '../../lib/ledger/memory-store.js';
import { storeContract } from './contract.js';
import { sessionEvents, newId, T0 } from './drafts.js';
import { expect } from './expect.js';

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
});
