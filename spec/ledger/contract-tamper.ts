/**
 * Store contract, tamper evidence: a member added to a stored event, whatever its name (`__proto__`,
 * `constructor`, `toJSON`, any string) and wherever it sits, is reported by `verifyLedger` at that
 * event, on the store under test (see contract.ts). An event that does not match the event schema
 * is reported even when its hash was recomputed to match.
 */
import fc from 'fast-check';
import type { LedgerEvent } from '../../lib/ledger/events.js';
import { hashEvent } from '../../lib/ledger/hash-chain.js';
import { verifyLedger } from '../../lib/ledger/integrity.js';
import type { LedgerStore } from '../../lib/ledger/store.js';
import { chain, at, issued, newId, refreshed, revoked } from './drafts.js';
import { expect } from './expect.js';
import type { ContractContext } from './support.js';

/** Names that JavaScript treats specially, then any string a stored field name may be. */
const memberName = fc
  .oneof(
    fc.constantFrom('__proto__', 'constructor', 'prototype', 'toJSON', 'toBSON', 'valueOf', 'hash'),
    fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }),
    fc.string({ minLength: 1, maxLength: 12, unit: 'binary' }),
  )
  // MongoDB refuses `$`-prefixed and dotted names in stored documents; FerretDB v1 (SQLite) fails
  // on names with a quote or backslash, and cannot read a collection back once a name holds a
  // control character.
  .filter((name) => !name.startsWith('$') && !/[."\\\p{Cc}]/u.test(name));

/** JSON values whose own member names are storable too. */
const memberValue = fc.oneof(
  fc.constant({ reason: 'compromised' }),
  fc.constant(null),
  fc.boolean(),
  fc.string(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(memberName, fc.oneof(fc.string(), fc.integer()), { maxKeys: 3 }),
);

/** A session's four events: issued (with claims), refreshed, revoked; and a subject cut-off. */
function history(): LedgerEvent[][] {
  const sub = newId('sub');
  const sid = newId('sid');
  const first = { ...issued(sub, at(0).getTime()), claims: { email: 'a@example.org' } };
  const second = refreshed({ sub, refreshJti: first.refresh.jti }, at(1000).getTime());
  const session = chain(sid, [
    { draft: first, time: at(0) },
    { draft: second, time: at(1000) },
    { draft: revoked.session(sub), time: at(2000) },
  ]);
  const subject = chain(`subject:${sub}`, [
    { draft: revoked.subject(sub, at(3000)), time: at(3000) },
  ]);
  return [session, subject];
}

/** The event itself and every object inside it: where a member can be added. */
function placesIn(event: LedgerEvent): Record<string, unknown>[] {
  const places: Record<string, unknown>[] = [event as unknown as Record<string, unknown>];
  for (const value of Object.values(event)) {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      if (!(value instanceof Date)) places.push(value as Record<string, unknown>);
    }
  }
  return places;
}

/** A deep copy with `name: value` added as an own member (never through a prototype setter). */
function withMember(event: LedgerEvent, place: number, name: string, value: unknown): LedgerEvent {
  const copy = structuredClone(event);
  const target = placesIn(copy)[place % placesIn(copy).length]!;
  if (Object.hasOwn(target, name)) return copy;
  Object.defineProperty(target, name, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return copy;
}

async function appendAll(store: LedgerStore, streams: LedgerEvent[][]): Promise<void> {
  for (const events of streams) for (const event of events) await store.appendEvent(event);
}

export function tamperContract(context: ContractContext): void {
  describe('tamper evidence on this store', () => {
    it('reports a member of any name added to any part of a stored event at that event', async () => {
      await context.fresh(async (own) => {
        await fc.assert(
          fc.asyncProperty(
            fc.nat(3),
            fc.nat(5),
            memberName,
            memberValue,
            async (index, place, name, value) => {
              const [session, subject] = history() as [LedgerEvent[], LedgerEvent[]];
              const all = [...session, ...subject];
              const original = all[index]!;
              const tampered = withMember(original, place, name, value);
              fc.pre(JSON.stringify(tampered) !== JSON.stringify(original));
              const streams = [
                session.map((e) => (e === original ? tampered : e)),
                subject.map((e) => (e === original ? tampered : e)),
              ];
              await appendAll(own, streams);
              const problems = (await verifyLedger(own)).problems.filter(
                (p) => p.stream === original.stream,
              );
              expect(problems.map((p) => `${p.seq} ${p.problem}`)).to.include(
                `${original.seq} altered`,
              );
            },
          ),
          { numRuns: 40 },
        );
      });
    });

    it('reports an event outside the event schema even when its hash was recomputed', async () => {
      await context.fresh(async (own) => {
        const [session] = history() as [LedgerEvent[]];
        const last = session.at(-1)!;
        const forged = withMember(last, 1, '__proto__', { reason: 'compromised' });
        forged.hash = hashEvent(forged);
        await appendAll(own, [[...session.slice(0, -1), forged]]);
        const report = await verifyLedger(own);
        expect(report.ok).to.equal(false);
        expect(report.problems).to.have.length(1);
        expect(report.problems[0]).to.include({ stream: last.stream, seq: 3, problem: 'altered' });
        expect(report.problems[0]?.detail).to.match(/event schema.*\/meta.*__proto__/);
      });
    });
  });
}
