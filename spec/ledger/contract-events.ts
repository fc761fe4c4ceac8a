/**
 * Store contract, events: append, read by stream, query for audit, scan (see contract.ts).
 */
import { ConcurrencyError } from '../../lib/errors.js';
import type { LedgerEvent } from '../../lib/ledger/events.js';
import { subjectStream } from '../../lib/ledger/events.js';
import { canonicalJson } from '../../lib/ledger/hash-chain.js';
import type { EventQuery } from '../../lib/ledger/store.js';
import { at, chain, issued, newId, refreshed, revoked, sessionEvents, T0 } from './drafts.js';
import { expect } from './expect.js';
import {
  byPosition,
  collect,
  positions,
  tryToChange,
  type ContractContext,
  type DisposableStore,
} from './support.js';

export function eventsContract(context: ContractContext): void {
  const store = () => context.store();

  describe('appendEvent and readStream', () => {
    it('returns a stream’s events ordered by seq, whatever order they were appended in', async () => {
      const stream = newId('sid');
      const events = sessionEvents(stream, newId('sub'), T0, 3);
      for (const index of [2, 0, 3, 1]) await store().appendEvent(events[index]!);
      expect(await store().readStream(stream)).to.deep.equal(events);
    });

    it('returns only the events after afterSeq', async () => {
      const stream = newId('sid');
      const events = sessionEvents(stream, newId('sub'), T0, 3);
      for (const event of events) await store().appendEvent(event);
      expect(positions(await store().readStream(stream, 2))).to.deep.equal(
        positions(events.slice(2)),
      );
      expect(await store().readStream(stream, 4)).to.deep.equal([]);
      expect(await store().readStream(stream, 0)).to.have.length(4);
    });

    it('returns nothing for an unknown stream and never mixes streams', async () => {
      const [one, two] = [newId('sid'), newId('sid')];
      for (const event of sessionEvents(one, newId('sub'), T0, 1)) {
        await store().appendEvent(event);
      }
      const other = sessionEvents(two, newId('sub'), T0);
      await store().appendEvent(other[0]!);
      expect(await store().readStream(newId('sid'))).to.deep.equal([]);
      expect(await store().readStream(two)).to.deep.equal(other);
    });

    it('round-trips every field of an event exactly', async () => {
      const stream = newId('sid');
      const draft = {
        ...issued(newId('sub'), T0),
        scope: 'openid audit',
        aud: ['api', 'web'],
        claims: { email: 'a@example.org', groups: ['x', 'y'], address: { country: 'FR' } },
      };
      draft.meta = { ...draft.meta, method: 'idp.example.org', actor: 'a', reason: 'r' };
      const [event] = chain(stream, [{ draft, time: at(1) }]);
      await store().appendEvent(event!);
      const [read] = await store().readStream(stream);
      expect(read).to.deep.equal(event);
      expect(read!.time).to.be.an.instanceOf(Date);
      expect(canonicalJson(read)).to.equal(canonicalJson(event));
    });

    it('rejects a second event at a taken (stream, seq) with a ConcurrencyError and keeps the first', async () => {
      const stream = newId('sid');
      const sub = newId('sub');
      const [first] = sessionEvents(stream, sub, T0);
      const [rival] = sessionEvents(stream, sub, T0 + 5);
      await store().appendEvent(first!);
      await expect(store().appendEvent(rival!))
        .to.be.rejectedWith(ConcurrencyError)
        .and.eventually.include({ code: 'ERR_CONCURRENCY', stream, seq: 1 });
      expect(await store().readStream(stream)).to.deep.equal([first]);
    });

    it('lets exactly one of ten concurrent appends at the same seq win', async () => {
      const stream = newId('sid');
      const sub = newId('sub');
      const rivals = Array.from({ length: 10 }, (_, i) => sessionEvents(stream, sub, T0 + i)[0]!);
      const results = await Promise.allSettled(rivals.map((e) => store().appendEvent(e)));
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [rivals[i]] : []));
      const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      expect(won).to.have.length(1);
      expect(lost).to.have.length(9);
      for (const reason of lost) expect(reason).to.be.an.instanceOf(ConcurrencyError);
      expect(await store().readStream(stream)).to.deep.equal(won);
    });

    it('accepts the same seq on different streams', async () => {
      const sub = newId('sub');
      const streams = [newId('sid'), newId('sid'), subjectStream(sub)];
      const firsts = [
        ...sessionEvents(streams[0]!, sub, T0),
        ...sessionEvents(streams[1]!, sub, T0),
        ...chain(streams[2]!, [{ draft: revoked.subject(sub, at(0)), time: at(0) }]),
      ];
      await Promise.all(firsts.map((event) => store().appendEvent(event)));
      for (const [i, stream] of streams.entries()) {
        expect(await store().readStream(stream)).to.deep.equal([firsts[i]]);
      }
    });

    it('keeps what was appended when the caller mutates its objects afterwards', async () => {
      const stream = newId('sid');
      const [event] = sessionEvents(stream, newId('sub'), T0);
      const original = structuredClone(event!);
      await store().appendEvent(event!);
      event!.jtis.push('forged');
      event!.meta.reason = 'forged';
      event!.time.setTime(0);
      const [read] = await store().readStream(stream);
      expect(read).to.deep.equal(original);
      tryToChange(() => (read!.jtis.length = 0));
      tryToChange(() => (read!.meta.source = 'forged'));
      tryToChange(() => read!.time.setTime(0));
      const [query] = await store().queryEvents({ stream, limit: 1 });
      tryToChange(() => (query!.seq = 99));
      expect(await store().readStream(stream)).to.deep.equal([original]);
      expect(await store().queryEvents({ stream, limit: 5 })).to.deep.equal([original]);
    });
  });

  describe('queryEvents', () => {
    const subA = newId('sub');
    const subB = newId('sub');
    // Prefixes fix the stream order ("a" < "b") against the append order.
    const s1 = `b-${newId('sid')}`;
    const s2 = `a-${newId('sid')}`;
    const s3 = newId('sid');
    let all: LedgerEvent[] = [];
    let own: DisposableStore;

    before(async () => {
      const i1 = issued(subA, T0);
      const r1 = refreshed({ sub: subA, refreshJti: i1.refresh.jti }, T0 + 2000);
      const i2 = issued(subA, T0);
      const r2 = refreshed({ sub: subA, refreshJti: i2.refresh.jti }, T0 + 2000);
      all = [
        ...chain(s1, [
          { draft: i1, time: at(0) },
          { draft: r1, time: at(2000) },
          { draft: revoked.token(subA, i1.access.jti), time: at(4000) },
        ]),
        ...chain(s2, [
          { draft: i2, time: at(0) },
          { draft: r2, time: at(2000) },
          { draft: revoked.token(subA, r2.access.jti), time: at(2000) },
        ]),
        ...chain(s3, [
          { draft: issued(subB, T0 + 1000), time: at(1000) },
          { draft: revoked.session(subB), time: at(3000) },
        ]),
        ...chain(subjectStream(subA), [{ draft: revoked.subject(subA, at(5000)), time: at(5000) }]),
      ];
      own = await context.open();
      for (const event of [...all].reverse()) await own.store.appendEvent(event);
    });
    after(async () => {
      await own.dispose();
    });

    async function expectQuery(query: EventQuery, keep: (e: LedgerEvent) => boolean) {
      const expected = all.filter(keep).sort(byPosition).slice(0, query.limit);
      expect(expected, 'the query selects something').to.not.be.empty;
      expect(positions(await own.store.queryEvents(query))).to.deep.equal(positions(expected));
    }

    it('orders events by time, then stream, then seq', async () => {
      const events = await own.store.queryEvents({ limit: 100 });
      expect(events).to.deep.equal([...all].sort(byPosition));
      expect(positions(events).slice(0, 2)).to.deep.equal([`${s2}#1`, `${s1}#1`]);
    });

    it('filters by subject, by stream and by type', async () => {
      await expectQuery({ sub: subA, limit: 100 }, (e) => e.sub === subA);
      await expectQuery({ stream: s3, limit: 100 }, (e) => e.stream === s3);
      await expectQuery({ type: 'revoked', limit: 100 }, (e) => e.type === 'revoked');
      await expectQuery({ type: 'refreshed', limit: 100 }, (e) => e.type === 'refreshed');
    });

    it('filters by any token id an event concerns', async () => {
      const first = all[0] as Extract<LedgerEvent, { type: 'issued' }>;
      // The access token: issued, then revoked; the refresh token: issued, then spent.
      await expectQuery({ jti: first.access.jti, limit: 100 }, (e) =>
        e.jtis.includes(first.access.jti),
      );
      await expectQuery({ jti: first.refresh.jti, limit: 100 }, (e) =>
        e.jtis.includes(first.refresh.jti),
      );
      expect(await own.store.queryEvents({ jti: first.access.jti, limit: 100 })).to.have.length(2);
      expect(await own.store.queryEvents({ jti: newId('at'), limit: 100 })).to.deep.equal([]);
    });

    it('includes events at `from` and excludes events at `to`', async () => {
      await expectQuery({ from: at(2000), limit: 100 }, (e) => e.time >= at(2000));
      await expectQuery({ to: at(2000), limit: 100 }, (e) => e.time < at(2000));
      await expectQuery(
        { from: at(1000), to: at(3000), limit: 100 },
        (e) => e.time >= at(1000) && e.time < at(3000),
      );
      expect(await own.store.queryEvents({ from: at(3000), to: at(3000), limit: 9 })).to.be.empty;
    });

    it('resumes strictly after a position', async () => {
      const sorted = [...all].sort(byPosition);
      for (const index of [0, 3, 5, sorted.length - 1]) {
        const position = sorted[index]!;
        const rest = await own.store.queryEvents({ after: position, limit: 100 });
        expect(positions(rest)).to.deep.equal(positions(sorted.slice(index + 1)));
      }
    });

    it('returns at most `limit` events, the first ones in order', async () => {
      await expectQuery({ limit: 2 }, () => true);
      await expectQuery(
        { sub: subA, type: 'revoked', limit: 1 },
        (e) => e.sub === subA && e.type === 'revoked',
      );
    });

    it('combines every filter', async () => {
      const sorted = [...all].sort(byPosition);
      await expectQuery(
        { sub: subA, type: 'revoked', from: at(2000), to: at(5001), after: sorted[0]!, limit: 9 },
        (e) => e.sub === subA && e.type === 'revoked' && e.time >= at(2000) && e.time < at(5001),
      );
    });
  });

  describe('scanEvents and countEvents', () => {
    it('scans every event ordered by stream, then seq, and counts them', async () => {
      await context.fresh(async (own) => {
        expect(await own.countEvents()).to.equal(0);
        const sub = newId('sub');
        const events = [
          ...sessionEvents(`c-${newId('sid')}`, sub, T0 + 9000, 2),
          ...sessionEvents(`a-${newId('sid')}`, sub, T0, 1),
          ...chain(subjectStream(sub), [{ draft: revoked.subject(sub, at(1)), time: at(1) }]),
        ];
        for (const event of [...events].reverse()) await own.appendEvent(event);
        const expected = [...events].sort(
          (a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0) || a.seq - b.seq,
        );
        expect(await collect(own.scanEvents())).to.deep.equal(expected);
        expect(await own.countEvents()).to.equal(events.length);
      });
    });
  });
}
