/**
 * Store contract, archive runs on the store under test (see contract.ts): an event appended to a
 * selected session while the run is under way is never removed with the archived prefix, and
 * every reader copes with the stream it leaves behind.
 */
import { join } from 'node:path';
import {
  archive,
  checkCheckpoint,
  makeCheckpoint,
  type ArchiveStep,
} from '../../lib/ledger/checkpoints/index.js';
import { history, sessionAt, sessionLineage } from '../../lib/ledger/audit.js';
import { prove } from '../../lib/ledger/checkpoints/prove.js';
import { rebuildProjection, verifyLedger } from '../../lib/ledger/integrity.js';
import { Ledger, type Decide } from '../../lib/ledger/ledger.js';
import type { StreamState } from '../../lib/ledger/projection.js';
import type { LedgerStore } from '../../lib/ledger/store.js';
import { fakeClock } from '../support/clock.js';
import { tempDir } from '../support/keys.js';
import { checkpointDeps } from './contract-checkpoints.js';
import { newId, revoked } from './drafts.js';
import { expect } from './expect.js';
import { issue, type ContractContext } from './support.js';

const HOUR = 3_600_000;

/** A late revocation, as `auth.revoke({ sid })` decides it. */
const revokeSession: Decide = (state) =>
  state?.kind === 'session' && !state.revoked ? revoked.session(state.sub) : null;

/** Two sessions whose refresh tokens expired an hour ago, on `store`, ready to archive. */
export async function endedWorld(store: LedgerStore) {
  const clock = fakeClock();
  const ledger = new Ledger({ store, clock });
  const a = await issue(ledger);
  const b = await issue(ledger);
  clock.advance(2 * HOUR);
  const deps = await checkpointDeps(store, clock);
  return {
    clock,
    ledger,
    sessions: [a, b],
    deps: { ...deps, jwks: deps.keys.jwks() as never },
    before: new Date(clock() - HOUR),
  };
}

type World = Awaited<ReturnType<typeof endedWorld>>;

/** Every reader answers for a stream whose prefix is archived and whose tail is stored. */
async function readersCope(w: World, sid: string, archiveId: string): Promise<void> {
  const store = w.ledger.store;
  const page = await history(w.ledger, { sid });
  expect(page.events.map((event) => event.type)).to.deep.equal(['revoked']);
  expect(page.archived).to.deep.equal([{ sid, archive: archiveId }]);
  expect(await sessionAt(w.ledger, sid, new Date(w.clock()))).to.include({
    status: 'archived',
    archive: archiveId,
  });
  await expect(sessionLineage(w.ledger, sid)).to.be.rejected.and.eventually.include({
    code: 'ERR_ARCHIVED',
    archive: archiveId,
  });
  await expect(prove(store, sid)).to.be.rejected.and.eventually.include({
    code: 'ERR_ARCHIVED',
    archive: archiveId,
  });
  // Reading the session never fails: its state, if the writer left one, says it has ended.
  const [state] = await w.ledger.states([sid]);
  if (state?.kind === 'session') expect(state.revoked).to.not.equal(undefined);
  const dry = await rebuildProjection(store, { dryRun: true });
  expect(dry.differences).to.deep.equal([]);
  await rebuildProjection(store);
  expect((await verifyLedger(store)).problems).to.deep.equal([]);
}

