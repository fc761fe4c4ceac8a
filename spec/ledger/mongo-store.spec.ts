import { randomBytes } from 'node:crypto';
import { StoreUnavailableError } from '../../lib/errors.js';
import { rebuildProjection } from '../../lib/ledger/integrity.js';
import { Ledger } from '../../lib/ledger/ledger.js';
import { MongoStore } from '../../lib/ledger/mongo-store.js';
import type { SessionState } from '../../lib/ledger/projection.js';
import { fakeClock } from '../support/clock.js';
import { openTestDatabase, testServerUri, type TestDatabase } from '../support/db.js';
import { storeContract } from './contract.js';
import { issued, newId, refreshed, sessionEvents, T0 } from './drafts.js';
import { expect } from './expect.js';

describe('MongoStore', () => {
  let t: TestDatabase;
  before(async () => {
    t = await openTestDatabase('mongo-store');
  });
  after(async () => {
    await t.dispose();
  });

  /** A store on this file's database, with collections of its own. */
  function storeOnOwnCollections(): MongoStore {
    const suffix = randomBytes(4).toString('hex');
    return new MongoStore({
      db: t.db,
      collections: {
        events: `events_${suffix}`,
        state: `state_${suffix}`,
        checkpoints: `checkpoints_${suffix}`,
        archives: `archives_${suffix}`,
        archived: `archived_${suffix}`,
      },
    });
  }

  storeContract('mongodb', async () => {
    const store = storeOnOwnCollections();
    return { store, dispose: () => store.close() };
  });

  it('creates its indexes, (stream, seq) unique, and can be opened again', async () => {
    const store = new MongoStore({ db: t.db });
    await store.open();
    await store.open();
    const events = await t.db.collection('jwtconnect_events').indexes();
    const streamSeq = events.find((index) => index.name === 'stream_seq');
    expect(streamSeq).to.deep.include({ key: { stream: 1, seq: 1 }, unique: true });
    expect(events.map((index) => index.name)).to.include.members([
      'time_stream_seq',
      'sub_time_stream_seq',
      'stream_time_seq',
      'jtis_time_stream_seq',
      'type_time_stream_seq',
    ]);
    const state = await t.db.collection('jwtconnect_state').indexes();
    expect(state.find((index) => index.name === 'stream_seq')).to.deep.include({
      key: { stream: 1, seq: 1 },
      unique: true,
    });
    expect(state.map((index) => index.name)).to.include.members([
      'tokens_jti',
      'sub_kind_stream_seq',
      'sub_kind_refreshExp',
    ]);
    // Pending marks live beside the snapshots (found by `pending` for repair and the view).
    expect(state.find((index) => index.name === 'pending')).to.deep.include({
      key: { pending: 1 },
    });
  });

  it('fails closed with a StoreUnavailableError when no server answers', async () => {
    const store = new MongoStore({ uri: 'mongodb://127.0.0.1:1/', serverSelectionTimeoutMS: 300 });
    await expect(store.open())
      .to.be.rejectedWith(StoreUnavailableError)
      .and.eventually.have.property('code', 'ERR_STORE_UNAVAILABLE');
    const [event] = sessionEvents(newId('sid'), newId('sub'), T0);
    await expect(store.appendEvent(event!))
      .to.be.rejectedWith(StoreUnavailableError)
      .and.eventually.have.property('code', 'ERR_STORE_UNAVAILABLE');
    const ledger = new Ledger({ store, clock: fakeClock() });
    await expect(
      ledger.execute(newId('sid'), (_s, { now }) => issued('sub', now)),
    ).to.be.rejectedWith(StoreUnavailableError);
    await store.close();
  });

  it('leaves a host-provided database’s client open when closed', async () => {
    const store = storeOnOwnCollections();
    await store.open();
    await store.close();
    expect(await t.db.command({ ping: 1 })).to.include({ ok: 1 });
  });

  it('owns and closes the client it creates from a URI', async () => {
    const store = new MongoStore({ uri: testServerUri(), dbName: t.db.databaseName });
    await store.open();
    const [event] = sessionEvents(newId('sid'), newId('sub'), T0);
    await store.appendEvent(event!);
    expect(await store.readStream(event!.stream)).to.deep.equal([event]);
    await store.close();
    expect(
      await t.db.collection('jwtconnect_events').countDocuments({ stream: event!.stream }),
    ).to.equal(1);
  });

  it('uses the collection names it is given', async () => {
    const names = {
      events: newId('my_events'),
      state: newId('my_state'),
    };
    const store = new MongoStore({ db: t.db, collections: names });
    const ledger = new Ledger({ store, clock: fakeClock() });
    await ledger.open();
    const sid = newId('sid');
    await ledger.execute(sid, (_s, { now }) => issued(newId('sub'), now));
    expect(await t.db.collection(names.events).countDocuments({ stream: sid })).to.equal(1);
    expect(await t.db.collection(names.state).countDocuments({ stream: sid })).to.equal(1);
    // The snapshot only: the pending mark written before the append is gone.
    expect(
      await t.db.collection(names.state).countDocuments({ stream: sid, seq: { $lt: 0 } }),
    ).to.equal(0);
    expect(await t.db.collection('jwtconnect_events').countDocuments({ stream: sid })).to.equal(0);
  });

  it('lands racing executes from two stores on one database exactly once', async () => {
    const names = { events: newId('events'), state: newId('state') };
    const [a, b] = [1, 2].map(
      () =>
        new Ledger({
          store: new MongoStore({ db: t.db, collections: names }),
          clock: fakeClock(),
          // Each round at least one of the eight writers lands.
          maxAttempts: 8,
        }),
    );
    await a!.open();
    await b!.open();
    const sid = newId('sid');
    await a!.execute(sid, (_s, { now }) => issued(newId('sub'), now));
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? a! : b!).execute(sid, (state, { now }) =>
          state?.kind === 'session' ? refreshed(state, now) : null,
        ),
      ),
    );
    expect(results.map((r) => r!.event.seq).sort((x, y) => x - y)).to.deep.equal([
      2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    const events = await a!.store.readStream(sid);
    expect(events.map((e) => e.seq)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const [state] = await b!.store.loadStates([sid]);
    expect(state).to.include({ seq: 9, hash: events.at(-1)!.hash });
  });

  it('leaves equal snapshots alone on rebuild and rewrites one that differs only in a type', async () => {
    const names = { events: newId('events'), state: newId('state') };
    const store = new MongoStore({ db: t.db, collections: names });
    const ledger = new Ledger({ store, clock: fakeClock() });
    await ledger.open();
    const sids = [newId('sid'), newId('sid'), newId('sid')];
    for (const sid of sids) await ledger.execute(sid, (_s, { now }) => issued(newId('sub'), now));
    await ledger.execute(sids[0]!, (state, { now }) => refreshed(state as SessionState, now));
    const states = t.db.collection(names.state);
    const ids = async () =>
      Object.fromEntries(
        (await states.find({}).toArray()).map((doc) => [doc['stream'], String(doc._id)]),
      );
    const before = await ids();
    // Same seq and the same canonical JSON, but a string where the log gives a Date: not equal.
    const tampered = sids[1]!;
    const [original] = (await store.loadStates([tampered])) as SessionState[];
    await states.updateOne(
      { stream: tampered },
      { $set: { createdAt: original!.createdAt.toISOString() } },
    );

    expect(await rebuildProjection(store)).to.include({ streams: 3, events: 4, written: true });
    const after = await ids();
    expect(after[sids[0]!]).to.equal(before[sids[0]!]);
    expect(after[sids[2]!]).to.equal(before[sids[2]!]);
    expect(after[tampered]).to.not.equal(before[tampered]);
    expect(await store.loadStates([tampered])).to.deep.equal([original]);
    const [rewritten] = (await store.loadStates([tampered])) as SessionState[];
    expect(rewritten!.createdAt).to.be.instanceOf(Date);
    await store.close();
  });
});
