import type { EventDraft, IssuedEvent, LedgerEvent } from '../../lib/ledger/events.js';
import { subjectStream } from '../../lib/ledger/events.js';
import {
  evolve,
  fold,
  isSessionRevoked,
  ProjectionError,
  tokenStatus,
  type SessionState,
  type SubjectState,
} from '../../lib/ledger/projection.js';
import { ACCESS_TTL, at, chain, issued, newId, refreshed, revoked, T0 } from './drafts.js';
import { expect } from './expect.js';

const sub = 'subject-1';

function session(events: readonly LedgerEvent[]): SessionState {
  const state = fold(events);
  if (state?.kind !== 'session') throw new Error('not a session');
  return state;
}

function subjectOf(...cutOffs: { time: number; before: number }[]): SubjectState {
  const events = chain(
    subjectStream(sub),
    cutOffs.map(({ time, before }) => ({
      draft: revoked.subject(sub, at(before)),
      time: at(time),
    })),
  );
  const state = fold(events);
  if (state?.kind !== 'subject') throw new Error('not a subject');
  return state;
}

/** A session: issued at T0, rotated at +1 s, then `more` drafts at +2 s, +3 s, ... */
function lifecycle(more: (first: IssuedEvent, second: LedgerEvent) => EventDraft[] = () => []) {
  const stream = newId('sid');
  const first = issued(sub, T0, { source: 'saml' });
  const rotation = refreshed({ sub, refreshJti: first.refresh.jti }, T0 + 1000);
  const head = chain(stream, [
    { draft: { ...first, scope: 'openid' }, time: at(0) },
    { draft: rotation, time: at(1000) },
  ]);
  const rest = more(head[0] as IssuedEvent, head[1]!).map((draft, i) => ({
    draft,
    time: at(2000 + i * 1000),
  }));
  return [...head, ...chain(stream, rest, head[1]!)];
}

