/**
 * Archiving: sessions that ended before a date go to a file with a checkpoint covering them, and
 * only then leave the store. Each step is safe to die after:
 * 1. finish any earlier run that stopped while removing (its file was verified before it began);
 * 2. select ended sessions, whole in the store, whose personal data no live data key can decrypt;
 * 3. sign a checkpoint; 4. write the file (`.partial`, flush, rename); 5. read it back and verify
 * it against the checkpoint and the store; 6. record the archive and its streams; 7. remove what
 * the index names this archive for, up to the seq its file holds, then mark the archive done.
 * Until step 6 the store is untouched; from step 6 on a re-run completes step 7.
 *
 * No transaction and no fence: removal is bounded by seq, so an event appended to a session at
 * any time during the run (a late revocation) stays in the store, chained to the archived head
 * (docs/checkpoints.md "Archives", "A late event").
 */
import { randomBytes } from 'node:crypto';
import { access, rm } from 'node:fs/promises';
import type { JSONWebKeySet } from 'jose';
import { CheckpointError } from '../../errors.js';
import type { LedgerEvent } from '../events.js';
import type { SessionState } from '../projection.js';
import type { ArchivedHead, ArchivedStream, LedgerStore } from '../store.js';
import { dataKeyIdOf } from '../../personal-data/codec.js';
import { assertDate } from '../validate.js';
import {
  ARCHIVE_FORMAT,
  readArchiveLines,
  verifyArchiveFile,
  writeArchiveFile,
  type ArchiveHeader,
} from './archive-file.js';
import { makeCheckpoint, type CheckpointDeps } from './checkpoint.js';
import type { StreamInclusion } from './inclusion.js';
import { auditPath } from './merkle.js';

/** A step of `archive()`, reported through `onStep` once it is done. */
export type ArchiveStep =
  'resumed' | 'selected' | 'checkpointed' | 'written' | 'verified' | 'recorded' | 'removed';

/** Options of `auth.audit.archive()`. */
export interface ArchiveOptions {
  /** Sessions that ended (revoked, or refresh token expired) before this time are archived. */
  before: Date;
  /** The file to write (gzip NDJSON). An existing archive whose streams were removed is kept. */
  out: string;
  /** Called after each step, e.g. for progress; a throw stops the run there. */
  onStep?: (step: ArchiveStep) => void | Promise<void>;
}

/** What an archive run did. */
export interface ArchiveResult {
  /** The new archive's id; null when no session had ended before the date. */
  id: string | null;
  /** Sessions and events moved to the file. */
  streams: number;
  events: number;
  /** The seq of the checkpoint in the file. */
  checkpoint: number | null;
  /** Earlier archives whose removal this run completed. */
  resumed: string[];
  /**
   * Ended sessions left in the store because a data key their personal data needs is still
   * alive: they go once erasure (`subject erase`) or retention (`personalData.retentionDays`)
   * has destroyed it.
   */
  leftForKeys: number;
}

const PAGE = 1000;
const REMOVE_BATCH = 500;
/** Sessions whose first events and data keys are read with one query each. */
const CHECK_BATCH = 500;

/** Moves the sessions that ended before `options.before` to a verified archive file. */
export async function archive(
  deps: CheckpointDeps & { jwks: JSONWebKeySet },
  options: ArchiveOptions,
): Promise<ArchiveResult> {
  assertDate(options.before, 'before');
  const { store } = deps;
  const step = async (name: ArchiveStep) => options.onStep?.(name);
  const resumed = await finishEarlierRuns(store);
  if (resumed.length > 0) await step('resumed');
  const selected = await archivable(store, await endedSessions(store, options.before));
  const { ended, leftForKeys } = selected;
  const none: ArchiveResult = {
    id: null,
    streams: 0,
    events: 0,
    checkpoint: null,
    resumed,
    leftForKeys,
  };
  if (ended.length === 0) return none;
  await step('selected');

  const { checkpoint, tree } = await makeCheckpoint(deps);
  const index = new Map(tree.heads.map((head, i) => [head.stream, i]));
  // Only what the signed tree holds as the session's end: nothing may have been added since.
  const chosen = ended.filter((state) => {
    const i = index.get(state.stream);
    return i !== undefined && tree.heads[i]?.hash === state.hash;
  });
  if (chosen.length === 0) return none;
  await step('checkpointed');

  await assertReplaceable(store, options.out);
  const id = `${new Date(deps.clock()).toISOString().replace(/[-:.]/g, '')}-${randomBytes(6).toString('hex')}`;
  const header: ArchiveHeader = {
    format: ARCHIVE_FORMAT,
    version: 1,
    id,
    created: new Date(deps.clock()).toISOString(),
    before: options.before.toISOString(),
    checkpoint: checkpoint.jws,
  };
  // Read one session at a time while the file is written, so memory holds the index, not the log.
  const entries: ArchivedStream[] = [];
  async function* inclusions(): AsyncIterable<StreamInclusion> {
    for (const state of chosen) {
      const events = await store.readStream(state.stream);
      // Whole streams only: one continuing an archived prefix keeps its tail in the store.
      if (events[0]?.seq !== 1 || events.at(-1)?.hash !== state.hash) continue;
      const i = index.get(state.stream) as number;
      entries.push(archivedEntry(state.stream, events, id));
      yield {
        stream: state.stream,
        events,
        index: i,
        path: auditPath(tree.levels, i).map((hash) => hash.toString('base64url')),
      };
    }
  }
  await writeArchiveFile(options.out, header, inclusions());
  if (entries.length === 0) {
    // Every chosen session moved on while the file was written (another run took it, or an
    // event was added): an archive of nothing is not kept.
    await rm(options.out, { force: true });
    return none;
  }
  await step('written');

  const report = await verifyArchiveFile(options.out, deps.jwks);
  const expected = new Map(entries.map((entry) => [entry.stream, entry.hash]));
  const matches =
    report.id === id &&
    report.heads.length === expected.size &&
    report.heads.every((head) => expected.get(head.stream) === head.hash);
  if (!report.ok || !matches) {
    throw new CheckpointError(
      `the archive written to ${options.out} does not verify; nothing was removed: ` +
        (report.problems[0] ?? 'it does not hold the sessions selected'),
    );
  }
  await step('verified');

  await store.recordArchive(
    {
      id,
      before: options.before,
      created: new Date(header.created),
      streams: entries.length,
      events: report.events,
      finished: false,
    },
    entries,
  );
  await step('recorded');

  // What the index names this archive for, read back: a stream another run recorded first is
  // removed by that run (or its resume), up to the seq its own file holds.
  await removeAll(store, await store.findArchived({ archive: id }));
  await store.finishArchive(id);
  await step('removed');
  return {
    id,
    streams: entries.length,
    events: report.events,
    checkpoint: checkpoint.seq,
    resumed,
    leftForKeys,
  };
}

