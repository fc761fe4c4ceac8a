/**
 * Retention (`personalData.retentionDays`): the data keys of periods that ended more than that many
 * days ago are destroyed, so the personal data they protected reads as `expired`. Events stay.
 *
 * A session's claims are under the key of the period it started in, and a refresh needs them: a
 * key that a session still able to refresh depends on is kept until that session ends (its
 * refresh token expires, with the clock tolerance, or it reaches its recorded `sessionExp`, or it
 * is revoked; a session recorded without an end counts until its refresh token expires). A session that cannot
 * refresh now never can again, so keeping only those keys leaves no race with a refresh.
 */
import {
  isSessionRevoked,
  subjectStream,
  type DataKeyRecord,
  type Ledger,
} from '../ledger/index.js';
import { dataKeyIdOf } from './codec.js';
import type { DataKeys } from './data-keys.js';
import { firstRetainedPeriod } from './periods.js';

/** What `auth.personalData.expire()` did. */
export interface ExpireReport {
  /** Periods before this one (`YYYY-MM`) were past retention. */
  before: string;
  /** Data keys destroyed. */
  destroyed: number;
  /** Data keys past retention kept because a session that can still refresh needs them. */
  kept: number;
}

export async function expirePersonalData(
  ledger: Ledger,
  keys: DataKeys,
  options: { retentionDays: number; toleranceMs: number },
): Promise<ExpireReport> {
  const { store } = ledger;
  const now = ledger.clock();
  const before = firstRetainedPeriod(now, options.retentionDays);
  const bySub = new Map<string, DataKeyRecord[]>();
  for (const record of await store.liveDataKeys({ periodBefore: before })) {
    const list = bySub.get(record.sub);
    if (list) list.push(record);
    else bySub.set(record.sub, [record]);
  }
  let destroyed = 0;
  let kept = 0;
  for (const [sub, records] of bySub) {
    const needed = await keysOfRefreshableSessions(ledger, sub, now, options.toleranceMs);
    const doomed = records.filter((record) => !needed.has(record.kid));
    kept += records.length - doomed.length;
    await keys.destroy(doomed, 'expired');
    destroyed += doomed.length;
  }
  return { before, destroyed, kept };
}

async function keysOfRefreshableSessions(
  ledger: Ledger,
  sub: string,
  now: number,
  toleranceMs: number,
): Promise<Set<string>> {
  const [subject = null] = await ledger.store.loadStates([subjectStream(sub)]);
  const needed = new Set<string>();
  for (const session of await ledger.store.findOpenSessions(sub)) {
    if (isSessionRevoked(session, subject?.kind === 'subject' ? subject : null)) continue;
    const end = Math.min(session.refreshExp, session.sessionExp ?? Number.POSITIVE_INFINITY);
    if (end * 1000 + toleranceMs <= now || session.personal === undefined) continue;
    const kid = dataKeyIdOf(session.personal);
    if (kid !== null) needed.add(kid);
  }
  return needed;
}
