/**
 * Archives through the plugin, on the memory store and on MongoDB: what moves and what stays, the
 * file verifying alone, audit answers naming the archive, a truncated or foreign file refused, and
 * a crash at every step losing nothing, with a re-run completing.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { decodeJwt, exportJWK, generateKeyPair } from 'jose';
import type { TokenResponse } from '../../../lib/index.js';
import type { ArchiveStep } from '../../../lib/ledger/checkpoints/index.js';
import { verifyArchiveFile } from '../../../lib/ledger/checkpoints/index.js';
import { MemoryStore } from '../../../lib/ledger/memory-store.js';
import { MongoStore } from '../../../lib/ledger/mongo-store.js';
import type { ArchivedHead, LedgerStore } from '../../../lib/ledger/store.js';
import { fakeClock, type FakeClock } from '../../support/clock.js';
import { openTestDatabase, type TestDatabase } from '../../support/db.js';
import { tempDir, type TempDir } from '../../support/keys.js';
import { testPlugin, type TestPlugin } from '../../support/plugin.js';
import { expect } from '../expect.js';
import { SimulatedCrash } from '../wrappers.js';

const HOUR = 3_600_000;

for (const kind of ['memory', 'mongodb'] as const) {
  describe(`archives [${kind}]`, () => {
    let t: TestDatabase | undefined;
    let dir: TempDir;
    const plugins: TestPlugin[] = [];
    before(async () => {
      if (kind === 'mongodb') t = await openTestDatabase('archives');
      dir = await tempDir();
    });
    after(async () => {
      for (const p of plugins) await p.auth.close();
      await t?.dispose();
      await dir.dispose();
    });

    function newStore(): LedgerStore {
      if (!t) return new MemoryStore();
      const s = randomBytes(3).toString('hex');
      return new MongoStore({
        db: t.db,
        collections: {
          events: `e_${s}`,
          state: `s_${s}`,
          checkpoints: `c_${s}`,
          archives: `a_${s}`,
          archived: `x_${s}`,
        },
      });
    }

    interface World {
      p: TestPlugin;
      store: LedgerStore;
      clock: FakeClock;
      ended: { sid: string; pair: TokenResponse }[];
      live: { sid: string; pair: TokenResponse };
      before: Date;
      out: string;
    }

    /** Two sessions that ended two hours ago (one revoked, one expired) and one live one. */
    async function world(wrap: (store: LedgerStore) => LedgerStore = (s) => s): Promise<World> {
      const clock = fakeClock();
      const store = newStore();
      const p = await testPlugin(null, { store: { custom: wrap(store) } }, clock);
      plugins.push(p);
      const sidOf = (pair: TokenResponse) => decodeJwt(pair.access_token)['sid'] as string;
      const revoked = await p.auth.issue({ id: 'u-archive-1' }, { source: 'saml' });
      await p.auth.revoke({ sid: sidOf(revoked) }, { reason: 'logout' });
      const first = await p.auth.issue({ id: 'u-archive-2' }, { source: 'saml' });
      clock.advance(1000);
      const expired = await p.auth.refresh(first.refresh_token);
      clock.advance(3 * HOUR);
      const live = await p.auth.issue({ id: 'u-archive-3' }, { source: 'saml' });
      return {
        p,
        store,
        clock,
        ended: [revoked, expired].map((pair) => ({ sid: sidOf(pair), pair })),
        live: { sid: sidOf(live), pair: live },
        before: new Date(clock() - HOUR),
        out: join(dir.path, `archive-${randomBytes(4).toString('hex')}.ndjson.gz`),
      };
    }

    it('moves the ended sessions to a file that verifies alone, and keeps the live one', async () => {
      const w = await world();
      const { auth } = w.p;
      const result = await auth.audit.archive({ before: w.before, out: w.out });
      expect(result).to.include({ streams: 2, events: 4 });
      expect(result.id).to.be.a('string');
      const report = await verifyArchiveFile(w.out, auth.tokens.jwks() as never);
      expect(report).to.include({ ok: true, id: result.id, events: 4 });
      expect(report.heads.map((h) => h.stream).sort()).to.deep.equal(
        w.ended.map((e) => e.sid).sort(),
      );
      for (const { sid } of w.ended) expect(await w.store.readStream(sid)).to.deep.equal([]);
      expect(await w.store.readStream(w.live.sid)).to.have.length(1);
      expect((await auth.audit.verify()).ok).to.equal(true);
      // The archive's checkpoint still checks out against the store and the archived index.
      expect((await auth.audit.checkCheckpoint(result.checkpoint ?? 0)).ok).to.equal(true);
      // Run again: nothing more has ended, and the file is left alone.
      const again = await auth.audit.archive({ before: w.before, out: w.out });
      expect(again).to.include({ id: null, streams: 0 });
      expect((await auth.audit.verifyArchive(w.out)).ok).to.equal(true);
    });

    it('names the archive in history, tokenAt, sessionAt, lineage and prove', async () => {
      const w = await world();
      const { auth } = w.p;
      const { id } = await auth.audit.archive({ before: w.before, out: w.out });
      const [{ sid, pair }] = w.ended as [World['ended'][number]];
      const page = await auth.audit.history({ sid });
      expect(page.events).to.deep.equal([]);
      expect(page.archived).to.deep.equal([{ sid, archive: id }]);
      const jti = decodeJwt(pair.access_token)['jti'] as string;
      expect(await auth.audit.tokenAt(jti, w.before)).to.include({
        status: 'archived',
        archive: id,
      });
      expect(await auth.audit.sessionAt(sid, w.before)).to.include({
        status: 'archived',
        archive: id,
      });
      await expect(auth.audit.lineage(sid)).to.be.rejected.and.eventually.include({
        code: 'ERR_ARCHIVED',
        archive: id,
      });
      await expect(auth.audit.prove(sid)).to.be.rejected.and.eventually.include({
        code: 'ERR_ARCHIVED',
        archive: id,
      });
      expect((await auth.audit.history({ sid: w.live.sid })).archived).to.equal(undefined);
      // Tokens of an archived session stay refused.
      await expect(
        auth.tokens.verify(pair.access_token),
      ).to.be.rejected.and.eventually.have.property('code', 'ERR_INVALID_TOKEN');
      await expect(auth.refresh(pair.refresh_token)).to.be.rejected.and.eventually.have.property(
        'code',
        'ERR_INVALID_GRANT',
      );
    });

    it('refuses a truncated archive, one without its end line, and another key set', async () => {
      const w = await world();
      const { auth } = w.p;
      await auth.audit.archive({ before: w.before, out: w.out });
      const bytes = await readFile(w.out);
      const cut = `${w.out}.cut`;
      await writeFile(cut, bytes.subarray(0, bytes.length - 30));
      const truncated = await auth.audit.verifyArchive(cut);
      expect(truncated.ok).to.equal(false);
      expect(truncated.problems.join()).to.match(/cannot be read to its end|truncated/);
      const lines = gunzipSync(bytes).toString('utf8').trimEnd().split('\n');
      await writeFile(cut, gzipSync(`${lines.slice(0, -2).join('\n')}\n`));
      const short = await auth.audit.verifyArchive(cut);
      expect(short.ok).to.equal(false);
      expect(short.problems).to.include('the end line is missing: the file is truncated');
      const [header, first, ...rest] = lines;
      const stream = JSON.parse(first as string) as { events: { meta: object }[] };
      stream.events[0]!.meta = { ip: '203.0.113.5' };
      await writeFile(cut, gzipSync([header, JSON.stringify(stream), ...rest].join('\n')));
      expect((await auth.audit.verifyArchive(cut)).ok).to.equal(false);
      const other = await generateKeyPair('ES256');
      const jwks = {
        keys: [{ ...(await exportJWK(other.publicKey)), kid: 'other', alg: 'ES256' }],
      };
      const foreign = await verifyArchiveFile(w.out, jwks);
      expect(foreign.ok).to.equal(false);
      expect(foreign.problems[0]).to.match(/signature does not verify/);
    });

    it('never overwrites a file that is not an archive, or an archive whose sessions were removed', async () => {
      const w = await world();
      const { auth } = w.p;
      await writeFile(w.out, 'not an archive\n');
      await expect(
        auth.audit.archive({ before: w.before, out: w.out }),
      ).to.be.rejected.and.eventually.have.property('code', 'ERR_CHECKPOINT');
      expect(await readFile(w.out, 'utf8')).to.equal('not an archive\n');
      for (const { sid } of w.ended) expect(await w.store.readStream(sid)).to.not.be.empty;
      const out = `${w.out}.gz`;
      await auth.audit.archive({ before: w.before, out });
      const before = await readFile(out);
      // Later, the live session ends too: a run to the same file must not replace the only copy.
      await auth.revoke({ sid: w.live.sid }, { reason: 'logout' });
      w.clock.advance(2 * HOUR);
      await expect(
        auth.audit.archive({ before: new Date(w.clock() - HOUR), out }),
      ).to.be.rejected.and.eventually.have.property('code', 'ERR_CHECKPOINT');
      expect((await readFile(out)).equals(before)).to.equal(true);
      expect(await w.store.readStream(w.live.sid)).to.not.be.empty;
    });

    const steps: ArchiveStep[] = ['selected', 'checkpointed', 'written', 'verified', 'recorded'];
    for (const step of steps) {
      it(`loses nothing when it dies after step "${step}", and a re-run completes`, async () => {
        const w = await world();
        const { auth } = w.p;
        const crash = (at: ArchiveStep) => {
          if (at === step) throw new SimulatedCrash(`died after ${at}`);
        };
        await expect(
          auth.audit.archive({ before: w.before, out: w.out, onStep: crash }),
        ).to.be.rejectedWith(SimulatedCrash);
        await assertNothingLost(w);
        const rerun = await auth.audit.archive({ before: w.before, out: w.out });
        if (step === 'recorded') expect(rerun.resumed).to.have.length(1);
        await assertArchived(w);
      });
    }

    it('loses nothing when it dies part-way through removal, and a re-run completes', async () => {
      let failing = true;
      const w = await world(
        (store) =>
          new Proxy(store, {
            get(target, property, receiver) {
              if (property !== 'removeStreams' || !failing) {
                const value: unknown = Reflect.get(target, property, receiver);
                return typeof value === 'function' ? value.bind(target) : value;
              }
              return async (streams: ArchivedHead[]) => {
                failing = false;
                // One session fully removed, the next one's projection only, then the process dies.
                await target.removeStreams(streams.slice(0, 1));
                const [second] = await target.loadStates(streams.slice(1, 2).map((s) => s.stream));
                if (second) await target.replaceAllStates([]);
                throw new SimulatedCrash('died while removing');
              };
            },
          }),
      );
      await expect(w.p.auth.audit.archive({ before: w.before, out: w.out })).to.be.rejectedWith(
        SimulatedCrash,
      );
      await assertNothingLost(w);
      const rerun = await w.p.auth.audit.archive({ before: w.before, out: w.out });
      expect(rerun.resumed).to.have.length(1);
      await assertArchived(w);
    });

    /** Every ended session is whole in the store, or in a recorded archive whose file verifies. */
    async function assertNothingLost(w: World): Promise<void> {
      for (const { sid } of w.ended) {
        const events = await w.store.readStream(sid);
        const [entry] = await w.store.findArchived({ stream: sid });
        if (entry) {
          const report = await w.p.auth.audit.verifyArchive(w.out);
          expect(report.ok, sid).to.equal(true);
          expect(report.id).to.equal(entry.archive);
          expect(report.heads.map((h) => h.stream)).to.include(sid);
        } else {
          expect(events.length, sid).to.be.greaterThan(0);
          expect(events.at(-1)?.seq).to.equal(events.length);
        }
      }
      expect(await w.store.readStream(w.live.sid)).to.have.length(1);
    }

    /** Every ended session left the store for the archive at `out`; the live one stayed. */
    async function assertArchived(w: World): Promise<void> {
      const report = await w.p.auth.audit.verifyArchive(w.out);
      expect(report.ok).to.equal(true);
      for (const { sid } of w.ended) {
        expect(await w.store.readStream(sid), sid).to.deep.equal([]);
        expect(await w.store.loadStates([sid])).to.deep.equal([]);
        const [entry] = await w.store.findArchived({ stream: sid });
        expect(entry?.archive).to.equal(report.id);
        expect(report.heads.map((h) => h.stream)).to.include(sid);
      }
      expect(await w.store.unfinishedArchives()).to.deep.equal([]);
      expect(await w.store.readStream(w.live.sid)).to.have.length(1);
      expect((await w.p.auth.audit.verify()).ok).to.equal(true);
    }
  });
}