/** Completes the removal of archives recorded by a run that stopped part-way. */
async function finishEarlierRuns(store: LedgerStore): Promise<string[]> {
  const done: string[] = [];
  for (const record of await store.unfinishedArchives()) {
    await removeAll(store, await store.findArchived({ archive: record.id }));
    await store.finishArchive(record.id);
    done.push(record.id);
  }
  return done;
}

async function endedSessions(store: LedgerStore, before: Date): Promise<SessionState[]> {
  const ended: SessionState[] = [];
  for (;;) {
    const page = await store.endedSessions(before, PAGE, ended.at(-1)?.stream);
    ended.push(...page);
    if (page.length < PAGE) return ended;
  }
}

/**
 * Of the ended sessions, those an archive may take: whole in the store (a stream continuing an
 * archived prefix keeps its tail there), and holding no personal data a live data key can still
 * decrypt. An archive file is kept for ever and cannot be edited without breaking its
 * verification, so it must hold nothing erasure or retention could still have to destroy.
 */
async function archivable(
  store: LedgerStore,
  ended: readonly SessionState[],
): Promise<{ ended: SessionState[]; leftForKeys: number }> {
  const chosen: SessionState[] = [];
  let leftForKeys = 0;
  for (let i = 0; i < ended.length; i += CHECK_BATCH) {
    const batch = ended.slice(i, i + CHECK_BATCH);
    const whole = new Set(
      (await store.firstEvents(batch.map((state) => state.stream))).map((event) => event.stream),
    );
    const candidates = batch.filter((state) => whole.has(state.stream));
    const kidsOf = new Map<string, Set<string>>();
    for (const { stream, personal } of await store.personalCiphertexts([...whole])) {
      const kid = dataKeyIdOf(personal);
      // A ciphertext that names no key can be opened by no one.
      if (kid === null) continue;
      let kids = kidsOf.get(stream);
      if (!kids) kidsOf.set(stream, (kids = new Set()));
      kids.add(kid);
    }
    const wanted = [...new Set([...kidsOf.values()].flatMap((kids) => [...kids]))];
    const live =
      wanted.length === 0
        ? new Set<string>()
        : new Set((await store.liveDataKeys({ kids: wanted })).map((record) => record.kid));
    for (const state of candidates) {
      const needs = [...(kidsOf.get(state.stream) ?? [])].some((kid) => live.has(kid));
      if (needs) leftForKeys++;
      else chosen.push(state);
    }
  }
  return { ended: chosen, leftForKeys };
}

async function removeAll(store: LedgerStore, streams: readonly ArchivedHead[]): Promise<void> {
  for (let i = 0; i < streams.length; i += REMOVE_BATCH) {
    await store.removeStreams(streams.slice(i, i + REMOVE_BATCH));
  }
}

/**
 * An existing file is replaced only when it is an archive none of whose streams the store
 * recorded as archived (a run that stopped before step 6): anything else may be the only copy.
 */
async function assertReplaceable(store: LedgerStore, path: string): Promise<void> {
  try {
    await access(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  let header: Partial<ArchiveHeader> | undefined;
  try {
    for await (const line of readArchiveLines(path)) {
      header = line as Partial<ArchiveHeader>;
      break;
    }
  } catch (error) {
    throw new CheckpointError(`${path} exists and is not an archive: not overwriting it`, {
      cause: error,
    });
  }
  if (header?.format !== ARCHIVE_FORMAT || typeof header.id !== 'string') {
    throw new CheckpointError(`${path} exists and is not an archive: not overwriting it`);
  }
  if ((await store.findArchived({ archive: header.id })).length > 0) {
    throw new CheckpointError(`${path} holds archive ${header.id}: choose another file`);
  }
}

function archivedEntry(stream: string, events: LedgerEvent[], id: string): ArchivedStream {
  const first = events[0] as LedgerEvent;
  const last = events.at(-1) as LedgerEvent;
  return {
    stream,
    sub: first.sub,
    archive: id,
    seq: last.seq,
    hash: last.hash,
    from: first.time,
    to: last.time,
    jtis: [...new Set(events.flatMap((event) => event.jtis))],
  };
}
