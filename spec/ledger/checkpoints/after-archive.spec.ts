/**
 * Checkpoints after an archive run, on the memory store and on MongoDB: a checkpoint commits to
 * the archived streams as well as the live ones, so the checkpoint an archive signs still proves
 * the sessions left in the store, a checkpoint made afterwards checks out, and tampering with
 * what stayed is still caught.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import type { TokenResponse } from '../../../lib/index.js';
import type { LedgerEvent } from '../../../lib/ledger/events.js';
import { hashEvent } from '../../../lib/ledger/hash-chain.js';
import { MemoryStore } from '../../../lib/ledger/memory-store.js';
import { MongoStore } from '../../../lib/ledger/mongo-store.js';
import type { LedgerStore } from '../../../lib/ledger/store.js';
import { fakeClock } from '../../support/clock.js';
import { openTestDatabase, type TestDatabase } from '../../support/db.js';
import { tempDir, type TempDir } from '../../support/keys.js';
import { testPlugin, type TestPlugin } from '../../support/plugin.js';
import { expect } from '../expect.js';

const HOUR = 3_600_000;
const sidOf = (pair: TokenResponse) => decodeJwt(pair.access_token)['sid'] as string;

for (const kind of ['memory', 'mongodb'] as const) {
  describe(`checkpoints after an archive [${kind}]`, () => {
    let t: TestDatabase | undefined;
    let dir: TempDir;
    let p: TestPlugin;
    let store: LedgerStore;
    let live: string;
    let archived: string;

    before(async () => {
      if (kind === 'mongodb') t = await openTestDatabase('after_archive');
      dir = await tempDir();
      store = t ? new MongoStore({ db: t.db }) : new MemoryStore();
      const clock = fakeClock();
      p = await testPlugin(null, { store: { custom: store } }, clock);
      const ended = await p.auth.issue({ id: 'u-ended' }, { source: 'saml' });
      archived = sidOf(ended);
      await p.auth.revoke({ sid: archived }, { reason: 'logout' });
      clock.advance(3 * HOUR);
      live = sidOf(await p.auth.issue({ id: 'u-live' }, { source: 'saml' }));
      clock.advance(10_000);
      const out = join(dir.path, `archive-${randomBytes(4).toString('hex')}.ndjson.gz`);
      const result = await p.auth.audit.archive({ before: new Date(clock() - HOUR), out });
      expect(result).to.include({ streams: 1, checkpoint: 1 });
      expect(await store.readStream(archived)).to.deep.equal([]);
      clock.advance(60_000);
    });
    after(async () => {
      await p.auth.close();
      await t?.dispose();
      await dir.dispose();
    });

    it("proves a live session in the archive's checkpoint, whose streams have left the store", async () => {
      const proof = await p.auth.audit.prove(live);
      expect(proof.checkpoint).to.equal((await p.auth.audit.checkpoints())[0]?.jws);
      expect(await p.auth.audit.verifyProof(proof)).to.include({ ok: true });
    });

    it('makes later checkpoints over the archived streams too, which check out and prove', async () => {
      const next = await p.auth.audit.checkpoint();
      expect(next.claims).to.include({ streams: 2, events: 3 });
      expect(await p.auth.audit.checkCheckpoint(next.seq)).to.include({ ok: true });
      expect(await p.auth.audit.checkCheckpoint(1)).to.include({ ok: true });
      const proof = await p.auth.audit.prove(live);
      expect(proof.checkpoint).to.equal(next.jws);
      expect(await p.auth.audit.verifyProof(proof)).to.include({ ok: true });
    });

    it('still catches an event of a live session changed, and rehashed, after the checkpoint', async () => {
      const events = await store.readStream(live);
      const [first] = events;
      const body: Omit<LedgerEvent, 'hash'> & { hash?: string } = { ...first! };
      delete body.hash;
      const edited = { ...body, meta: { ...body.meta, source: 'forged' } } as typeof body;
      await store.removeStreams([{ stream: live, seq: events.at(-1)!.seq }]);
      await store.appendEvent({ ...edited, hash: hashEvent(edited) } as LedgerEvent);
      expect(await p.auth.audit.checkCheckpoint()).to.include({ ok: false });
      await expect(p.auth.audit.prove(live)).to.be.rejected.and.eventually.have.property(
        'code',
        'ERR_INTEGRITY',
      );
    });
  });
}
