/**
 * Store contract, data keys: the wrapped per-subject keys of personal data (see contract.ts).
 */
import { LedgerInputError } from '../../lib/errors.js';
import type { DataKeyRecord } from '../../lib/ledger/store.js';
import { newId, T0 } from './drafts.js';
import { expect } from './expect.js';
import { tryToChange, type ContractContext } from './support.js';

function record(sub: string, period: string, kid = newId('kid')): DataKeyRecord {
  return { kid, sub, period, createdAt: new Date(T0), wrapped: `wrapped-${kid}` };
}

const ERASED = { reason: 'erased' as const, at: new Date(T0 + 1000) };

export function dataKeysContract(context: ContractContext): void {
  const store = () => context.store();

  describe('data keys', () => {
    it('finds a stored key by kid, and null for an unknown kid', async () => {
      const key = record(newId('sub'), '2026-01');
      await store().insertDataKey(key);
      expect(await store().findDataKey(key.kid)).to.deep.equal(key);
      expect(await store().findDataKey(newId('kid'))).to.equal(null);
    });

    it('refuses a second key with the same kid and keeps the first', async () => {
      const key = record(newId('sub'), '2026-01');
      await store().insertDataKey(key);
      await expect(store().insertDataKey({ ...key, wrapped: 'other' }))
        .to.be.rejectedWith(LedgerInputError)
        .and.eventually.have.property('code', 'ERR_LEDGER_INPUT');
      expect(await store().findDataKey(key.kid)).to.deep.equal(key);
    });

    it("lists a subject's live keys, of one period or all, ordered by kid", async () => {
      const sub = newId('sub');
      const keys = [
        record(sub, '2026-01', 'b'.repeat(22) + newId('k')),
        record(sub, '2026-02', 'a'.repeat(22) + newId('k')),
        record(sub, '2026-01', 'c'.repeat(22) + newId('k')),
      ];
      for (const key of keys) await store().insertDataKey(key);
      await store().insertDataKey(record(newId('sub'), '2026-01'));
      const kids = (list: DataKeyRecord[]) => list.map((key) => key.kid);
      expect(kids(await store().liveDataKeys({ sub }))).to.deep.equal(
        kids([keys[1], keys[0], keys[2]] as DataKeyRecord[]),
      );
      expect(kids(await store().liveDataKeys({ sub, period: '2026-01' }))).to.deep.equal(
        kids([keys[0], keys[2]] as DataKeyRecord[]),
      );
    });

    it('lists live keys of every period before one, and never a destroyed key', async () => {
      await context.fresh(async (own) => {
        const old = record(newId('sub'), '2025-11');
        const gone = record(newId('sub'), '2025-12');
        const current = record(newId('sub'), '2026-01');
        for (const key of [old, gone, current]) await own.insertDataKey(key);
        await own.destroyDataKey(gone.kid, ERASED);
        const before = await own.liveDataKeys({ periodBefore: '2026-01' });
        expect(before.map((key) => key.kid)).to.deep.equal([old.kid]);
        expect(await own.liveDataKeys({ sub: gone.sub })).to.deep.equal([]);
      });
    });

    it('destroys a key for good: the wrapped key is gone and the reason recorded', async () => {
      const key = record(newId('sub'), '2026-01');
      await store().insertDataKey(key);
      await store().destroyDataKey(key.kid, ERASED);
      const destroyed = await store().findDataKey(key.kid);
      expect(destroyed).to.deep.equal({
        kid: key.kid,
        sub: key.sub,
        period: key.period,
        createdAt: key.createdAt,
        destroyed: ERASED,
      });
      expect(destroyed).to.not.have.property('wrapped');
    });

    it('keeps the first reason when a key is destroyed twice, and ignores an unknown kid', async () => {
      const key = record(newId('sub'), '2026-01');
      await store().insertDataKey(key);
      await store().destroyDataKey(key.kid, ERASED);
      await store().destroyDataKey(key.kid, { reason: 'expired', at: new Date(T0 + 5000) });
      expect((await store().findDataKey(key.kid))?.destroyed).to.deep.equal(ERASED);
      const unknown = newId('kid');
      await store().destroyDataKey(unknown, ERASED);
      expect(await store().findDataKey(unknown)).to.equal(null);
    });

    it('keeps what it stored when a caller changes what it passed in or got back', async () => {
      const key = record(newId('sub'), '2026-01');
      const original = structuredClone(key);
      await store().insertDataKey(key);
      key.wrapped = 'changed';
      const found = (await store().findDataKey(key.kid)) as DataKeyRecord;
      tryToChange(() => {
        found.wrapped = 'changed too';
      });
      expect(await store().findDataKey(key.kid)).to.deep.equal(original);
    });
  });
}