describe('projection', () => {
  describe('evolve', () => {
    it('starts a session from its issued event', () => {
      const [first] = lifecycle();
      const state = session([first!]);
      const event = first as IssuedEvent;
      expect(state).to.deep.equal({
        kind: 'session',
        stream: event.stream,
        sub,
        seq: 1,
        hash: event.hash,
        updatedAt: at(0),
        createdAt: at(0),
        login: { source: 'saml' },
        scope: 'openid',
        refreshJti: event.refresh.jti,
        refreshExp: event.refresh.exp,
        tokens: [
          { jti: event.access.jti, type: 'access', exp: event.access.exp, issuedAt: at(0) },
          { jti: event.refresh.jti, type: 'refresh', exp: event.refresh.exp, issuedAt: at(0) },
        ],
      });
    });

    it('rotates the spent refresh token and records the new pair’s lineage', () => {
      const events = lifecycle();
      const [first, second] = events as [IssuedEvent, Extract<LedgerEvent, { type: 'refreshed' }>];
      const state = session(events);
      expect(state).to.include({ seq: 2, refreshJti: second.refresh.jti, hash: second.hash });
      expect(state.updatedAt).to.deep.equal(at(1000));
      expect(state.createdAt).to.deep.equal(at(0));
      expect(state.tokens[1]).to.deep.include({
        jti: first.refresh.jti,
        replacedBy: second.refresh.jti,
        rotatedAt: at(1000),
      });
      expect(state.tokens.slice(2)).to.deep.equal([
        {
          jti: second.access.jti,
          type: 'access',
          exp: second.access.exp,
          issuedAt: at(1000),
          parent: first.refresh.jti,
        },
        {
          jti: second.refresh.jti,
          type: 'refresh',
          exp: second.refresh.exp,
          issuedAt: at(1000),
          parent: first.refresh.jti,
        },
      ]);
    });

    it('revokes one token, keeping the first revocation of it', () => {
      const events = lifecycle((first) => [
        revoked.token(sub, first.access.jti, { reason: 'stolen', actor: 'admin' }),
        revoked.token(sub, first.access.jti, { reason: 'again' }),
      ]);
      const state = session(events);
      expect(state.tokens[0]!.revoked).to.deep.equal({
        at: at(2000),
        reason: 'stolen',
        actor: 'admin',
      });
      expect(state.tokens.filter((token) => token.revoked)).to.have.length(1);
      expect(state.revoked).to.equal(undefined);
      expect(state.seq).to.equal(4);
    });

    it('revokes the whole session, keeping the first revocation', () => {
      const events = lifecycle(() => [
        revoked.session(sub, { reason: 'logout', actor: sub }),
        revoked.session(sub, { reason: 'again' }),
      ]);
      expect(session(events).revoked).to.deep.equal({ at: at(2000), reason: 'logout', actor: sub });
    });

    it('keeps the latest cut-off of a subject, whatever order the revocations came in', () => {
      const state = subjectOf({ time: 10, before: 10 }, { time: 20, before: 5 });
      expect(state.revokedBefore).to.deep.equal(at(10));
      expect(state.seq).to.equal(2);
    });

    it('returns the same state when an applied event is applied again', () => {
      const events = lifecycle((first) => [revoked.token(sub, first.access.jti)]);
      const state = session(events);
      for (const event of events) expect(evolve(state, event)).to.equal(state);
      expect(fold([...events, ...events])).to.deep.equal(state);
    });

    it('never changes the state it is given', () => {
      const events = lifecycle((first) => [
        revoked.token(sub, first.access.jti),
        revoked.session(sub),
      ]);
      let state = fold(events.slice(0, 1));
      for (const event of events.slice(1)) {
        const before = structuredClone(state);
        const next = evolve(state, event);
        expect(state).to.deep.equal(before);
        state = next;
      }
    });

    it('refuses a gap, a second issue, an event before issue and a stream’s wrong kind of event', () => {
      const events = lifecycle((first) => [revoked.token(sub, first.access.jti)]);
      const [first, , third] = events;
      const cases: [() => unknown, RegExp][] = [
        [() => evolve(fold([first!]), third!), /expected seq 2, got 3/],
        [() => evolve(null, third!), /expected seq 1, got 3/],
        [() => fold([first!, { ...first!, seq: 2 }]), /issued twice/],
        [() => fold([{ ...third!, seq: 1 }]), /revoked before issued/],
        [
          () => fold(chain(subjectStream(sub), [{ draft: issued(sub, T0), time: at(0) }])),
          /only subject revocations/,
        ],
        [
          () =>
            fold(
              chain(newId('sid'), [
                { draft: issued(sub, T0), time: at(0) },
                { draft: revoked.subject(sub, at(0)), time: at(0) },
              ]),
            ),
          /subject revocation in a session stream/,
        ],
      ];
      for (const [run, message] of cases) expect(run).to.throw(ProjectionError, message);
    });
  });

  describe('tokenStatus', () => {
    it('follows a token from issued to refreshed to revoked to its session revoked', () => {
      const events = lifecycle((first, second) => [
        revoked.token(sub, (second as Extract<LedgerEvent, { type: 'refreshed' }>).access.jti),
        revoked.session(sub, { reason: 'logout' }),
      ]);
      const [first, second] = events as [IssuedEvent, Extract<LedgerEvent, { type: 'refreshed' }>];
      const status = (upto: number, jti: string) =>
        tokenStatus(session(events.slice(0, upto)), jti, null, T0 + 1)?.status;
      expect(status(1, first.refresh.jti)).to.equal('active');
      expect(status(2, first.refresh.jti)).to.equal('rotated');
      expect(status(2, second.access.jti)).to.equal('active');
      expect(status(3, second.access.jti)).to.equal('revoked');
      expect(status(3, second.refresh.jti)).to.equal('active');
      expect(status(4, second.refresh.jti)).to.equal('revoked');
      const view = tokenStatus(session(events), second.access.jti, null, T0);
      expect(view?.revocation).to.deep.include({ scope: 'token', at: at(2000) });
      const sessionView = tokenStatus(session(events), second.refresh.jti, null, T0);
      expect(sessionView?.revocation).to.deep.include({ scope: 'session', reason: 'logout' });
      expect(sessionView?.token.jti).to.equal(second.refresh.jti);
    });

    it('revokes sessions created in or before a subject’s cut-off second, not after', () => {
      const state = session(lifecycle());
      const jti = state.refreshJti;
      // The session was created at T0, on a whole second; cut-offs relative to it. A login later in
      // the cut-off's own second is revoked too (fail closed; tokens carry seconds).
      const cases: [number, 'revoked' | 'active'][] = [
        [1000, 'revoked'],
        [0, 'revoked'],
        [-1, 'active'],
        [-1000, 'active'],
      ];
      for (const [before, expected] of cases) {
        const subject = subjectOf({ time: 5000, before });
        expect(tokenStatus(state, jti, subject, T0)?.status, `cut-off ${before}`).to.equal(
          expected,
        );
        expect(isSessionRevoked(state, subject)).to.equal(expected === 'revoked');
      }
      expect(tokenStatus(state, jti, null, T0)?.status).to.equal('active');
      expect(isSessionRevoked(state, null)).to.equal(false);
      const view = tokenStatus(state, jti, subjectOf({ time: 5000, before: 0 }), T0);
      expect(view?.revocation).to.deep.include({ scope: 'subject', at: at(5000) });

      const sameSecond = session(chain(newId('sid'), [{ draft: issued(sub, T0), time: at(999) }]));
      const cutOff = subjectOf({ time: 1, before: 1 });
      expect(sameSecond.createdAt.getTime()).to.be.greaterThan(cutOff.revokedBefore!.getTime());
      expect(isSessionRevoked(sameSecond, cutOff)).to.equal(true);
      const nextSecond = session(chain(newId('sid'), [{ draft: issued(sub, T0), time: at(1000) }]));
      expect(isSessionRevoked(nextSecond, cutOff)).to.equal(false);
    });

    it('derives expiry from exp and the time asked', () => {
      const [first] = lifecycle() as [IssuedEvent];
      const state = session([first]);
      const exp = first.access.exp * 1000;
      expect(exp).to.equal(Math.floor(T0 / 1000) * 1000 + ACCESS_TTL * 1000);
      expect(tokenStatus(state, first.access.jti, null, exp - 1)?.status).to.equal('active');
      expect(tokenStatus(state, first.access.jti, null, exp)?.status).to.equal('expired');
    });

    it('ranks revoked over rotated over expired', () => {
      const events = lifecycle((first) => [revoked.token(sub, first.refresh.jti)]);
      const [first] = events as [IssuedEvent];
      const late = first.refresh.exp * 1000 + 1;
      expect(tokenStatus(session(events), first.refresh.jti, null, late)?.status).to.equal(
        'revoked',
      );
      const rotatedOnly = session(events.slice(0, 2));
      expect(tokenStatus(rotatedOnly, first.refresh.jti, null, late)?.status).to.equal('rotated');
      expect(tokenStatus(rotatedOnly, first.access.jti, null, late)?.status).to.equal('expired');
      const cutOff = subjectOf({ time: 0, before: 0 });
      expect(tokenStatus(rotatedOnly, first.refresh.jti, cutOff, late)?.status).to.equal('revoked');
    });

    it('knows nothing of a token its session does not hold', () => {
      expect(tokenStatus(session(lifecycle()), newId('at'), null, T0)).to.equal(null);
    });
  });
});
