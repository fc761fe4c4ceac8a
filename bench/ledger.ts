/**
 * The ledger benchmark, run by bench/run.ts in its own process (one per store):
 *   1. seed: sessions of 5 events (issued, refreshed x3, revoked), sealed by a real `Ledger` on a
 *      scratch memory store, then handed to the measured store with `appendEvent` (32 in flight);
 *   2. rebuild: `rebuildProjection` over the whole log (what `koa-jwtconnect projection rebuild` does);
 *   3. audit: `history()` queries of six kinds (by sub, next page, by sid, by jti, revocations in a
 *      day, everything in an hour), one at a time, each timed;
 *   4. appends: `Ledger.execute` of `issued` events on new streams, 16 in flight (the login path's
 *      append: pending mark, insert, projection update).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { StoreUnavailableError } from '../lib/errors.js';
import {
  Ledger,
  MemoryStore,
  MongoStore,
  history,
  rebuildProjection,
  type EventDraft,
  type HistoryQuery,
  type LedgerStore,
} from '../lib/ledger/index.js';

export interface LedgerSettings {
  store: 'memory' | 'mongo';
  mongoUri?: string;
  dbName?: string;
  events: number;
  queries: number;
  appends: number;
  /** When set, a V8 CPU profile of each phase is written there (`<phase>.cpuprofile`). */
  profileDir?: string;
}

export interface LedgerResult {
  seed: { events: number; seconds: number };
  rebuild: { events: number; streams: number; seconds: number };
  audit: { queries: number; latenciesMs: number[]; byKind: Record<string, number[]> };
  appends: { count: number; failed: number; seconds: number; latenciesMs: number[] };
}

const EVENTS_PER_SESSION = 5;
const SUBJECTS = 1000;
const BATCH_SESSIONS = 500;
const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1);

const id = () => randomBytes(16).toString('base64url');

/** What the audit queries need to know about the seeded log. */
interface Sample {
  subs: string[];
  sids: string[];
  jtis: string[];
  end: number;
}

/** Seals `sessions` sessions with a real ledger, interleaved in time, `stepMs` apart. */
async function sealBatch(first: number, sessions: number, firstTime: number, stepMs: number) {
  let time = firstTime;
  const scratch = new MemoryStore();
  const ledger = new Ledger({ store: scratch, clock: () => (time += stepMs) });
  await ledger.open();
  const chains = Array.from({ length: sessions }, (_, i) => ({
    sid: id(),
    sub: `sub-${(first + i) % SUBJECTS}`,
    refresh: '',
  }));
  for (let step = 0; step < EVENTS_PER_SESSION; step++) {
    for (const chain of chains) {
      await ledger.execute(chain.sid, (_state, { now }) => draftFor(step, chain, now));
    }
  }
  const events = [];
  for await (const event of scratch.scanEvents()) events.push(event);
  return { events, chains, end: time };
}

function draftFor(step: number, chain: { sub: string; refresh: string }, now: number): EventDraft {
  const exp = Math.floor(now / 1000) + 1800;
  const { sub } = chain;
  if (step === EVENTS_PER_SESSION - 1) {
    return {
      type: 'revoked',
      sub,
      meta: { reason: 'logout', actor: sub },
      target: { kind: 'session' },
    };
  }
  const access = { jti: id(), exp };
  const refresh = { jti: id(), exp: exp + 1800 };
  const spent = chain.refresh;
  chain.refresh = refresh.jti;
  const meta = { ip: '203.0.113.7', userAgent: 'bench/1.0' };
  if (step === 0) {
    const claims = { username: sub, email: `${sub}@example.org` };
    return { type: 'issued', sub, meta: { ...meta, source: 'saml' }, access, refresh, claims };
  }
  return { type: 'refreshed', sub, meta, spent, access, refresh };
}

