import type { Collection, Document } from 'mongodb';
import type { LedgerEvent } from '../../lib/ledger/events.js';
import { subjectStream } from '../../lib/ledger/events.js';
import {
  canonicalForm,
  canonicalJson,
  hashEvent,
  verifyStream,
  type ChainProblem,
} from '../../lib/ledger/hash-chain.js';
import { verifyLedger } from '../../lib/ledger/integrity.js';
import { Ledger } from '../../lib/ledger/ledger.js';
import { MongoStore } from '../../lib/ledger/mongo-store.js';
import { fakeClock } from '../support/clock.js';
import { openTestDatabase, type TestDatabase } from '../support/db.js';
import { at, chain, issued, newId, refreshed, revoked, sessionEvents, T0 } from './drafts.js';
import { expect } from './expect.js';

/** `seq problem` of each problem, for compact assertions. */
function summary(problems: readonly ChainProblem[]): string[] {
  return problems.map((p) => `${p.seq} ${p.problem}`);
}

describe('hash chain', () => {
  describe('canonical form and hash', () => {
    it('is the same whatever the key order, and leaves the hash out', () => {
      const [event] = sessionEvents(newId('sid'), newId('sub'), T0);
      const reordered = Object.fromEntries(Object.entries(event!).reverse()) as LedgerEvent;
      expect(canonicalForm(reordered)).to.equal(canonicalForm(event!));
      expect(canonicalForm({ ...event!, hash: 'other' })).to.equal(canonicalForm(event!));
      expect(canonicalForm(event!)).to.not.include(event!.hash);
      expect(canonicalForm(event!)).to.include(`"time":"${new Date(T0).toISOString()}"`);
    });

    it('changes with every field of the event', () => {
      const [, event] = sessionEvents(newId('sid'), newId('sub'), T0, 1) as [
        LedgerEvent,
        Extract<LedgerEvent, { type: 'refreshed' }>,
      ];
      const hash = hashEvent(event);
      const variants: LedgerEvent[] = [
        { ...event, seq: 3 },
        { ...event, stream: 'other' },
        { ...event, time: new Date(T0 + 1) },
        { ...event, sub: 'other' },
        { ...event, prev: null },
        { ...event, jtis: event.jtis.slice(1) },
        { ...event, meta: { ...event.meta, ip: '198.51.100.7' } },
        { ...event, spent: 'other' },
        { ...event, access: { ...event.access, exp: event.access.exp + 1 } },
      ];
      for (const variant of variants) expect(hashEvent(variant)).to.not.equal(hash);
    });

    it('keeps every own member in the canonical form, one named __proto__ included', () => {
      const value = JSON.parse('{"a": 1, "__proto__": {"b": 2}, "c": {"__proto__": null}}');
      expect(canonicalJson(value)).to.equal('{"__proto__":{"b":2},"a":1,"c":{"__proto__":null}}');
      const [event] = sessionEvents(newId('sid'), newId('sub'), T0);
      const meta = JSON.parse('{"__proto__": {"reason": "compromised"}}') as LedgerEvent['meta'];
      expect(hashEvent({ ...event!, meta })).to.not.equal(hashEvent({ ...event!, meta: {} }));
    });

    it('treats an absent optional field and an undefined one alike, and refuses what JSON cannot hold', () => {
      expect(canonicalJson({ a: 1, b: undefined })).to.equal(canonicalJson({ a: 1 }));
      expect(() => canonicalJson({ a: () => 1 })).to.throw(TypeError);
      expect(() => canonicalJson({ a: 1n })).to.throw(TypeError);
    });
  });

  describe('verifyStream', () => {
    const stream = newId('sid');
    const events = sessionEvents(stream, newId('sub'), T0, 3);

    it('finds nothing wrong with an intact chain that ends where the projection says', () => {
      expect(verifyStream(stream, events)).to.deep.equal([]);
      expect(verifyStream(stream, events, { seq: 4, hash: events[3]!.hash })).to.deep.equal([]);
    });

    it('names the first missing seq once per gap', () => {
      const gap = [events[0]!, events[3]!];
      expect(summary(verifyStream(stream, gap))).to.deep.equal(['2 missing', '4 broken_link']);
      expect(summary(verifyStream(stream, events.slice(1)))).to.deep.equal([
        '1 missing',
        '2 broken_link',
      ]);
    });

    it('reports an event that names another stream', () => {
      expect(summary(verifyStream('elsewhere', events.slice(0, 1)))).to.deep.equal(['1 altered']);
    });

    it('reports a log that ends before the projection, or with another last event', () => {
      expect(verifyStream(stream, events.slice(0, 3), { seq: 4, hash: 'x' })).to.deep.include({
        stream,
        seq: 4,
        problem: 'missing_tail',
        detail: 'projection is at seq 4, log ends at 3',
      });
      expect(summary(verifyStream(stream, events, { seq: 4, hash: 'x' }))).to.deep.equal([
        '4 altered',
      ]);
    });
  });

  describe('tampering with the MongoDB collection', () => {
    let t: TestDatabase;
    before(async () => {
      t = await openTestDatabase('hash-chain');
    });
    after(async () => {
      await t.dispose();
    });

    /**
     * A ledger on collections of its own with two sessions of four events and one subject stream;
     * the tests tamper with `target` and expect `verifyLedger` to name only it.
     */
    async function ledgerWithHistory() {
      const names = { events: newId('events'), state: newId('state'), pending: newId('pending') };
      const store = new MongoStore({ db: t.db, collections: names });
      const clock = fakeClock();
      const ledger = new Ledger({ store, clock });
      await ledger.open();
      const sub = newId('sub');
      const [target, bystander] = [newId('sid'), newId('sid')];
      for (const sid of [target, bystander]) {
        await ledger.execute(sid, (_s, { now }) => issued(sub, now));
        for (let i = 0; i < 2; i++) {
          clock.advance(1000);
          await ledger.execute(sid, (state, { now }) =>
            state?.kind === 'session' ? refreshed(state, now) : null,
          );
        }
        await ledger.execute(sid, () => revoked.session(sub));
      }
      await ledger.execute(subjectStream(sub), (_s, { now }) =>
        revoked.subject(sub, new Date(now)),
      );
      const events: Collection<Document> = t.db.collection(names.events);
      const state: Collection<Document> = t.db.collection(names.state);
      return { store, target, events, state };
    }

    async function problemsOf(store: MongoStore, target: string): Promise<string[]> {
      const report = await verifyLedger(store);
      expect(report.ok).to.equal(false);
      for (const problem of report.problems) expect(problem.stream).to.equal(target);
      return summary(report.problems);
    }

    it('verifies an untampered ledger', async () => {
      const { store } = await ledgerWithHistory();
      expect(await verifyLedger(store)).to.deep.equal({
        ok: true,
        streams: 3,
        events: 9,
        problems: [],
      });
    });

    it('reports an edited field of a middle event as altered at its seq', async () => {
      const { store, target, events } = await ledgerWithHistory();
      await events.updateOne({ stream: target, seq: 2 }, { $set: { 'meta.ip': '203.0.113.9' } });
      expect(await problemsOf(store, target)).to.deep.equal(['2 altered']);
    });

    it('reports a member named __proto__ inserted into an event, as the audit log would show it', async () => {
      const { store, target, events } = await ledgerWithHistory();
      await events.updateOne(
        { stream: target, seq: 2 },
        { $set: { 'meta.__proto__': { reason: 'compromised' } } },
      );
      // A top-level member, spelled as JSON: an object literal's __proto__ would set the prototype.
      await events.updateOne(
        { stream: target, seq: 1 },
        { $set: JSON.parse('{"__proto__": {"v": 2}}') as Document },
      );
      // Read back as an own member, which the audit route and the CLI print.
      const [first, second] = await store.readStream(target);
      expect(JSON.stringify(second?.meta)).to.include('"__proto__":{"reason":"compromised"}');
      expect(Object.keys(first!)).to.include('__proto__');
      const report = await verifyLedger(store);
      expect(report.ok).to.equal(false);
      expect(
        report.problems.filter((p) => p.detail === 'hash does not match content'),
      ).to.deep.equal([
        { stream: target, seq: 1, problem: 'altered', detail: 'hash does not match content' },
        { stream: target, seq: 2, problem: 'altered', detail: 'hash does not match content' },
      ]);
    });

    it('reports an edited event whose hash was recomputed as a broken link after it', async () => {
      const { store, target, events } = await ledgerWithHistory();
      const original = (await store.readStream(target))[1]!;
      const forged = { ...original, sub: 'someone-else' };
      forged.hash = hashEvent(forged);
      await events.updateOne(
        { stream: target, seq: 2 },
        { $set: { sub: forged.sub, hash: forged.hash } },
      );
      expect(await problemsOf(store, target)).to.deep.equal(['3 broken_link']);
    });

    it('reports a deleted middle event as missing at its seq', async () => {
      const { store, target, events } = await ledgerWithHistory();
      await events.deleteOne({ stream: target, seq: 2 });
      expect(await problemsOf(store, target)).to.deep.equal(['2 missing', '3 broken_link']);
    });

    it('reports a deleted last event through the projection’s head', async () => {
      const { store, target, events } = await ledgerWithHistory();
      await events.deleteOne({ stream: target, seq: 4 });
      expect(await problemsOf(store, target)).to.deep.equal(['4 missing_tail']);
    });

    it('reports a last event replaced by a consistent forgery through the projection’s head', async () => {
      const { store, target, events } = await ledgerWithHistory();
      const last = (await store.readStream(target))[3]!;
      const forged = { ...last, meta: { reason: 'expired', actor: 'system' } };
      forged.hash = hashEvent(forged);
      await events.updateOne(
        { stream: target, seq: 4 },
        { $set: { meta: forged.meta, hash: forged.hash } },
      );
      expect(await problemsOf(store, target)).to.deep.equal(['4 altered']);
    });

    it('reports two events whose seqs were swapped', async () => {
      const { store, target, events } = await ledgerWithHistory();
      // Through a free seq, since (stream, seq) is unique.
      await events.updateOne({ stream: target, seq: 2 }, { $set: { seq: -2 } });
      await events.updateOne({ stream: target, seq: 3 }, { $set: { seq: 2 } });
      await events.updateOne({ stream: target, seq: -2 }, { $set: { seq: 3 } });
      const problems = await problemsOf(store, target);
      expect(problems).to.include.members(['2 altered', '2 broken_link', '3 altered']);
    });

    it('reports a stream whose events were all deleted while its projection remains', async () => {
      const { store, target, events, state } = await ledgerWithHistory();
      await events.deleteMany({ stream: target });
      expect(await state.countDocuments({ stream: target })).to.equal(1);
      const report = await verifyLedger(store);
      expect(report.problems).to.deep.equal([
        {
          stream: target,
          seq: 1,
          problem: 'missing_tail',
          detail: 'projection is at seq 4, log has no events',
        },
      ]);
      expect(report).to.include({ ok: false, streams: 2, events: 5 });
    });

    it('still verifies an event appended by hand with a valid link', async () => {
      const { store, target } = await ledgerWithHistory();
      const last = (await store.readStream(target))[3]!;
      const [next] = chain(target, [{ draft: revoked.session('x'), time: at(9000) }], last);
      await store.appendEvent(next!);
      // The projection lags one event behind: a lag is not tampering.
      expect((await verifyLedger(store)).ok).to.equal(true);
    });
  });
});
