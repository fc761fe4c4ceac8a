/**
 * Two plugin instances sharing one store archive at the same moment, on the memory store and on
 * MongoDB: no event lost, each session removed once, both files verify, the ledger verifies.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { MemoryStore } from '../../../lib/ledger/memory-store.js';
import { fakeClock } from '../../support/clock.js';
import { pluginsPerTest, type StoreKind } from '../../support/instances.js';
import { tempDir, type TempDir } from '../../support/keys.js';
import { testPlugin } from '../../support/plugin.js';
import { expect } from '../expect.js';

const HOUR = 3_600_000;

for (const kind of ['memory', 'MongoDB'] as StoreKind[]) {
  describe(`two instances archiving at once [${kind}]`, () => {
    const plugins = pluginsPerTest(kind, 'archive_race');
    let dir: TempDir;
    before(async () => {
      dir = await tempDir();
    });
    after(async () => {
      await dir.dispose();
    });

    it('loses no event and removes each session once; both files verify', async () => {
      const clock = fakeClock();
      const memory = new MemoryStore();
      const options = kind === 'memory' ? { store: { custom: memory } } : {};
      const one = plugins.track(await testPlugin(plugins.db(), options, clock));
      const two = plugins.track(await testPlugin(plugins.db(), options, clock));
      const sids: string[] = [];
      const heads = new Map<string, number>();
      for (let i = 0; i < 6; i++) {
        const pair = await (i % 2 ? one : two).auth.issue(
          { id: `u-race-${randomBytes(4).toString('hex')}` },
          { source: 'saml' },
        );
        const sid = decodeJwt(pair.access_token)['sid'] as string;
        sids.push(sid);
        if (i % 3 === 0) await one.auth.refresh(pair.refresh_token);
        if (i % 2 === 0) await two.auth.revoke({ sid });
        heads.set(sid, (await one.auth.audit.history({ sid })).events.length);
      }
      clock.advance(2 * HOUR);
      const before = new Date(clock() - HOUR);
      const outs = [0, 1].map((i) =>
        join(dir.path, `race-${i}-${randomBytes(4).toString('hex')}.gz`),
      );
      const results = await Promise.all([
        one.auth.audit.archive({ before, out: outs[0]! }),
        two.auth.audit.archive({ before, out: outs[1]! }),
      ]);
      const files = new Map<string, string>();
      results.forEach((result, i) => {
        if (result.id) files.set(result.id, outs[i]!);
      });
      expect(files.size, 'at least one run archived').to.be.at.least(1);
      for (const [id, path] of files) {
        expect((await one.auth.audit.verifyArchive(path)).ok, id).to.equal(true);
      }
      for (const sid of sids) {
        const page = await one.auth.audit.history({ sid });
        expect(page.events, sid).to.deep.equal([]);
        expect(page.archived, sid).to.have.length(1);
        const path = files.get(page.archived![0]!.archive);
        const report = await one.auth.audit.verifyArchive(path!);
        // Every event of the session is in the file the index names.
        expect(report.heads.find((head) => head.stream === sid)?.seq, sid).to.equal(heads.get(sid));
      }
      expect((await one.auth.audit.verify()).ok).to.equal(true);
      expect((await two.auth.audit.verify()).ok).to.equal(true);
    });
  });
}
