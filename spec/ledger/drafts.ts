/**
 * Realistic event drafts for the ledger specs: what the token routes would append.
 */
import { randomBytes } from 'node:crypto';
import type { EventDraft, EventMeta, LedgerEvent } from '../../lib/ledger/events.js';
import { EVENT_VERSION, tokenIdsOf } from '../../lib/ledger/events.js';
import { hashEvent } from '../../lib/ledger/hash-chain.js';
import type { SessionState } from '../../lib/ledger/projection.js';

/** The fake clock's default start (spec/support/clock.ts): every spec's time zero. */
export const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

export function at(offsetMs: number): Date {
  return new Date(T0 + offsetMs);
}

export const ACCESS_TTL = 300;
export const REFRESH_TTL = 3600;

/** A random id with a readable prefix; every spec uses fresh ids so tests never share streams. */
export function newId(prefix: string): string {
  return `${prefix}-${randomBytes(8).toString('hex')}`;
}

function seconds(now: number): number {
  return Math.floor(now / 1000);
}

export function issued(
  sub: string,
  now: number,
  options: { source?: string; accessTtl?: number; refreshTtl?: number } = {},
): Extract<EventDraft, { type: 'issued' }> {
  return {
    type: 'issued',
    sub,
    meta: { source: options.source ?? 'saml', ip: '192.0.2.1', userAgent: 'spec' },
    access: { jti: newId('at'), exp: seconds(now) + (options.accessTtl ?? ACCESS_TTL) },
    refresh: { jti: newId('rt'), exp: seconds(now) + (options.refreshTtl ?? REFRESH_TTL) },
  };
}

/** Rotation of the session's current refresh token. */
export function refreshed(
  session: Pick<SessionState, 'sub' | 'refreshJti'>,
  now: number,
): Extract<EventDraft, { type: 'refreshed' }> {
  return {
    type: 'refreshed',
    sub: session.sub,
    meta: { ip: '192.0.2.1' },
    spent: session.refreshJti,
    access: { jti: newId('at'), exp: seconds(now) + ACCESS_TTL },
    refresh: { jti: newId('rt'), exp: seconds(now) + REFRESH_TTL },
  };
}

const revokedMeta: EventMeta = { reason: 'logout', actor: 'spec' };

/** Revocation drafts, one per target kind (token, session, subject cut-off). */
export const revoked = {
  token(sub: string, jti: string, meta = revokedMeta): EventDraft {
    return { type: 'revoked', sub, meta, target: { kind: 'token', jti } };
  },
  session(sub: string, meta = revokedMeta): EventDraft {
    return { type: 'revoked', sub, meta, target: { kind: 'session' } };
  },
  subject(sub: string, before: Date, meta = revokedMeta): EventDraft {
    return { type: 'revoked', sub, meta, target: { kind: 'subject', before } };
  },
};

/**
 * Seals drafts into a valid chain for store-level specs, the way the `Ledger` would: seq from 1,
 * `prev` linking each event to the one before, `hash` over the canonical form.
 */
export function chain(
  stream: string,
  steps: readonly { draft: EventDraft; time: Date }[],
  after: { seq: number; hash: string | null } = { seq: 0, hash: null },
): LedgerEvent[] {
  const events: LedgerEvent[] = [];
  let prev = after.hash;
  for (const [index, { draft, time }] of steps.entries()) {
    const unsealed = {
      v: EVENT_VERSION,
      stream,
      seq: after.seq + index + 1,
      time,
      jtis: tokenIdsOf(draft),
      prev,
      ...draft,
    } as Omit<LedgerEvent, 'hash'>;
    const event = { ...unsealed, hash: hashEvent(unsealed) } as LedgerEvent;
    events.push(event);
    prev = event.hash;
  }
  return events;
}

/** A session stream of `issued` followed by `refreshes` rotations, one second apart from `start`. */
export function sessionEvents(
  stream: string,
  sub: string,
  start: number,
  refreshes = 0,
): LedgerEvent[] {
  const first = issued(sub, start);
  const steps = [{ draft: first as EventDraft, time: new Date(start) }];
  let current = first.refresh.jti;
  for (let i = 1; i <= refreshes; i++) {
    const draft = refreshed({ sub, refreshJti: current }, start + i * 1000);
    current = draft.refresh.jti;
    steps.push({ draft, time: new Date(start + i * 1000) });
  }
  return chain(stream, steps);
}
