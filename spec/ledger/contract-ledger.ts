/**
 * Store contract, ledger: `Ledger.execute` (sealing, races, retries), reads and repair on the store
 * under test (see contract.ts).
 */
import { ConcurrencyError, InvalidGrantError, LedgerInputError } from '../../lib/errors.js';
import { sessionAt, tokenAt } from '../../lib/ledger/audit.js';
import type { EventDraft, IssuedEvent, LedgerEvent } from '../../lib/ledger/events.js';
import { EVENT_VERSION, subjectStream } from '../../lib/ledger/events.js';
import { hashEvent } from '../../lib/ledger/hash-chain.js';
import { rebuildProjection, verifyLedger } from '../../lib/ledger/integrity.js';
import { Ledger, type Decide } from '../../lib/ledger/ledger.js';
import { fold } from '../../lib/ledger/projection.js';
import { fakeClock } from '../support/clock.js';
import { BAD_IDS, issue, rotate, session, type ContractContext } from './support.js';
import { chain, issued, newId, refreshed, revoked, T0 } from './drafts.js';
import { expect } from './expect.js';
import { crashBeforeProjection, SimulatedCrash, spyStore } from './wrappers.js';

export function ledgerContract(context: ContractContext): void {
  const store = () => context.store();

  describe('Ledger on this store', () => {
    it('seals events: seq from 1, chained by prev, hashed, stamped by the clock, with token ids', async () => {
      const clock = fakeClock(T0);
      const ledger = new Ledger({ store: store(), clock });
      const sid = newId('sid');
      const sub = newId('sub');
      const first = await ledger.execute(sid, (_s, { now }) => issued(sub, now));
      clock.advance(1500);
      const second = await ledger.execute(sid, rotate);
      const [one, two] = [first!.event as IssuedEvent, second!.event];
      expect(one).to.include({ v: EVENT_VERSION, stream: sid, seq: 1, sub, prev: null });
      expect(one.time).to.deep.equal(new Date(T0));
      expect(one.jtis).to.deep.equal([one.access.jti, one.refresh.jti]);
      expect(two).to.include({ seq: 2, prev: one.hash, type: 'refreshed' });
      expect(two.time).to.deep.equal(new Date(T0 + 1500));
      for (const event of [one, two]) expect(hashEvent(event)).to.equal(event.hash);
      expect(await store().readStream(sid)).to.deep.equal([one, two]);
      expect(await store().loadStates([sid])).to.deep.equal([second!.state]);
      expect(second!.state).to.deep.equal(fold([one, two]));
    });

    it('appends nothing when decide returns null, and rejects with what decide throws', async () => {
      const ledger = new Ledger({ store: store(), clock: fakeClock() });
      const sid = newId('sid');
      const seen: unknown[] = [];
      const result = await ledger.execute(sid, (state) => {
        seen.push(state);
        return null;
      });
      expect(result).to.equal(null);
      expect(seen).to.deep.equal([null]);
      await expect(ledger.execute(sid, rotate))
        .to.be.rejectedWith(InvalidGrantError)
        .and.eventually.have.property('code', 'ERR_INVALID_GRANT');
      expect(await store().readStream(sid)).to.deep.equal([]);
      expect(await store().loadStates([sid])).to.deep.equal([]);
    });

    it('lands each of ten racing executes from two ledgers exactly once, with contiguous seqs', async () => {
      const clock = fakeClock();
      // Each round at least one writer lands, so ten writers need at most ten attempts.
      const maxAttempts = 10;
      const [a, b] = [1, 2].map(() => new Ledger({ store: store(), clock, maxAttempts }));
      const { sid } = await issue(a!);
      const attempts: number[] = [];
      const racing: Decide = (state, context) => {
        attempts.push(context.attempt);
        return rotate(state, context);
      };
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? a! : b!).execute(sid, racing)),
      );
      expect(Math.max(...attempts), 'the executes really raced').to.be.greaterThan(1);
      expect(results.map((r) => r!.event.seq).sort((x, y) => x - y)).to.deep.equal([
        2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
      ]);
      const events = await store().readStream(sid);
      expect(events.map((e) => e.seq)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      // Every rotation spent the refresh token the one before it issued: no fork, no lost update.
      for (const [i, event] of events.entries()) {
        if (i === 0) continue;
        const before = events[i - 1] as Extract<LedgerEvent, { type: 'issued' | 'refreshed' }>;
        expect(event).to.include({ type: 'refreshed', spent: before.refresh.jti });
      }
      expect(await store().loadStates([sid])).to.deep.equal([fold(events)]);
    });

    it('catches up and decides again when its projection lags the log', async () => {
      const clock = fakeClock();
      const ledger = new Ledger({ store: store(), clock });
      const { sid, sub } = await issue(ledger);
      // Another instance appended seq 2 and has not updated the projection yet.
      const [first] = await store().readStream(sid);
      const behind = refreshed({ sub, refreshJti: (first as IssuedEvent).refresh.jti }, T0);
      const [lagging] = chain(sid, [{ draft: behind, time: first!.time }], first);
      await store().appendEvent(lagging!);
      const calls: { attempt: number; seq: number | undefined }[] = [];
      const appended = await ledger.execute(sid, (state, context) => {
        calls.push({ attempt: context.attempt, seq: state?.seq });
        return revoked.session(sub);
      });
      expect(calls).to.deep.equal([
        { attempt: 1, seq: 1 },
        { attempt: 2, seq: 2 },
      ]);
      expect(appended!.event).to.include({ seq: 3, prev: lagging!.hash });
      expect(await store().loadStates([sid])).to.deep.equal([fold(await store().readStream(sid))]);
    });

    it('gives up with a ConcurrencyError after maxAttempts lost races', async () => {
      const ledger = new Ledger({ store: store(), clock: fakeClock(), maxAttempts: 1 });
      const { sid, sub } = await issue(ledger);
      const [first] = await store().readStream(sid);
      const behind = refreshed({ sub, refreshJti: (first as IssuedEvent).refresh.jti }, T0);
      const [lagging] = chain(sid, [{ draft: behind, time: first!.time }], first);
      await store().appendEvent(lagging!);
      await expect(ledger.execute(sid, () => revoked.session(sub)))
        .to.be.rejectedWith(ConcurrencyError)
        .and.eventually.include({ stream: sid, seq: 2 });
      expect((await store().readStream(sid)).map((e) => e.seq)).to.deep.equal([1, 2]);
    });

    it('never moves event time backwards within a stream when a writer’s clock is behind', async () => {
      const ahead = new Ledger({ store: store(), clock: fakeClock(T0 + 60_000) });
      const behind = new Ledger({ store: store(), clock: fakeClock(T0) });
      const { sid } = await issue(ahead);
      const appended = await behind.execute(sid, rotate);
      expect(appended!.event.time).to.deep.equal(new Date(T0 + 60_000));
    });

    it('tells append listeners about every append until they unsubscribe', async () => {
      const ledger = new Ledger({ store: store(), clock: fakeClock() });
      const seen: number[] = [];
      const off = ledger.onAppend(({ event, state }) => {
        expect(state.seq).to.equal(event.seq);
        seen.push(event.seq);
      });
      const { sid } = await issue(ledger);
      await ledger.execute(sid, rotate);
      off();
      await ledger.execute(sid, rotate);
      expect(seen).to.deep.equal([1, 2]);
    });

    it('loads a session with its subject, also by any token id of the session', async () => {
      const clock = fakeClock();
      const ledger = new Ledger({ store: store(), clock });
      const { sid, sub } = await issue(ledger);
      clock.advance(1000);
      await ledger.execute(subjectStream(sub), (_s, { now }) =>
        revoked.subject(sub, new Date(now)),
      );
      const current = await session(store(), sid);
      const [subject] = await store().loadStates([subjectStream(sub)]);
      expect(await ledger.loadSession(sid, sub)).to.deep.equal({ session: current, subject });
      expect(await ledger.findByToken(current.tokens[0]!.jti)).to.deep.equal({
        session: current,
        subject,
      });
      expect(await ledger.findByToken(newId('at'))).to.deep.equal({ session: null, subject: null });
      const other = await issue(ledger);
      expect(await ledger.loadSession(other.sid, other.sub)).to.deep.include({ subject: null });
    });

    it('finds a token’s session complete with a revocation its state missed, before any repair', async () => {
      const clock = fakeClock();
      const ledger = new Ledger({ store: store(), clock });
      const { sid, sub } = await issue(ledger);
      const { refreshJti } = await session(store(), sid);
      const crashing = new Ledger({ store: crashBeforeProjection(store()), clock });
      await expect(crashing.execute(sid, () => revoked.session(sub))).to.be.rejectedWith(
        SimulatedCrash,
      );
      expect(await ledger.findTokenHolder(refreshJti)).to.deep.equal({ stream: sid, sub });
      const { session: found } = await ledger.findByToken(refreshJti);
      expect(found?.revoked).to.include({ reason: 'logout' });
      const caller = await issue(ledger);
      const both = await ledger.loadSessionFindingToken(caller.sid, caller.sub, refreshJti);
      expect(both.session?.stream).to.equal(caller.sid);
      expect(both.holder).to.deep.equal({ stream: sid, sub });
      expect(await ledger.findTokenHolder(newId('rt'))).to.equal(null);
    });

    it('answers a stream’s state as of a past time', async () => {
      const clock = fakeClock(T0);
      const ledger = new Ledger({ store: store(), clock });
      const { sid } = await issue(ledger);
      clock.advance(1000);
      await ledger.execute(sid, rotate);
      const events = await store().readStream(sid);
      expect(await ledger.stateAt(sid, new Date(T0 - 1))).to.equal(null);
      expect(await ledger.stateAt(sid, new Date(T0 + 999))).to.deep.equal(fold(events.slice(0, 1)));
      expect(await ledger.stateAt(sid, new Date(T0 + 1000))).to.deep.equal(fold(events));
    });

    it('rejects operator objects and empty ids before touching the store', async () => {
      const spy = spyStore(store());
      const ledger = new Ledger({ store: spy.store, clock: fakeClock() });
      for (const bad of BAD_IDS) {
        const id = bad as string;
        const attempts = [
          ledger.execute(id, () => null),
          ledger.loadSession(id, 'sub'),
          ledger.loadSession('sid', id),
          ledger.findByToken(id),
          ledger.findTokenHolder(id),
          ledger.loadSessionFindingToken('sid', 'sub', id),
          ledger.stateAt(id, new Date()),
          tokenAt(ledger, id, new Date()),
          sessionAt(ledger, id, new Date()),
        ];
        for (const attempt of attempts) {
          await expect(attempt)
            .to.be.rejectedWith(LedgerInputError)
            .and.eventually.have.property('code', 'ERR_LEDGER_INPUT');
        }
      }
      expect(spy.calls).to.deep.equal([]);
    });

    it('records token ids, never the tokens, even when a draft carries more than it should', async () => {
      const ledger = new Ledger({ store: store(), clock: fakeClock() });
      const sid = newId('sid');
      const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzcGVjIn0.c2lnbmF0dXJl';
      await ledger.execute(sid, (_s, { now }) => {
        const draft = issued(newId('sub'), now);
        // A caller that hands over what it signed, token included.
        return {
          ...draft,
          access: { ...draft.access, token },
          refresh: { ...draft.refresh, token },
          meta: { ...draft.meta, token },
          token,
          seq: 7,
          stream: 'elsewhere',
        } as EventDraft;
      });
      const [event] = await store().readStream(sid);
      const issuedEvent = event as IssuedEvent;
      expect(JSON.stringify(event)).to.not.include(token);
      expect(Object.keys(event!).sort()).to.deep.equal(
        ['access', 'hash', 'jtis', 'meta', 'prev', 'refresh', 'seq', 'stream', 'sub', 'time']
          .concat(['type', 'v'])
          .sort(),
      );
      expect(issuedEvent).to.include({ stream: sid, seq: 1 });
      expect(issuedEvent.jtis).to.deep.equal([issuedEvent.access.jti, issuedEvent.refresh.jti]);
      expect(JSON.stringify(await session(store(), sid))).to.not.include(token);
    });

    it('stores absent optional fields as absent, so the chain verifies and rebuilds', async () => {
      await context.fresh(async (own) => {
        const ledger = new Ledger({ store: own, clock: fakeClock() });
        const sub = newId('sub');
        const sid = newId('sid');
        await ledger.execute(sid, (_s, { now }) => ({
          ...issued(sub, now),
          meta: { source: 'password', method: undefined, ip: undefined },
          scope: undefined,
          aud: undefined,
          claims: { email: 'a@example.org', name: undefined },
        }));
        await ledger.execute(sid, () => ({
          type: 'revoked',
          sub,
          meta: { reason: 'logout', actor: undefined },
          target: { kind: 'session' },
        }));
        expect(await verifyLedger(own)).to.deep.include({ ok: true, problems: [] });
        expect((await rebuildProjection(own, { dryRun: true })).differences).to.deep.equal([]);
        const state = await session(own, sid);
        expect(state.login).to.deep.equal({ source: 'password' });
        expect(state.claims).to.deep.equal({ email: 'a@example.org' });
        expect(state.revoked).to.not.have.property('actor');
      });
    });

    it('repairs on open a stream whose projection missed an append', async () => {
      const clock = fakeClock();
      const ledger = new Ledger({ store: store(), clock });
      const { sid, sub } = await issue(ledger);
      const crashing = new Ledger({ store: crashBeforeProjection(store()), clock });
      await expect(crashing.execute(sid, () => revoked.session(sub))).to.be.rejectedWith(
        SimulatedCrash,
      );
      expect((await session(store(), sid)).seq).to.equal(1);
      expect((await store().pendingStreams()).map((p) => p.stream)).to.include(sid);

      const restarted = new Ledger({ store: store(), clock });
      await restarted.open();
      const repaired = await session(store(), sid);
      expect(repaired.seq).to.equal(2);
      expect(repaired.revoked).to.include({ reason: 'logout' });
      expect((await store().pendingStreams()).map((p) => p.stream)).to.not.include(sid);
      expect(await restarted.repair()).to.not.include(sid);
    });
  });
}
