/**
 * Store contract, projection: pending marks and state documents (see contract.ts).
 */
import type { LedgerEvent } from '../../lib/ledger/events.js';
import { subjectStream } from '../../lib/ledger/events.js';
import type { SessionState } from '../../lib/ledger/projection.js';
import { at, chain, newId, revoked, sessionEvents, T0 } from './drafts.js';
import { expect } from './expect.js';
import { collect, stateOf, tryToChange, type ContractContext } from './support.js';

export function statesContract(context: ContractContext): void {
  const store = () => context.store();

  describe('pending marks', () => {
    it('lists a marked stream with the highest seq marked', async () => {
      const stream = newId('sid');
      await store().markPending(stream, 2);
      await store().markPending(stream, 1);
      const pending = await store().pendingStreams();
      expect(pending).to.deep.include({ stream, seq: 2 });
      expect(pending.filter((p) => p.stream === stream)).to.have.length(1);
    });

    it('clears a mark at or below uptoSeq and keeps a later one', async () => {
      const [low, high] = [newId('sid'), newId('sid')];
      await store().markPending(low, 1);
      await store().markPending(high, 3);
      await store().clearPending(low, 1);
      await store().clearPending(high, 2);
      const streams = (await store().pendingStreams()).map((p) => p.stream);
      expect(streams).to.include(high).and.not.include(low);
    });

    it('clears the mark when the state is saved', async () => {
      const stream = newId('sid');
      const events = sessionEvents(stream, newId('sub'), T0);
      await store().markPending(stream, 1);
      await store().appendEvent(events[0]!);
      expect(await store().saveState(stateOf(events), 0)).to.equal(true);
      const streams = (await store().pendingStreams()).map((p) => p.stream);
      expect(streams).to.not.include(stream);
    });

    it('never shows a mark as a state', async () => {
      await context.fresh(async (own) => {
        const stream = newId('sid');
        await own.markPending(stream, 1);
        expect(await own.loadStates([stream])).to.deep.equal([]);
        expect(await collect(own.scanStates())).to.deep.equal([]);
        expect(await own.pendingStreams()).to.deep.equal([{ stream, seq: 1 }]);
      });
    });
  });

  describe('projection documents', () => {
    it('saves a state at a seq once and never moves a stream back', async () => {
      const stream = newId('sid');
      const events = sessionEvents(stream, newId('sub'), T0, 1);
      const [one, two] = [1, 2].map((n) => stateOf(events.slice(0, n)));
      expect(await store().saveState(one!, 0)).to.equal(true);
      expect(await store().saveState(one!, 0), 'the same seq again').to.equal(false);
      expect(await store().loadStates([stream])).to.deep.equal([one]);
      expect(await store().saveState(two!, 1)).to.equal(true);
      // A late writer of an older state, whatever the store answers it, is not what readers see.
      await store().saveState(one!, 0);
      expect(await store().loadStates([stream])).to.deep.equal([two]);
    });

    it('saves a first state over a pending mark', async () => {
      const stream = newId('sid');
      const events = sessionEvents(stream, newId('sub'), T0);
      await store().markPending(stream, 1);
      expect(await store().saveState(stateOf(events), 0)).to.equal(true);
      expect(await store().loadStates([stream])).to.deep.equal([stateOf(events)]);
    });

    it('lets exactly one of several concurrent first saves win', async () => {
      const stream = newId('sid');
      const states = Array.from({ length: 5 }, (_, i) =>
        stateOf(sessionEvents(stream, newId('sub'), T0 + i)),
      );
      const saved = await Promise.all(states.map((state) => store().saveState(state, 0)));
      expect(saved.filter(Boolean)).to.have.length(1);
      expect(await store().loadStates([stream])).to.deep.equal([states[saved.indexOf(true)]]);
    });

    it('loads the states that exist among the streams asked for', async () => {
      const sub = newId('sub');
      const [a, b] = [newId('sid'), newId('sid')];
      const subject = stateOf(
        chain(subjectStream(sub), [{ draft: revoked.subject(sub, at(0)), time: at(0) }]),
      );
      const session = stateOf(sessionEvents(a, sub, T0));
      await store().saveState(session, 0);
      await store().saveState(subject, 0);
      const loaded = await store().loadStates([a, b, subjectStream(sub)]);
      expect(loaded).to.have.deep.members([session, subject]);
      expect(await store().loadStates([])).to.deep.equal([]);
    });

    it('returns copies of states, and keeps a saved state when the caller mutates it', async () => {
      const stream = newId('sid');
      const state = stateOf(sessionEvents(stream, newId('sub'), T0, 1)) as SessionState;
      const original = structuredClone(state);
      await store().saveState(state, 0);
      state.tokens.pop();
      state.refreshJti = 'forged';
      const [loaded] = (await store().loadStates([stream])) as SessionState[];
      expect(loaded).to.deep.equal(original);
      tryToChange(() => (loaded!.tokens[0]!.revoked = { at: at(0) }));
      tryToChange(() => loaded!.tokens.pop());
      tryToChange(() => loaded!.updatedAt.setTime(0));
      expect(await store().loadStates([stream])).to.deep.equal([original]);
    });

    it('finds the session that holds any of its token ids, current or rotated', async () => {
      const stream = newId('sid');
      const events = sessionEvents(stream, newId('sub'), T0, 2);
      await store().saveState(stateOf(events.slice(0, 2)), 0);
      const session = stateOf(events) as SessionState;
      await store().saveState(session, 2);
      expect(session.tokens).to.have.length(6);
      for (const token of session.tokens) {
        expect(await store().findSessionByToken(token.jti)).to.deep.equal(session);
      }
      expect(await store().findSessionByToken(newId('rt'))).to.equal(null);
    });

    it('finds which session holds a token id in the read of other streams, and only that', async () => {
      const [sub, other] = [newId('sub'), newId('sub')];
      const [held, asked] = [newId('sid'), newId('sid')];
      const holding = stateOf(sessionEvents(held, sub, T0, 1)) as SessionState;
      const read = stateOf(sessionEvents(asked, other, T0));
      await store().saveState(holding, 0);
      await store().saveState(read, 0);
      await store().markPending(held, holding.seq + 1);
      const subject = subjectStream(other);
      for (const token of holding.tokens) {
        const found = await store().readStates([asked, subject], { holderOf: token.jti });
        // The holder's state and marks are not part of the answer: its reader reads them in full.
        expect(found).to.deep.equal({
          states: [read],
          pending: [],
          holder: { stream: held, sub },
        });
      }
      const own = await store().readStates([held], { holderOf: holding.refreshJti });
      expect(own).to.deep.equal({
        states: [holding],
        pending: [{ stream: held, seq: holding.seq + 1 }],
        holder: { stream: held, sub },
      });
      expect(await store().readStates([], { holderOf: holding.refreshJti })).to.deep.equal({
        states: [],
        pending: [],
        holder: { stream: held, sub },
      });
      for (const streams of [[], [asked]]) {
        const none = await store().readStates(streams, { holderOf: newId('rt') });
        expect(none).to.not.have.property('holder');
      }
    });

    it('finds a subject’s sessions that are not revoked as a whole', async () => {
      const sub = newId('sub');
      const [open, tokenRevoked, closed, elsewhere] = [1, 2, 3, 4].map(() => newId('sid'));
      const openState = stateOf(sessionEvents(open!, sub, T0));
      const first = sessionEvents(tokenRevoked!, sub, T0);
      const firstIssued = first[0] as Extract<LedgerEvent, { type: 'issued' }>;
      const partlyRevoked = stateOf([
        ...first,
        ...chain(
          tokenRevoked!,
          [{ draft: revoked.token(sub, firstIssued.access.jti), time: at(1) }],
          first[0]!,
        ),
      ]);
      const second = sessionEvents(closed!, sub, T0);
      const ended = stateOf([
        ...second,
        ...chain(closed!, [{ draft: revoked.session(sub), time: at(1) }], second[0]!),
      ]);
      const subject = stateOf(
        chain(subjectStream(sub), [{ draft: revoked.subject(sub, at(0)), time: at(0) }]),
      );
      for (const state of [openState, partlyRevoked, ended, subject]) {
        await store().saveState(state, 0);
      }
      await store().saveState(stateOf(sessionEvents(elsewhere!, newId('sub'), T0)), 0);
      const found = await store().findOpenSessions(sub);
      expect(found).to.have.deep.members([openState, partlyRevoked]);
      expect(await store().findOpenSessions(newId('sub'))).to.deep.equal([]);
    });

    it('scans every state ordered by stream and replaces the whole projection', async () => {
      await context.fresh(async (own) => {
        const sub = newId('sub');
        const [a, b, c] = ['c', 'a', 'b'].map((p) => `${p}-${newId('sid')}`);
        const eventsB = sessionEvents(b!, sub, T0, 1);
        const stateA = stateOf(sessionEvents(a!, sub, T0));
        const stateB1 = stateOf(eventsB.slice(0, 1));
        await own.saveState(stateA, 0);
        await own.saveState(stateB1, 0);
        expect(await collect(own.scanStates())).to.deep.equal([stateB1, stateA]);

        const stateB2 = stateOf(eventsB);
        const stateC = stateOf(sessionEvents(c!, sub, T0));
        await own.replaceAllStates([stateB2, stateC]);
        expect(await collect(own.scanStates())).to.deep.equal([stateB2, stateC]);
        expect(await own.loadStates([a!])).to.deep.equal([]);
        expect(await own.findSessionByToken((stateA as SessionState).refreshJti)).to.equal(null);
        const lastB = stateB2 as SessionState;
        expect(await own.findSessionByToken(lastB.refreshJti)).to.deep.equal(stateB2);
      });
    });

    it('keeps a state that a live writer moved past the rebuilt one', async () => {
      await context.fresh(async (own) => {
        const stream = newId('sid');
        const events = sessionEvents(stream, newId('sub'), T0, 1);
        for (const event of events) await own.appendEvent(event);
        await own.saveState(stateOf(events), 0);
        await own.replaceAllStates([stateOf(events.slice(0, 1))]);
        expect(await own.loadStates([stream])).to.deep.equal([stateOf(events)]);
      });
    });

    it('replaces a state past the rebuilt one that no event backs', async () => {
      await context.fresh(async (own) => {
        const stream = newId('sid');
        const events = sessionEvents(stream, newId('sub'), T0, 1);
        await own.appendEvent(events[0]!);
        await own.saveState(stateOf(events), 0);
        await own.replaceAllStates([stateOf(events.slice(0, 1))]);
        expect(await own.loadStates([stream])).to.deep.equal([stateOf(events.slice(0, 1))]);
      });
    });
  });
}
