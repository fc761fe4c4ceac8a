/**
 * Store contract, checkpoints and archives: stream heads as of a time, the checkpoint sequence
 * (one writer per seq), ended sessions, the archived-streams index and removal, on the store under
 * test (see contract.ts).
 */
import { ConcurrencyError } from '../../lib/errors.js';
import { isEnded } from '../../lib/ledger/checkpoints/ended.js';
import { checkCheckpoint, makeCheckpoint } from '../../lib/ledger/checkpoints/index.js';
import type { LedgerEvent } from '../../lib/ledger/events.js';
import { Ledger } from '../../lib/ledger/ledger.js';
import type { ArchivedStream, LedgerStore } from '../../lib/ledger/store.js';
import { loadKeys } from '../../lib/tokens/keys.js';
import { fakeClock } from '../support/clock.js';
import { keyPair } from '../support/keys.js';
import { T0, at, chain, issued, newId, refreshed, revoked, sessionEvents } from './drafts.js';
import { expect } from './expect.js';
import { issue, rotate, session, type ContractContext } from './support.js';

async function appendAll(store: LedgerStore, events: readonly LedgerEvent[]): Promise<void> {
  for (const event of events) await store.appendEvent(event);
}

export async function checkpointDeps(store: LedgerStore, clock = fakeClock()) {
  const pair = await keyPair('ES256');
  const keys = await loadKeys(
    { privateKeyPem: pair.privatePem, alg: 'ES256' },
    {
      defaultAlgorithm: 'ES256',
    },
  );
  return { store, keys, issuer: 'https://auth.example.org', clock, settleSeconds: 0 };
}

function archivedOf(events: readonly LedgerEvent[], archive: string): ArchivedStream {
  const first = events[0] as LedgerEvent;
  const last = events.at(-1) as LedgerEvent;
  return {
    stream: first.stream,
    sub: first.sub,
    archive,
    seq: last.seq,
    hash: last.hash,
    from: first.time,
    to: last.time,
    jtis: events.flatMap((event) => event.jtis),
  };
}

