/**
 * Erasure of a subject's personal data (GDPR article 17): its data keys are destroyed, so every
 * ciphertext they made is unreadable for good, while the events stay and verify.
 *
 * Order, so that an erasure interrupted at any step is finished by running it again, and no
 * session can be refreshed once its keys are gone:
 * 1. revoke every session of the subject (one subject cut-off, plus any session that started
 *    beyond it): from here on none can be refreshed or used as a Bearer;
 * 2. destroy every live data key of the subject (including one made by a login meanwhile);
 * 3. append `erased` to the subject's stream: it records a fact that is already true.
 * A crash after 1 leaves revoked sessions with readable data; after 2, unreadable data without the
 * `erased` event. Either way the next call sees no `erased` newer than the keys and does all three
 * again (revoking again is harmless). Refreshing concurrently cannot outlive step 1: a refresh
 * checks the revocation, and even one that passed the check before it gets tokens of a session
 * that the cut-off covers (it covers by session start), which are refused from then on.
 */
import {
  assertId,
  coveredByCutOff,
  isSessionRevoked,
  subjectStream,
  type EventMeta,
  type Ledger,
  type LedgerEvent,
  type SubjectState,
} from '../ledger/index.js';
import type { DataKeys } from './data-keys.js';

/** What `auth.erase()` records about an erasure. */
export interface EraseOptions {
  /** Who asked for or performed the erasure (recorded). */
  actor?: string;
  /** Why, e.g. `gdpr_request` (recorded). Default `erasure`. */
  reason?: string;
}

/** What `auth.erase()` did. */
export interface EraseResult {
  /** The subject erased. */
  sub: string;
  /** false when the subject was erased already and nothing of it was left to erase. */
  erased: boolean;
  /** Data keys destroyed by this call. */
  keysDestroyed: number;
  /** The `erased` event appended. */
  event?: LedgerEvent;
}

export async function eraseSubject(
  ledger: Ledger,
  keys: DataKeys,
  sub: string,
  options: EraseOptions & { toleranceMs: number },
): Promise<EraseResult> {
  assertId(sub, 'sub');
  const { store } = ledger;
  const meta: EventMeta = { actor: options.actor ?? 'system', reason: options.reason ?? 'erasure' };
  const subject = await subjectState(ledger, sub);
  const open = (await store.findOpenSessions(sub)).filter(
    (session) => !isSessionRevoked(session, subject),
  );
  const live = await store.liveDataKeys({ sub });
  if (subject?.erasedAt !== undefined && open.length === 0 && live.length === 0) {
    return { sub, erased: false, keysDestroyed: 0 };
  }

  // 1. Revoke. The cut-off reaches sessions started up to the clock tolerance ahead (another
  // instance's clock); a session that started later still is revoked on its own.
  const latestStart = Math.max(0, ...open.map((session) => session.createdAt.getTime()));
  const cut = await ledger.execute(subjectStream(sub), (_state, { now }) => ({
    type: 'revoked',
    sub,
    meta,
    target: {
      kind: 'subject',
      before: new Date(Math.max(now, Math.min(latestStart, now + options.toleranceMs))),
    },
  }));
  const target = cut?.event.type === 'revoked' ? cut.event.target : undefined;
  const cutOff = target?.kind === 'subject' ? target.before : undefined;
  for (const session of open) {
    if (cutOff && coveredByCutOff(session.createdAt, cutOff)) continue;
    await ledger.execute(session.stream, (state) =>
      state?.kind !== 'session' || state.revoked
        ? null
        : { type: 'revoked', sub, meta, target: { kind: 'session' } },
    );
  }

  // 2. Destroy, reading the keys again: a login during step 1 may have made one.
  keys.forgetSubject(sub);
  const doomed = await store.liveDataKeys({ sub });
  await keys.destroy(doomed, 'erased');

  // 3. Record.
  const erased = await ledger.execute(subjectStream(sub), () => ({ type: 'erased', sub, meta }));
  return {
    sub,
    erased: true,
    keysDestroyed: doomed.length,
    ...(erased && { event: erased.event }),
  };
}

async function subjectState(ledger: Ledger, sub: string): Promise<SubjectState | null> {
  const [state] = await ledger.store.loadStates([subjectStream(sub)]);
  return state?.kind === 'subject' ? state : null;
}
