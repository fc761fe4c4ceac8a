/**
 * Archives and personal data, on the memory store and on MongoDB: an ended session whose personal
 * data a live data key can still decrypt stays in the store (and is counted), until erasure or
 * retention destroys that key; a session with no personal data goes at once.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import type { Context } from 'koa';
import { fakeClock } from '../../support/clock.js';
import { pluginsPerTest, type StoreKind } from '../../support/instances.js';
import { tempDir, type TempDir } from '../../support/keys.js';
import { testPlugin, type TestPlugin } from '../../support/plugin.js';
import { expect } from '../expect.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ctx = { ip: '198.51.100.23', get: () => 'archive-spec' } as unknown as Context;

for (const kind of ['memory', 'MongoDB'] as StoreKind[]) {
  describe(`archives and personal data [${kind}]`, () => {
    const plugins = pluginsPerTest(kind, 'archive_keys');
    let dir: TempDir;
    let round = 0;
    before(async () => {
      dir = await tempDir();
    });
    after(async () => {
      await dir.dispose();
    });
    const out = () => join(dir.path, `archive-${randomBytes(4).toString('hex')}.ndjson.gz`);

    /**
     * Two sessions revoked two hours ago: one recorded with the request's IP and user agent
     * (personal data, under its subject's data key), one without any.
     */
    async function world() {
      round += 1;
      // Each test a year before the last: keys other tests left must not expire with this one's.
      const clock = fakeClock(Date.UTC(2026, 0, 10, 9, 0, 0) - round * 365 * DAY);
      const p = plugins.track(
        await testPlugin(plugins.db(), { personalData: { retentionDays: 30 } }, clock),
      );
      const suffix = randomBytes(4).toString('hex');
      const personal = { id: `u-personal-${suffix}` };
      const plain = { id: `u-plain-${suffix}` };
      const sidOf = (pair: { access_token: string }) =>
        decodeJwt(pair.access_token)['sid'] as string;
      const withData = sidOf(await p.auth.issue(personal, { source: 'saml', ctx }));
      const without = sidOf(await p.auth.issue(plain, { source: 'saml' }));
      await p.auth.revoke({ sid: withData }, { ctx });
      await p.auth.revoke({ sid: without });
      clock.advance(2 * HOUR);
      return { p, clock, personal, withData, without, before: new Date(clock() - HOUR) };
    }

    async function inStore(p: TestPlugin, sid: string): Promise<number> {
      return (await p.auth.audit.history({ sid })).events.length;
    }

    it('keeps a session whose data key is alive, counts it, and archives one with no personal data', async () => {
      const w = await world();
      const result = await w.p.auth.audit.archive({ before: w.before, out: out() });
      expect(result).to.include({ streams: 1, leftForKeys: 1 });
      expect(await inStore(w.p, w.without)).to.equal(0);
      expect(await inStore(w.p, w.withData)).to.equal(2);
      expect((await w.p.auth.audit.history({ sid: w.withData })).archived).to.equal(undefined);
      // Nothing changes while the key lives: the session is counted again, never taken.
      const again = await w.p.auth.audit.archive({ before: w.before, out: out() });
      expect(again).to.include({ id: null, streams: 0, leftForKeys: 1 });
      expect((await w.p.auth.audit.verify()).ok).to.equal(true);
    });

    it('archives the session once its subject is erased', async () => {
      const w = await world();
      await w.p.auth.erase(w.personal, { reason: 'gdpr_request' });
      const file = out();
      const result = await w.p.auth.audit.archive({ before: w.before, out: file });
      expect(result).to.include({ streams: 2, leftForKeys: 0 });
      expect(await inStore(w.p, w.withData)).to.equal(0);
      const report = await w.p.auth.audit.verifyArchive(file);
      expect(report.ok).to.equal(true);
      expect(report.heads.map((head) => head.stream)).to.include(w.withData);
      expect((await w.p.auth.audit.verify()).ok).to.equal(true);
    });

    it('archives the session once retention has destroyed its key', async () => {
      const w = await world();
      w.clock.advance(20 * DAY);
      expect(await w.p.auth.audit.archive({ before: new Date(w.clock()), out: out() })).to.include({
        streams: 1,
        leftForKeys: 1,
      });
      w.clock.advance(50 * DAY); // the session's month ended more than 30 days ago
      expect((await w.p.auth.personalData.expire()).destroyed).to.be.at.least(1);
      const result = await w.p.auth.audit.archive({ before: new Date(w.clock()), out: out() });
      expect(result).to.include({ streams: 1, leftForKeys: 0 });
      expect(await inStore(w.p, w.withData)).to.equal(0);
      expect((await w.p.auth.audit.verify()).ok).to.equal(true);
    });
  });
}