export function checkpointsContract(context: ContractContext): void {
  describe('checkpoints on this store', () => {
    it('gives each stream its last event at or before a time', () =>
      context.fresh(async (store) => {
        const [a, b, c] = [newId('sid'), newId('sid'), newId('sid')];
        await appendAll(store, sessionEvents(a, newId('sub'), T0, 3)); // T0 .. T0+3s
        await appendAll(store, sessionEvents(b, newId('sub'), T0 + 2000, 1)); // T0+2s, T0+3s
        await appendAll(store, sessionEvents(c, newId('sub'), T0 + 10_000)); // later
        const found = await store.streamHeads(at(2000));
        const events = await store.readStream(a);
        const first = (await store.readStream(b))[0] as LedgerEvent;
        expect(found).to.have.deep.members([
          { stream: a, seq: 3, hash: events[2]?.hash },
          { stream: b, seq: 1, hash: first.hash },
        ]);
        expect(await store.streamHeads(at(-1))).to.deep.equal([]);
      }));

    it('stores one checkpoint per seq: a second write of a seq is refused', () =>
      context.fresh(async (store) => {
        expect(await store.latestCheckpoint()).to.equal(null);
        const record = { seq: 1, jws: 'a.b.c', upto: 100, iat: 105 };
        expect(await store.appendCheckpoint(record)).to.equal(true);
        expect(await store.appendCheckpoint({ ...record, jws: 'x.y.z' })).to.equal(false);
        expect(
          await store.appendCheckpoint({ seq: 2, jws: 'd.e.f', upto: 200, iat: 205 }),
        ).to.equal(true);
        expect(await store.latestCheckpoint()).to.deep.equal({
          seq: 2,
          jws: 'd.e.f',
          upto: 200,
          iat: 205,
        });
        expect((await store.listCheckpoints(0, 10)).map((c) => c.jws)).to.deep.equal([
          'a.b.c',
          'd.e.f',
        ]);
        expect((await store.listCheckpoints(1, 10)).map((c) => c.seq)).to.deep.equal([2]);
        expect((await store.listCheckpoints(0, 1)).map((c) => c.seq)).to.deep.equal([1]);
      }));

    it('lets one of two instances checkpointing at once write each checkpoint', () =>
      context.fresh(async (store) => {
        const clock = fakeClock();
        const ledger = new Ledger({ store, clock });
        for (let i = 0; i < 5; i++) await issue(ledger);
        clock.advance(1000);
        const [one, two] = [await checkpointDeps(store, clock), await checkpointDeps(store, clock)];
        const made = await Promise.all([
          makeCheckpoint(one),
          makeCheckpoint(two),
          makeCheckpoint(one),
          makeCheckpoint(two),
        ]);
        const stored = await store.listCheckpoints(0, 100);
        // Every caller got back a checkpoint that is stored, under its seq.
        for (const { checkpoint } of made) {
          expect(stored.find((record) => record.seq === checkpoint.seq)?.jws).to.equal(
            checkpoint.jws,
          );
        }
        expect(stored.map((record) => record.seq)).to.deep.equal(stored.map((_record, i) => i + 1));
        expect(made.every(({ checkpoint }) => checkpoint.claims.streams === 5)).to.equal(true);
      }));

    it('finds a consistent rewrite of an event after a checkpoint', () =>
      context.fresh(async (store) => {
        const sid = newId('sid');
        const sub = newId('sub');
        const events = sessionEvents(sid, sub, T0, 2);
        await appendAll(store, events);
        await appendAll(store, sessionEvents(newId('sid'), newId('sub'), T0, 1));
        const deps = await checkpointDeps(store, fakeClock(T0 + 5000));
        const { checkpoint } = await makeCheckpoint(deps);
        expect((await checkCheckpoint(store, checkpoint)).ok).to.equal(true);
        // Someone with write access replaces the session by another chain: every hash and
        // link in the log is consistent again, only the signed root knows otherwise.
        await store.removeStreams([{ stream: sid, seq: events.length }]);
        const steps = events.map((event) => ({
          draft:
            event.type === 'refreshed'
              ? refreshed({ sub, refreshJti: event.spent }, event.time.getTime())
              : issued(sub, T0),
          time: event.time,
        }));
        await appendAll(store, chain(sid, steps));
        const check = await checkCheckpoint(store, checkpoint);
        expect(check.ok).to.equal(false);
        expect(check.computed).to.not.equal(check.signed);
      }));
  });

  describe('archives on this store', () => {
    it('finds sessions revoked or expired before a date, with nothing recorded since', () =>
      context.fresh(async (store) => {
        const clock = fakeClock();
        const ledger = new Ledger({ store, clock });
        const logout = await issue(ledger);
        await ledger.execute(logout.sid, () => revoked.session(logout.sub));
        const expired = await issue(ledger); // refresh token lives 3600 s
        const live = await issue(ledger);
        clock.advance(3_000_000);
        await ledger.execute(live.sid, rotate);
        const before = new Date(T0 + 3_700_000);
        const ended = await store.endedSessions(before, 10);
        expect(ended.map((state) => state.stream).sort()).to.deep.equal(
          [logout.sid, expired.sid].sort(),
        );
        expect(ended.every((state) => isEnded(state, before))).to.equal(true);
        // Revoked, but not before the date: not yet.
        expect((await store.endedSessions(new Date(T0), 10)).map((s) => s.stream)).to.deep.equal(
          [],
        );
        const [first] = [...ended].sort((a, b) => (a.stream < b.stream ? -1 : 1));
        const rest = await store.endedSessions(before, 10, first?.stream);
        expect(rest.map((state) => state.stream)).to.deep.equal(
          ended.map((s) => s.stream).filter((s) => s !== first?.stream),
        );
        expect(await store.endedSessions(before, 1)).to.have.length(1);
      }));

    it('keeps the archived-streams index: first archive wins, found by stream, sub, token, time', () =>
      context.fresh(async (store) => {
        const [a, b] = [newId('sid'), newId('sid')];
        const sub = newId('sub');
        const eventsA = sessionEvents(a, sub, T0, 1);
        const eventsB = sessionEvents(b, sub, T0 + 60_000);
        const record = {
          id: 'arch-1',
          before: at(100_000),
          created: at(200_000),
          streams: 2,
          events: 3,
          finished: false,
        };
        await store.recordArchive(record, [
          archivedOf(eventsA, 'arch-1'),
          archivedOf(eventsB, 'arch-1'),
        ]);
        await store.recordArchive({ ...record, id: 'arch-2' }, [archivedOf(eventsA, 'arch-2')]);
        expect((await store.findArchived({ stream: a })).map((e) => e.archive)).to.deep.equal([
          'arch-1',
        ]);
        expect(await store.findArchived({ sub })).to.have.length(2);
        const jti = eventsB[0]?.jtis[0] as string;
        expect((await store.findArchived({ jti })).map((e) => e.stream)).to.deep.equal([b]);
        expect((await store.findArchived({ startedBy: at(0) })).map((e) => e.stream)).to.deep.equal(
          [a],
        );
        expect((await store.findArchived({ archive: 'arch-1' })).length).to.equal(2);
        expect((await store.unfinishedArchives()).map((r) => r.id).sort()).to.deep.equal([
          'arch-1',
          'arch-2',
        ]);
        await store.finishArchive('arch-1');
        expect((await store.unfinishedArchives()).map((r) => r.id)).to.deep.equal(['arch-2']);
      }));

    it('removes what an archive holds of streams: events, projection and pending marks up to its seq, and nothing else', async () => {
      const clock = fakeClock();
      const ledger = new Ledger({ store: context.store(), clock });
      const gone = await issue(ledger);
      const kept = await issue(ledger, gone.sub);
      await ledger.execute(gone.sid, rotate);
      const [jti] = (await context.store().readStream(gone.sid))[0]?.jtis ?? [];
      await context.store().markPending(gone.sid, 2);
      await context.store().removeStreams([{ stream: gone.sid, seq: 2 }]);
      const store = context.store();
      expect(await store.readStream(gone.sid)).to.deep.equal([]);
      expect(await store.loadStates([gone.sid])).to.deep.equal([]);
      expect(await store.queryEvents({ sub: gone.sub, limit: 10 })).to.have.length(1);
      expect(await store.queryEvents({ jti: jti as string, limit: 10 })).to.deep.equal([]);
      expect(await store.findSessionByToken(jti as string)).to.equal(null);
      expect((await store.pendingStreams()).map((p) => p.stream)).to.not.include(gone.sid);
      expect((await session(store, kept.sid)).seq).to.equal(1);
      // The other stream's log is intact: its first seq is still taken.
      const [first] = await store.readStream(kept.sid);
      await expect(store.appendEvent(first as LedgerEvent)).to.be.rejectedWith(ConcurrencyError);
    });

    it('keeps what was appended after the archived seq: the event, its snapshot and its mark', async () => {
      const clock = fakeClock();
      const store = context.store();
      const ledger = new Ledger({ store, clock });
      const { sid, sub } = await issue(ledger);
      await ledger.execute(sid, rotate);
      await ledger.execute(sid, () => revoked.session(sub));
      const [, , late] = await store.readStream(sid);
      await store.markPending(sid, 4);
      await store.removeStreams([{ stream: sid, seq: 2 }]);
      expect(await store.readStream(sid)).to.deep.equal([late]);
      expect(await store.queryEvents({ sub, limit: 10 })).to.deep.equal([late]);
      expect((await session(store, sid)).seq).to.equal(3);
      expect((await store.pendingStreams()).find((mark) => mark.stream === sid)?.seq).to.equal(4);
      // Removing the same again (a resumed run) changes nothing.
      await store.removeStreams([{ stream: sid, seq: 2 }]);
      expect(await store.readStream(sid)).to.deep.equal([late]);
    });
  });
}
