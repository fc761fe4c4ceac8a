/**
 * The session projection keeps only tokens that can still matter: `evolve` drops those expired more
 * than TOKEN_RETENTION_MS before an event's time, never the current refresh token. The log keeps
 * everything, and `foldComplete` answers from it.
 */
import type { EventDraft, IssuedEvent, LedgerEvent } from '../../lib/ledger/events.js';
import { canonicalJson } from '../../lib/ledger/hash-chain.js';
import {
  evolve,
  fold,
  foldComplete,
  TOKEN_RETENTION_MS,
  tokenStatus,
  type SessionState,
} from '../../lib/ledger/projection.js';
import { chain, issued, newId, refreshed, revoked, T0 } from './drafts.js';
import { expect } from './expect.js';

const sub = 'subject-pruning';

type Step = { at: number; draft: (state: SessionState) => EventDraft };

/** Appends drafts at the given offsets from T0 to a stream, each sealed after the one before. */
function stream(steps: Step[]) {
  const sid = newId('sid');
  const events: LedgerEvent[] = [];
  let state: SessionState | null = null;
  for (const { at, draft } of steps) {
    const [event] = chain(sid, [{ draft: draft(state as SessionState), time: new Date(T0 + at) }], {
      seq: events.length,
      hash: events.at(-1)?.hash ?? null,
    });
    events.push(event!);
    state = fold(events) as SessionState;
  }
  return { events, state: state as SessionState };
}

const rotateAt = (at: number): Step => ({ at, draft: (s: SessionState) => refreshed(s, T0 + at) });

describe('projection pruning', () => {
  it('drops a token once it expired more than the retention before an event, not a moment sooner', () => {
    const first = issued(sub, T0);
    const accessExpMs = first.access.exp * 1000;
    const boundary = accessExpMs + TOKEN_RETENTION_MS - T0;
    const kept = stream([{ at: 0, draft: () => first }, rotateAt(boundary)]).state;
    expect(kept.tokens.map((t) => t.jti)).to.include(first.access.jti);
    const pruned = stream([{ at: 0, draft: () => first }, rotateAt(boundary + 1)]).state;
    expect(pruned.tokens.map((t) => t.jti)).to.not.include(first.access.jti);
    expect(tokenStatus(pruned, first.access.jti, null, T0 + boundary + 1)).to.equal(null);
    // The rotated refresh token has not expired: kept, and still known as rotated (reuse detection).
    expect(tokenStatus(pruned, first.refresh.jti, null, T0 + boundary + 1)?.status).to.equal(
      'rotated',
    );
  });

  it('never drops an unexpired token, nor the current refresh token however long expired', () => {
    const first = issued(sub, T0);
    const late = first.refresh.exp * 1000 + 10 * TOKEN_RETENTION_MS - T0;
    const { state } = stream([
      { at: 0, draft: () => first },
      { at: late, draft: () => revoked.token(sub, first.access.jti) },
      { at: late + 1000, draft: () => revoked.session(sub) },
    ]);
    expect(state.tokens.map((t) => t.jti)).to.deep.equal([first.refresh.jti]);
    expect(state.refreshJti).to.equal(first.refresh.jti);
    expect(tokenStatus(state, first.refresh.jti, null, T0 + late)?.status).to.equal('revoked');

    // Rotations 10 minutes apart: every token younger than its lifetime plus the retention stays.
    const steps: Step[] = [{ at: 0, draft: () => first }];
    for (let i = 1; i <= 20; i++) steps.push(rotateAt(i * 600_000));
    const rotated = stream(steps);
    const now = T0 + 20 * 600_000;
    const complete = foldComplete(rotated.events) as SessionState;
    expect(complete.tokens).to.have.length(42);
    for (const token of complete.tokens) {
      const held = rotated.state.tokens.find((t) => t.jti === token.jti);
      if (token.exp * 1000 >= now - TOKEN_RETENTION_MS) expect(held).to.deep.equal(token);
      else expect(held, token.jti).to.equal(undefined);
    }
    expect(rotated.state.tokens.length).to.be.below(complete.tokens.length);
  });

  it('keeps a session’s state bounded over a thousand rotations', () => {
    const first = issued(sub, T0);
    const sizes: number[] = [];
    const sid = newId('sid');
    let events = chain(sid, [{ draft: first, time: new Date(T0) }]);
    let state = fold(events) as SessionState;
    const all: LedgerEvent[] = [...events];
    for (let i = 1; i <= 1000; i++) {
      const time = T0 + i * 60_000;
      events = chain(sid, [{ draft: refreshed(state, time), time: new Date(time) }], events[0]!);
      all.push(events[0]!);
      state = evolve(state, events[0]!) as SessionState;
      if (i % 100 === 0) sizes.push(canonicalJson(state).length);
    }
    // Refresh tokens live an hour and are kept an hour more: about 2 h / 1 min of each kind.
    expect(state.tokens.length).to.be.at.most(2 * (2 * 60 + 2));
    expect(Math.max(...sizes.slice(2))).to.be.at.most(Math.min(...sizes.slice(2)) * 1.05);
    expect(canonicalJson(state).length).to.be.below(60_000);
    const complete = foldComplete(all) as SessionState;
    expect(complete.tokens).to.have.length(2002);
    expect(canonicalJson(complete).length).to.be.above(300_000);
    expect(fold(all)).to.deep.equal(state);
  });

  it('folds a log to the state that evolving event by event gave, pruned alike', () => {
    const first = issued(sub, T0) as IssuedEvent;
    const steps: Step[] = [{ at: 0, draft: () => first }];
    for (let i = 1; i <= 10; i++) steps.push(rotateAt(i * 1_800_000));
    const { events, state } = stream(steps);
    expect(canonicalJson(fold(events))).to.equal(canonicalJson(state));
    expect(fold([...events, ...events])).to.deep.equal(state);
  });
});