export function archiveContract(context: ContractContext): void {
  describe('archive runs on this store', () => {
    let dir: Awaited<ReturnType<typeof tempDir>>;
    before(async () => {
      dir = await tempDir();
    });
    after(async () => {
      await dir.dispose();
    });
    const out = () => join(dir.path, `${newId('archive')}.ndjson.gz`);

    /**
     * Archives the two ended sessions while `append` adds a revocation to the first one at some
     * point of the run, then checks that the revocation is still in the store, chained to the
     * archived head, that the whole ledger verifies, and that later runs leave it alone.
     */
    async function lateAppend(
      store: LedgerStore,
      run: (
        w: World,
        append: (writer?: Ledger, readAhead?: StreamState[]) => Promise<void>,
      ) => Promise<void>,
    ): Promise<void> {
      const w = await endedWorld(store);
      const { sid } = w.sessions[0]!;
      let appended = 0;
      const append = async (writer = w.ledger, readAhead?: StreamState[]) => {
        w.clock.advance(1000);
        const target = readAhead ? { stream: sid, readAhead } : sid;
        if (await writer.execute(target, revokeSession)) appended++;
      };
      await run(w, append);
      expect(appended, 'the revocation was appended').to.equal(1);
      const [entry] = await store.findArchived({ stream: sid });
      expect(entry, 'the session is archived').to.not.equal(undefined);
      const tail = await store.readStream(sid);
      expect(tail.map((event) => [event.seq, event.type, event.prev])).to.deep.equal([
        [entry!.seq + 1, 'revoked', entry!.hash],
      ]);
      expect(await store.queryEvents({ stream: sid, limit: 10 })).to.have.length(1);
      const report = await verifyLedger(store);
      expect(report.problems).to.deep.equal([]);
      await readersCope(w, sid, entry!.archive);
      // Checkpoints add up: the archive's own, and one signed now over the prefix in the file and
      // the tail here.
      w.clock.advance(HOUR);
      await makeCheckpoint(w.deps);
      for (const record of await store.listCheckpoints(0, 10)) {
        expect(await checkCheckpoint(store, record), `checkpoint ${record.seq}`).to.include({
          ok: true,
        });
      }
      // The other session left the store whole.
      expect(await store.readStream(w.sessions[1]!.sid)).to.deep.equal([]);
      // Later runs keep the tail: it is in no archive file.
      w.clock.advance(2 * HOUR);
      await archive(w.deps, { before: new Date(w.clock() - HOUR), out: out() });
      expect(await store.readStream(sid)).to.deep.equal(tail);
      expect((await store.findArchived({ stream: sid })).map((e) => e.archive)).to.deep.equal([
        entry!.archive,
      ]);
      expect((await verifyLedger(store)).problems).to.deep.equal([]);
      // A later revocation attempt finds nothing left to revoke, and fails on nothing.
      await w.ledger.execute(sid, revokeSession);
      expect(await store.readStream(sid)).to.deep.equal(tail);
    }

    for (const at of ['verified', 'recorded'] as ArchiveStep[]) {
      it(`keeps an event appended to a chosen session after step "${at}"`, () =>
        context.fresh((store) =>
          lateAppend(store, async (w, append) => {
            const onStep = async (step: ArchiveStep) => {
              if (step !== at) return;
              await append();
              // A checkpoint over the whole session and its late event, checked after removal.
              w.clock.advance(HOUR);
              await makeCheckpoint(w.deps);
            };
            const result = await archive(w.deps, { before: w.before, out: out(), onStep });
            expect(result.streams).to.equal(2);
          }),
        ));
    }

    it('keeps an event a writer that read the session before removal appends part-way through it', () =>
      context.fresh((store) =>
        lateAppend(store, async (w, append) => {
          const { sid } = w.sessions[0]!;
          // The writer read the state before the removal began and appends while it runs.
          let stale: StreamState[] = [];
          const racing = new Proxy(store, {
            get(target, property, receiver) {
              const value: unknown = Reflect.get(target, property, receiver);
              if (property !== 'removeStreams') {
                return typeof value === 'function' ? value.bind(target) : value;
              }
              return async (...args: Parameters<LedgerStore['removeStreams']>) => {
                await target.removeStreams(...args);
                await append(new Ledger({ store: target, clock: w.clock }), stale);
              };
            },
          });
          stale = await w.ledger.states([sid]);
          const result = await archive(
            { ...w.deps, store: racing },
            { before: w.before, out: out() },
          );
          expect(result.streams).to.equal(2);
        }),
      ));
  });
}
