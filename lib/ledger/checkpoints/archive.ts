/**
 * Archiving: sessions that ended before a date go to a file with a checkpoint covering them, and
 * only then leave the store. Each step is safe to die after:
 * 1. finish any earlier run that stopped while removing (its file was verified before it began);
 * 2. select ended sessions; 3. sign a checkpoint; 4. write the file (`.partial`, flush, rename);
 * 5. read it back and verify it against the checkpoint and the store; 6. record the archive and
 * its streams; 7. remove their snapshots, pending marks and events, then mark the archive done.
 * Until step 6 the store is untouched; from step 6 on a re-run completes step 7.
 */
import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import type { JSONWebKeySet } from 'jose';
import { CheckpointError } from '../../errors.js';
import type { LedgerEvent } from '../events.js';
import type { SessionState } from '../projection.js';
import type { ArchivedStream, LedgerStore } from '../store.js';
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
}

const PAGE = 1000;
const REMOVE_BATCH = 500;

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
  const none: ArchiveResult = { id: null, streams: 0, events: 0, checkpoint: null, resumed };

  const ended = await endedSessions(store, options.before);
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
      if (events.at(-1)?.hash !== state.hash) continue;
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

  await removeAll(
    store,
    entries.map((entry) => entry.stream),
  );
  await store.finishArchive(id);
  await step('removed');
  return {
    id,
    streams: entries.length,
    events: report.events,
    checkpoint: checkpoint.seq,
    resumed,
  };
}

/** Completes the removal of archives recorded by a run that stopped part-way. */
async function finishEarlierRuns(store: LedgerStore): Promise<string[]> {
  const done: string[] = [];
  for (const record of await store.unfinishedArchives()) {
    const entries = await store.findArchived({ archive: record.id });
    await removeAll(
      store,
      entries.map((entry) => entry.stream),
    );
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

async function removeAll(store: LedgerStore, streams: readonly string[]): Promise<void> {
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
