/**
 * Store contract, two archive runs at once on the store under test (see contract.ts), as two
 * plugin instances would start them: nothing is lost, each session is removed once, by the
 * archive the index names for it, and both files verify.
 */
import { join } from 'node:path';
import { archive, verifyArchiveFile } from '../../lib/ledger/checkpoints/index.js';
import type { ArchiveResult, ArchiveStep } from '../../lib/ledger/checkpoints/index.js';
import { verifyLedger } from '../../lib/ledger/integrity.js';
import type { LedgerStore } from '../../lib/ledger/store.js';
import { tempDir } from '../support/keys.js';
import { endedWorld } from './contract-archive.js';
import { newId, revoked } from './drafts.js';
import { expect } from './expect.js';
import type { ContractContext } from './support.js';

/** A promise and its resolver: each run waits at a step until the other one lets it go. */
function gate(): { open(): void; passed: Promise<void> } {
  let open = () => {};
  const passed = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, passed };
}

export function archiveRaceContract(context: ContractContext): void {
  describe('two archive runs at once on this store', () => {
    let dir: Awaited<ReturnType<typeof tempDir>>;
    before(async () => {
      dir = await tempDir();
    });
    after(async () => {
      await dir.dispose();
    });
    const out = () => join(dir.path, `${newId('archive')}.ndjson.gz`);

    /**
     * Every session left the store; the index names one archive for it, whose file verifies and
     * holds the session up to the head it had; the ledger verifies; no archive is left unfinished.
     */
    async function assertOnce(
      store: LedgerStore,
      w: Awaited<ReturnType<typeof endedWorld>>,
      heads: Map<string, string>,
      files: Map<string, string>,
    ): Promise<void> {
      for (const { sid } of w.sessions) {
        expect(await store.readStream(sid), sid).to.deep.equal([]);
        const entries = await store.findArchived({ stream: sid });
        expect(entries, sid).to.have.length(1);
        const file = files.get(entries[0]!.archive);
        expect(file, 'the index names a file a run wrote').to.be.a('string');
        const report = await verifyArchiveFile(file!, w.deps.jwks);
        expect(report.ok, report.problems.join('; ')).to.equal(true);
        expect(report.heads.find((head) => head.stream === sid)?.hash).to.equal(heads.get(sid));
      }
      expect((await verifyLedger(store)).problems).to.deep.equal([]);
      expect(await store.unfinishedArchives()).to.deep.equal([]);
    }

    it('takes the same sessions into two files that both verify, and removes each once', () =>
      context.fresh(async (store) => {
        const w = await endedWorld(store);
        const heads = new Map<string, string>();
        for (const state of await store.loadStates(w.sessions.map((s) => s.sid))) {
          heads.set(state.stream, state.hash);
        }
        // Both select before either signs: they choose the same sessions.
        const gates = [gate(), gate()];
        const run = (mine: number, theirs: number, file: string) =>
          archive(w.deps, {
            before: w.before,
            out: file,
            onStep: async (step: ArchiveStep) => {
              if (step !== 'selected') return;
              gates[mine]!.open();
              await gates[theirs]!.passed;
            },
          });
        const paths = [out(), out()];
        const results: ArchiveResult[] = await Promise.all([
          run(0, 1, paths[0]!),
          run(1, 0, paths[1]!),
        ]);
        const files = new Map(results.map((result, i) => [result.id as string, paths[i]!]));
        expect(results.map((result) => result.streams)).to.deep.equal([2, 2]);
        for (const path of paths) {
          expect((await verifyArchiveFile(path, w.deps.jwks)).ok, path).to.equal(true);
        }
        await assertOnce(store, w, heads, files);
      }));

    it('completes the removal of a run still removing, and the run then finishes harmlessly', () =>
      context.fresh(async (store) => {
        const w = await endedWorld(store);
        const heads = new Map<string, string>();
        for (const state of await store.loadStates(w.sessions.map((s) => s.sid))) {
          heads.set(state.stream, state.hash);
        }
        const recorded = gate();
        const secondDone = gate();
        const firstPath = out();
        const first = archive(w.deps, {
          before: w.before,
          out: firstPath,
          onStep: async (step) => {
            if (step !== 'recorded') return;
            recorded.open();
            await secondDone.passed;
          },
        });
        await recorded.passed;
        const second = await archive(w.deps, { before: w.before, out: out() });
        secondDone.open();
        const result = await first;
        expect(second).to.include({ id: null, streams: 0 });
        expect(second.resumed).to.deep.equal([result.id]);
        await assertOnce(store, w, heads, new Map([[result.id as string, firstPath]]));
      }));

    /**
     * Run one selects the sessions and stops at `pause`; a late revocation lands on the first;
     * run two selects it with that event and goes as far as `second` allows; then both finish.
     */
    async function lateBetween(
      store: LedgerStore,
      pause: ArchiveStep,
      secondPause: ArchiveStep | null,
    ) {
      const w = await endedWorld(store);
      const { sid, sub } = w.sessions[0]!;
      const paused = gate();
      const resume = gate();
      const firstPath = out();
      const first = archive(w.deps, {
        before: w.before,
        out: firstPath,
        onStep: async (step) => {
          if (step !== pause) return;
          paused.open();
          await resume.passed;
        },
      });
      await paused.passed;
      w.clock.advance(1000);
      await w.ledger.execute(sid, () => revoked.session(sub));
      const [late] = await store.readStream(sid, 1);
      const secondPath = out();
      const secondPaused = gate();
      const second = archive(w.deps, {
        before: new Date(w.clock() + 1000),
        out: secondPath,
        onStep: async (step) => {
          if (step !== secondPause) return;
          secondPaused.open();
          await first;
        },
      });
      if (secondPause) await secondPaused.passed;
      else await second;
      resume.open();
      const results = [await first, await second];
      const files = new Map<string, string>();
      if (results[0]!.id) files.set(results[0]!.id, firstPath);
      if (results[1]!.id) files.set(results[1]!.id, secondPath);
      // The late event is in the store, or in the file the index names for its session.
      const [entry] = await store.findArchived({ stream: sid });
      const stored = await store.readStream(sid);
      const report = await verifyArchiveFile(files.get(entry!.archive)!, w.deps.jwks);
      expect(report.ok, report.problems.join('; ')).to.equal(true);
      const head = report.heads.find((h) => h.stream === sid);
      if (stored.length > 0) {
        expect(stored).to.deep.equal([late]);
        expect(head?.hash).to.equal(late!.prev);
      } else expect(head?.hash).to.equal(late!.hash);
      for (const path of files.values()) {
        expect((await verifyArchiveFile(path, w.deps.jwks)).ok, path).to.equal(true);
      }
      expect((await store.findArchived({ stream: sid })).length).to.equal(1);
      expect((await verifyLedger(store)).problems).to.deep.equal([]);
      expect(await store.unfinishedArchives()).to.deep.equal([]);
      return { results, stored };
    }

    it('keeps a late event when the run that chose the session without it records first', () =>
      context.fresh(async (store) => {
        const { stored } = await lateBetween(store, 'verified', 'verified');
        expect(stored).to.have.length(1);
      }));

    it('archives a late event when the run that chose the session with it records first', () =>
      context.fresh(async (store) => {
        const { results, stored } = await lateBetween(store, 'checkpointed', null);
        expect(stored).to.deep.equal([]);
        // The first run found nothing left to take: it wrote no archive.
        expect(results[0]).to.include({ id: null, streams: 0 });
      }));
  });
}
