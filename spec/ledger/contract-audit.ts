/**
 * Store contract, audit and integrity: history pages, point-in-time answers, lineage, verify and
 * rebuild, on the store under test (see contract.ts).
 */
import { LedgerInputError } from '../../lib/errors.js';
import {
  history,
  lineage,
  sessionAt,
  sessionLineage,
  tokenAt,
  type HistoryQuery,
} from '../../lib/ledger/audit.js';
import type { LedgerEvent } from '../../lib/ledger/events.js';
import { subjectStream } from '../../lib/ledger/events.js';
import { canonicalJson } from '../../lib/ledger/hash-chain.js';
import { rebuildProjection, verifyLedger } from '../../lib/ledger/integrity.js';
import { Ledger } from '../../lib/ledger/ledger.js';
import { fold, tokenStatus } from '../../lib/ledger/projection.js';
import { fakeClock } from '../support/clock.js';
import {
  BAD_IDS,
  collect,
  issue,
  positions,
  rotate,
  session,
  type ContractContext,
} from './support.js';
import { newId, revoked, sessionEvents, T0 } from './drafts.js';
import { expect } from './expect.js';
import { spyStore } from './wrappers.js';

export function auditContract(context: ContractContext): void {
  const store = () => context.store();

  describe('history on this store', () => {
    it('walks every event of a query exactly once, oldest first, one page at a time', async () => {
      const clock = fakeClock();
      const ledger = new Ledger({ store: store(), clock });
      const sub = newId('sub');
      const [a, b] = [await issue(ledger, sub), await issue(ledger, sub)];
      for (let i = 0; i < 5; i++) {
        // Both sessions rotate at the same instant: pages must split ties by stream and seq.
        await ledger.execute(a.sid, rotate);
        await ledger.execute(b.sid, rotate);
        if (i % 2) clock.advance(1000);
      }
      const all = await store().queryEvents({ sub, limit: 100 });
      expect(all).to.have.length(12);
      const seen: LedgerEvent[] = [];
      const sizes: number[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const page = await history(ledger, { sub, limit: 5, ...(cursor && { cursor }) });
        seen.push(...page.events);
        sizes.push(page.events.length);
        if (page.nextCursor === null) break;
        cursor = page.nextCursor;
      }
      expect(sizes).to.deep.equal([5, 5, 2]);
      expect(positions(seen)).to.deep.equal(positions(all));
    });

    it('ends on a full last page with no cursor', async () => {
      const ledger = new Ledger({ store: store(), clock: fakeClock() });
      const { sid } = await issue(ledger);
      await ledger.execute(sid, rotate);
      const page = await history(ledger, { sid, limit: 2 });
      expect(page.events).to.have.length(2);
      expect(page.nextCursor).to.equal(null);
    });

    it('answers by session, token, type and time range', async () => {
      const clock = fakeClock(T0);
      const ledger = new Ledger({ store: store(), clock });
      const { sid, sub } = await issue(ledger);
      clock.advance(1000);
      const rotated = await ledger.execute(sid, rotate);
      clock.advance(1000);
      const access = (rotated!.event as Extract<LedgerEvent, { type: 'issued' | 'refreshed' }>)
        .access.jti;
      await ledger.execute(sid, () => revoked.token(sub, access));
      const seqs = async (query: HistoryQuery) =>
        (await history(ledger, query)).events.map(
          (e) => `${e.stream === sid ? 's' : e.stream}${e.seq}`,
        );
      expect(await seqs({ sid })).to.deep.equal(['s1', 's2', 's3']);
      expect(await seqs({ jti: access })).to.deep.equal(['s2', 's3']);
      expect(await seqs({ sid, type: 'revoked' })).to.deep.equal(['s3']);
      expect(await seqs({ sid, from: new Date(T0 + 1000) })).to.deep.equal(['s2', 's3']);
      expect(await seqs({ sid, to: new Date(T0 + 1000) })).to.deep.equal(['s1']);
    });

    it('rejects bad input with a LedgerInputError and queries nothing', async () => {
      const spy = spyStore(store());
      const ledger = new Ledger({ store: spy.store, clock: fakeClock() });
      const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const bad: Record<string, unknown>[] = [
        ...['sub', 'sid', 'jti', 'type'].flatMap((field) =>
          BAD_IDS.filter((v) => v !== null).map((value) => ({ [field]: value })),
        ),
        { type: 'deleted' },
        ...['', 'not a cursor', 42, { $gt: '' }, ['x']].map((cursor) => ({ cursor })),
        { cursor: cursorOf({ time: 1 }) },
        { cursor: cursorOf([T0, { $ne: null }, 1]) },
        { cursor: cursorOf([T0, 'sid', 1.5]) },
        // Safe integers beyond the Date range (+-8.64e15 ms) would decode to an Invalid Date.
        ...[9e15, -9e15, Number.MAX_SAFE_INTEGER].map((time) => ({
          cursor: cursorOf([time, 's', 1]),
        })),
        ...[0, -1].map((seq) => ({ cursor: cursorOf([T0, 'sid', seq]) })),
        ...['', 'x'.repeat(513)].map((stream) => ({ cursor: cursorOf([T0, stream, 1]) })),
        { cursor: 'x'.repeat(3000) },
        ...[0, -1, 501, 1.5, '10'].map((limit) => ({ limit })),
        { from: 'yesterday' },
        { to: new Date(Number.NaN) },
      ];
      for (const query of bad) {
        await expect(
          history(ledger, query as HistoryQuery),
          JSON.stringify(query),
        ).to.be.rejectedWith(LedgerInputError);
      }
      expect(spy.calls).to.deep.equal([]);
    });
  });

  describe('audit answers on this store', () => {
    it('says what a token’s status was at any past time', async () => {
      const clock = fakeClock(T0);
      const ledger = new Ledger({ store: store(), clock });
      const { sid, sub } = await issue(ledger);
      const first = (await session(store(), sid)).tokens;
      clock.advance(10_000);
      await ledger.execute(sid, rotate);
      clock.advance(10_000);
      await ledger.execute(sid, () => revoked.session(sub));
      const status = async (index: number, offset: number) =>
        (await tokenAt(ledger, first[index]!.jti, new Date(T0 + offset))).status;
      expect(await status(1, -1)).to.equal('unknown');
      expect(await status(1, 0)).to.equal('active');
      expect(await status(1, 10_000)).to.equal('rotated');
      expect(await status(1, 20_000)).to.equal('revoked');
      expect(await status(0, 9_999)).to.equal('active');
      expect((await tokenAt(ledger, newId('at'), new Date(T0))).status).to.equal('unknown');
      expect((await sessionAt(ledger, sid, new Date(T0 + 19_999))).status).to.equal('active');
      expect((await sessionAt(ledger, sid, new Date(T0 + 20_000))).status).to.equal('revoked');
      expect((await sessionAt(ledger, newId('sid'), new Date(T0))).status).to.equal('unknown');
    });

    it('lists a session’s rotation lineage', async () => {
      const ledger = new Ledger({ store: store(), clock: fakeClock() });
      const { sid } = await issue(ledger);
      await ledger.execute(sid, rotate);
      const state = await session(store(), sid);
      const [a1, r1, a2, r2] = state.tokens.map((t) => t.jti);
      expect(lineage(state)).to.deep.equal([
        { jti: a1, type: 'access', parent: null, replacedBy: null },
        { jti: r1, type: 'refresh', parent: null, replacedBy: r2 },
        { jti: a2, type: 'access', parent: r1, replacedBy: null },
        { jti: r2, type: 'refresh', parent: r1, replacedBy: null },
      ]);
      const view = tokenStatus(state, r1!, null, T0);
      expect(view?.status).to.equal('rotated');
    });
  });

  describe('integrity on this store', () => {
    it('verifies an untampered ledger and rebuilds exactly the live projection', async () => {
      await context.fresh(async (own) => {
        const clock = fakeClock();
        const ledger = new Ledger({ store: own, clock });
        const sub = newId('sub');
        const sessions = [await issue(ledger, sub), await issue(ledger, sub), await issue(ledger)];
        clock.advance(1000);
        await ledger.execute(sessions[0]!.sid, rotate);
        await ledger.execute(sessions[1]!.sid, () => revoked.session(sub));
        await ledger.execute(subjectStream(sub), (_s, { now }) =>
          revoked.subject(sub, new Date(now)),
        );
        const before = (await collect(own.scanStates())).map((s) => canonicalJson(s));

        expect(await verifyLedger(own)).to.deep.equal({
          ok: true,
          streams: 4,
          events: 6,
          problems: [],
        });
        expect(await rebuildProjection(own, { dryRun: true })).to.deep.equal({
          streams: 4,
          events: 6,
          differences: [],
          written: false,
        });
        expect(await rebuildProjection(own)).to.include({ streams: 4, events: 6, written: true });
        expect((await collect(own.scanStates())).map((s) => canonicalJson(s))).to.deep.equal(
          before,
        );
      });
    });

    it('prunes long-expired tokens alike live and on rebuild, and still answers for them from the log', async () => {
      await context.fresh(async (own) => {
        const clock = fakeClock(T0);
        const ledger = new Ledger({ store: own, clock });
        const { sid } = await issue(ledger);
        const first = (await session(own, sid)).tokens;
        // Rotations two hours apart: each drops the tokens expired more than an hour before.
        for (let i = 0; i < 4; i++) {
          clock.advance(7_200_000);
          await ledger.execute(sid, rotate);
        }
        const live = await session(own, sid);
        const held = live.tokens.map((t) => t.jti);
        expect(held).to.not.include.members(first.map((t) => t.jti));
        // Kept: the last pair, and the refresh token it replaced (expired exactly an hour ago).
        expect(live.tokens).to.have.length(3);
        expect(held).to.include(live.refreshJti);
        for (const token of first) {
          expect(await own.findSessionByToken(token.jti)).to.equal(null);
          expect((await ledger.findByToken(token.jti)).session).to.equal(null);
        }
        expect(await own.findSessionByToken(live.refreshJti)).to.deep.equal(live);

        // Point in time and lineage come from the log, so pruning loses nothing there.
        const [access, refresh] = first;
        expect((await tokenAt(ledger, access!.jti, new Date(T0))).status).to.equal('active');
        expect((await tokenAt(ledger, refresh!.jti, new Date(T0 + 7_200_000))).status).to.equal(
          'rotated',
        );
        expect((await tokenAt(ledger, access!.jti, new Date(clock()))).status).to.equal('expired');
        const complete = await sessionLineage(ledger, sid);
        expect(complete).to.have.length(10);
        expect(complete[1]).to.deep.include({ jti: refresh!.jti, parent: null });
        expect(lineage(live)).to.deep.equal(complete.slice(7));

        const before = (await collect(own.scanStates())).map((s) => canonicalJson(s));
        expect(canonicalJson(fold(await own.readStream(sid)))).to.equal(canonicalJson(live));
        expect((await rebuildProjection(own, { dryRun: true })).differences).to.deep.equal([]);
        expect(await rebuildProjection(own)).to.include({ events: 5, written: true });
        expect((await collect(own.scanStates())).map((s) => canonicalJson(s))).to.deep.equal(
          before,
        );
      });
    });

    it('reports how a projection differs from the log, and a rebuild makes them agree', async () => {
      await context.fresh(async (own) => {
        const ledger = new Ledger({ store: own, clock: fakeClock() });
        const changed = await issue(ledger);
        const [extra, missing] = ['x', 'y'].map(() => newId('sid'));
        // A projection ahead of its log with content no event produced.
        const forged = { ...(await session(own, changed.sid)), seq: 2, refreshJti: 'forged' };
        expect(await own.saveState(forged, 1)).to.equal(true);
        await own.saveState(fold(sessionEvents(extra!, newId('sub'), T0))!, 0);
        for (const event of sessionEvents(missing!, newId('sub'), T0)) await own.appendEvent(event);

        const report = await rebuildProjection(own, { dryRun: true });
        expect(report.differences).to.have.deep.members([
          { stream: changed.sid, kind: 'different' },
          { stream: extra, kind: 'extra' },
          { stream: missing, kind: 'missing' },
        ]);
        await rebuildProjection(own);
        expect((await rebuildProjection(own, { dryRun: true })).differences).to.deep.equal([]);
        expect(await own.loadStates([extra!])).to.deep.equal([]);
      });
    });
  });
}