/** Runs `tasks` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function seed(store: LedgerStore, events: number): Promise<Sample> {
  const sessions = Math.ceil(events / EVENTS_PER_SESSION);
  const stepMs = Math.floor((30 * DAY) / (sessions * EVENTS_PER_SESSION));
  const sample: Sample = { subs: [], sids: [], jtis: [], end: START };
  for (let done = 0; done < sessions; done += BATCH_SESSIONS) {
    const count = Math.min(BATCH_SESSIONS, sessions - done);
    const batch = await sealBatch(done, count, sample.end, stepMs);
    await pool(batch.events, 32, (event) => store.appendEvent(event));
    sample.end = batch.end;
    for (const chain of batch.chains.slice(0, 20)) {
      sample.subs.push(chain.sub);
      sample.sids.push(chain.sid);
      sample.jtis.push(chain.refresh);
    }
  }
  return sample;
}

function queryOf(kind: number, i: number, sample: Sample): HistoryQuery {
  const pick = <T>(list: T[]) => list[i % list.length] as T;
  const at = new Date(START + ((i * 7919) % Math.max(1, sample.end - START - DAY)));
  switch (kind) {
    case 0:
    case 1:
      return { sub: pick(sample.subs), limit: 50 };
    case 2:
      return { sid: pick(sample.sids) };
    case 3:
      return { jti: pick(sample.jtis) };
    case 4:
      return { type: 'revoked', from: at, to: new Date(at.getTime() + DAY), limit: 50 };
    default:
      return { from: at, to: new Date(at.getTime() + DAY / 24), limit: 50 };
  }
}

const KINDS = ['sub', 'sub-next-page', 'sid', 'jti', 'revoked-in-a-day', 'all-in-an-hour'];

async function audit(ledger: Ledger, sample: Sample, queries: number) {
  const latenciesMs: number[] = [];
  const byKind: Record<string, number[]> = {};
  for (let i = 0; i < queries; i++) {
    const kind = i % KINDS.length;
    let query = queryOf(kind, i, sample);
    if (kind === 1) {
      // The second page of a user's history: the cursor comes from the first (not timed).
      const first = await history(ledger, query);
      query = { ...query, ...(first.nextCursor && { cursor: first.nextCursor }) };
    }
    const started = performance.now();
    await history(ledger, query);
    const ms = performance.now() - started;
    latenciesMs.push(ms);
    (byKind[KINDS[kind] as string] ??= []).push(ms);
  }
  return { queries, latenciesMs, byKind };
}

async function appends(ledger: Ledger, count: number) {
  const latenciesMs: number[] = [];
  const streams = Array.from({ length: count }, id);
  const started = performance.now();
  let failed = 0;
  await pool(streams, 16, async (sid) => {
    const begun = performance.now();
    try {
      await ledger.execute(sid, (_state, { now }) =>
        draftFor(0, { sub: 'sub-appending', refresh: '' }, now),
      );
      latenciesMs.push(performance.now() - begun);
    } catch (error) {
      // FerretDB on SQLite answers "database is locked" under concurrent writes: count, go on.
      if (!(error instanceof StoreUnavailableError)) throw error;
      failed += 1;
    }
  });
  const seconds = (performance.now() - started) / 1000;
  return { count: count - failed, failed, seconds, latenciesMs };
}

/** Runs one phase, profiled on its own when a profile directory is given. */
async function phase<T>(name: string, dir: string | undefined, run: () => Promise<T>): Promise<T> {
  if (!dir) return run();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await run();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    await mkdir(dir, { recursive: true });
    await writeFile(`${dir}/${name}.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
  }
}

async function main(settings: LedgerSettings): Promise<LedgerResult> {
  const dir = settings.profileDir;
  const store: LedgerStore =
    settings.store === 'mongo'
      ? new MongoStore({ uri: settings.mongoUri as string, dbName: settings.dbName as string })
      : new MemoryStore();
  const ledger = new Ledger({ store });
  await ledger.open();
  try {
    let started = performance.now();
    const sample = await phase('seed', dir, () => seed(store, settings.events));
    const seedSeconds = (performance.now() - started) / 1000;

    started = performance.now();
    const report = await phase('rebuild', dir, () => rebuildProjection(store));
    const rebuildSeconds = (performance.now() - started) / 1000;

    return {
      seed: { events: await store.countEvents(), seconds: seedSeconds },
      rebuild: { events: report.events, streams: report.streams, seconds: rebuildSeconds },
      audit: await phase('audit', dir, () => audit(ledger, sample, settings.queries)),
      appends: await phase('appends', dir, () => appends(ledger, settings.appends)),
    };
  } finally {
    await ledger.close();
  }
}

if (!process.send) throw new Error('bench/ledger.ts runs as a child of bench/run.ts');
const result = await main(JSON.parse(process.argv[2] as string) as LedgerSettings);
process.send({ type: 'result', result });
process.on('message', () => process.exit(0));
