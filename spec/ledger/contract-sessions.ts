/**
 * Store contract, user-level views: a subject's live sessions and the first event of streams
 * (see contract.ts).
 */
import { subjectStream } from '../../lib/ledger/events.js';
import { Ledger } from '../../lib/ledger/ledger.js';
import { fakeClock } from '../support/clock.js';
import { issued, newId, REFRESH_TTL, revoked, T0 } from './drafts.js';
import { expect } from './expect.js';
import { issue, rotate, session, type ContractContext } from './support.js';

export function sessionsContract(context: ContractContext): void {
  const store = () => context.store();
  const seconds = (ms: number) => Math.floor(ms / 1000);

  describe('live sessions of a subject', () => {
    it("lists the subject's unrevoked sessions whose refresh token expires after the time, by stream", async () => {
      const clock = fakeClock(T0);
      const ledger = new Ledger({ store: store(), clock });
      const sub = newId('sub');
      const expired = await issue(ledger, sub);
      clock.advance(REFRESH_TTL * 1000);
      const [one, two, ended] = [
        await issue(ledger, sub),
        await issue(ledger, sub),
        await issue(ledger, sub),
      ];
      await ledger.execute(ended.sid, (state) => revoked.session(state!.sub));
      await issue(ledger, newId('sub'));

      const now = seconds(clock());
      const { sessions, subject } = await store().findLiveSessions(sub, now);
      expect(sessions.map((s) => s.stream)).to.deep.equal([one.sid, two.sid].sort());
      expect(sessions[0]).to.deep.equal(await session(store(), sessions[0]!.stream));
      expect(subject).to.equal(null);
      expect(sessions.map((s) => s.stream)).to.not.include(expired.sid);
      // The bound is exclusive: a refresh token expiring at `after` is over.
      const exp = (await session(store(), one.sid)).refreshExp;
      const atExpiry = await store().findLiveSessions(sub, exp);
      expect(atExpiry.sessions.map((s) => s.stream)).to.not.include(one.sid);
    });

    it('answers the latest state of a refreshed session, and the subject cut-off', async () => {
      const clock = fakeClock(T0);
      const ledger = new Ledger({ store: store(), clock });
      const { sid, sub } = await issue(ledger);
      const first = await session(store(), sid);
      clock.advance(60_000);
      await ledger.execute(sid, rotate);
      await ledger.execute(subjectStream(sub), () => revoked.subject(sub, new Date(clock())));
      const { sessions, subject } = await store().findLiveSessions(sub, seconds(clock()));
      expect(sessions).to.have.length(1);
      expect(sessions[0]!.seq).to.equal(2);
      expect(sessions[0]!.refreshExp).to.be.greaterThan(first.refreshExp);
      expect(subject).to.include({ kind: 'subject', stream: subjectStream(sub) });
      expect(subject!.revokedBefore).to.deep.equal(new Date(T0 + 60_000));
    });

    it('answers nothing for an unknown subject', async () => {
      expect(await store().findLiveSessions(newId('sub'), seconds(T0))).to.deep.equal({
        sessions: [],
        subject: null,
      });
    });
  });

  describe('first events of streams', () => {
    it('answers the issued event of each known stream and nothing for unknown ones', async () => {
      const ledger = new Ledger({ store: store(), clock: fakeClock(T0) });
      const sub = newId('sub');
      const [one, two] = [newId('sid'), newId('sid')];
      const first = await ledger.execute(one, (_s, { now }) => issued(sub, now, { source: 'a' }));
      await ledger.execute(one, rotate);
      const second = await ledger.execute(two, (_s, { now }) => issued(sub, now, { source: 'b' }));
      const events = await store().firstEvents([two, newId('sid'), one]);
      const byStream = Object.fromEntries(events.map((event) => [event.stream, event]));
      expect(events).to.have.length(2);
      expect(byStream[one]).to.deep.equal(first!.event);
      expect(byStream[two]).to.deep.equal(second!.event);
      expect(await store().firstEvents([])).to.deep.equal([]);
    });
  });
}
