/**
 * Crashes between the append and the projection update, on MongoDB: the event is durable, the
 * projection is behind, and the next start (or the next writer) must bring it up to date
 * (an acknowledged revocation survives restarts).
 */
import type { IssuedEvent, RefreshedEvent } from '../../lib/ledger/events.js';
import { subjectStream } from '../../lib/ledger/events.js';
import { Ledger } from '../../lib/ledger/ledger.js';
import { MongoStore } from '../../lib/ledger/mongo-store.js';
import { tokenStatus, type SessionState } from '../../lib/ledger/projection.js';
import { fakeClock, type FakeClock } from '../support/clock.js';
import { openTestDatabase, type TestDatabase } from '../support/db.js';
import { issued, newId, refreshed, revoked } from './drafts.js';
import { expect } from './expect.js';
import { crashBeforeProjection, crashBeforeAppend, SimulatedCrash } from './wrappers.js';

describe('ledger repair after a crash [mongodb]', () => {
  let t: TestDatabase;
  let clock: FakeClock;
  before(async () => {
    t = await openTestDatabase('repair');
  });
  after(async () => {
    await t.dispose();
  });
  beforeEach(() => {
    clock = fakeClock();
  });

  /** A process: its own store and ledger on the shared database, opened like at start-up. */
  async function instance(): Promise<Ledger> {
    const ledger = new Ledger({ store: new MongoStore({ db: t.db }), clock });
    await ledger.open();
    return ledger;
  }

  /** A process whose next projection update never happens. */
  function dyingInstance(ledger: Ledger): Ledger {
    return new Ledger({ store: crashBeforeProjection(ledger.store), clock });
  }

  async function issue(ledger: Ledger, sub = newId('sub')) {
    const sid = newId('sid');
    const appended = await ledger.execute(sid, (_s, { now }) => issued(sub, now));
    return { sid, sub, event: appended!.event as IssuedEvent };
  }

  async function sessionOf(ledger: Ledger, sid: string): Promise<SessionState> {
    const [state] = await ledger.store.loadStates([sid]);
    if (state?.kind !== 'session') throw new Error(`no session ${sid}`);
    return state;
  }

  it('lists and projects a stream left behind, on the next start', async () => {
    const first = await instance();
    const { sid } = await issue(first);
    await expect(
      dyingInstance(first).execute(sid, (state, { now }) =>
        state?.kind === 'session' ? refreshed(state, now) : null,
      ),
    ).to.be.rejectedWith(SimulatedCrash);
    expect((await sessionOf(first, sid)).seq).to.equal(1);

    const next = new Ledger({ store: new MongoStore({ db: t.db }), clock });
    await next.store.open();
    expect(await next.repair()).to.include(sid);
    const repaired = await sessionOf(next, sid);
    const events = await next.store.readStream(sid);
    expect(repaired).to.include({ seq: 2, hash: events[1]!.hash });
    expect(repaired.tokens).to.have.length(4);
    expect(await next.repair(), 'nothing is left to repair').to.not.include(sid);
  });

  it('projects a session whose very first event was never projected, on open', async () => {
    const first = await instance();
    const sid = newId('sid');
    let issuedEvent: IssuedEvent | undefined;
    await expect(
      dyingInstance(first).execute(sid, (_s, { now }) => {
        const draft = issued(newId('sub'), now);
        issuedEvent = { ...draft } as IssuedEvent;
        return draft;
      }),
    ).to.be.rejectedWith(SimulatedCrash);
    expect(await first.store.findSessionByToken(issuedEvent!.refresh.jti)).to.equal(null);

    const next = await instance();
    const { session } = await next.findByToken(issuedEvent!.refresh.jti);
    expect(session).to.include({ stream: sid, seq: 1 });
  });

  it('enforces a session revocation appended just before the crash, after open', async () => {
    const first = await instance();
    const { sid, sub, event } = await issue(first);
    await expect(
      dyingInstance(first).execute(sid, () =>
        revoked.session(sub, { reason: 'logout', actor: sub }),
      ),
    ).to.be.rejectedWith(SimulatedCrash);
    // The projection document does not know about the revocation, but the stream's pending mark
    // makes every reader complete it first: the running instance enforces it without a restart.
    const [stale] = (await first.store.loadStates([sid])) as SessionState[];
    expect(tokenStatus(stale!, event.access.jti, null, clock())?.status).to.equal('active');
    const live = await first.loadSession(sid, sub);
    expect(tokenStatus(live.session!, event.access.jti, live.subject, clock())?.status).to.equal(
      'revoked',
    );

    const next = await instance();
    const { session, subject } = await next.findByToken(event.access.jti);
    const view = tokenStatus(session!, event.access.jti, subject, clock());
    expect(view?.status).to.equal('revoked');
    expect(view?.revocation).to.include({ scope: 'session', reason: 'logout', actor: sub });
  });

  it('enforces a logout everywhere appended just before the crash, after open', async () => {
    const first = await instance();
    const { sub, event } = await issue(first);
    clock.advance(1000);
    await expect(
      dyingInstance(first).execute(subjectStream(sub), (_s, { now }) =>
        revoked.subject(sub, new Date(now)),
      ),
    ).to.be.rejectedWith(SimulatedCrash);
    expect(await first.store.loadStates([subjectStream(sub)])).to.deep.equal([]);

    const next = await instance();
    const { session, subject } = await next.findByToken(event.refresh.jti);
    expect(tokenStatus(session!, event.refresh.jti, subject, clock())?.status).to.equal('revoked');
  });

  it('lets a second writer complete a lagging projection before it decides', async () => {
    const first = await instance();
    const { sid } = await issue(first);
    const rotate = (state: Parameters<Parameters<Ledger['execute']>[1]>[0], now: number) =>
      state?.kind === 'session' ? refreshed(state, now) : null;
    await expect(
      dyingInstance(first).execute(sid, (state, { now }) => rotate(state, now)),
    ).to.be.rejectedWith(SimulatedCrash);

    // Another instance, started before the crash, so it never ran repair.
    const other = new Ledger({ store: new MongoStore({ db: t.db }), clock });
    await other.store.open();
    const seen: { attempt: number; refreshJti: string | undefined }[] = [];
    const appended = await other.execute(sid, (state, context) => {
      seen.push({
        attempt: context.attempt,
        refreshJti: state?.kind === 'session' ? state.refreshJti : undefined,
      });
      return rotate(state, context.now);
    });
    const events = await other.store.readStream(sid);
    const [issuedEvent, lost] = events as [IssuedEvent, RefreshedEvent];
    // The pending mark sent it to the log first: it never decided on the stale projection, which
    // would have spent a refresh token already spent.
    expect(issuedEvent.refresh.jti).to.not.equal(lost.refresh.jti);
    expect(seen).to.deep.equal([{ attempt: 1, refreshJti: lost.refresh.jti }]);
    expect(appended!.event).to.include({ seq: 3, spent: lost.refresh.jti, prev: lost.hash });
    expect(await sessionOf(other, sid)).to.include({ seq: 3, hash: events[2]!.hash });
    expect((await other.store.pendingStreams()).map((p) => p.stream)).to.not.include(sid);
  });

  it('keeps a stream usable after a crash before its append', async () => {
    const first = await instance();
    const { sid, sub } = await issue(first);
    const dying = new Ledger({ store: crashBeforeAppend(first.store), clock });
    await expect(dying.execute(sid, () => revoked.session(sub))).to.be.rejectedWith(SimulatedCrash);
    expect((await first.store.pendingStreams()).map((p) => p.stream)).to.include(sid);

    const next = await instance();
    expect(await next.repair(), 'no event to apply').to.not.include(sid);
    expect((await sessionOf(next, sid)).seq).to.equal(1);
    await next.execute(sid, () => revoked.session(sub));
    expect((await sessionOf(next, sid)).revoked).to.include({ reason: 'logout' });
    expect((await next.store.pendingStreams()).map((p) => p.stream)).to.not.include(sid);
  });
});
