/**
 * The event schema `verify` checks stored events against: every event the ledger writes matches
 * it, and nothing else does.
 */
import type { EventDraft, LedgerEvent } from '../../lib/ledger/events.js';
import { eventSchemaProblem } from '../../lib/ledger/validate.js';
import { at, chain, issued, newId, revoked } from './drafts.js';
import { expect } from './expect.js';

describe('ledger/validate: the event schema', () => {
  const sub = newId('sub');
  const first = issued(sub, at(0).getTime());
  const drafts: EventDraft[] = [
    {
      ...first,
      sessionExp: first.refresh.exp + 3600,
      scope: 'audit',
      aud: ['a', 'b'],
      claims: JSON.parse('{"email": "x", "__proto__": {"admin": true}}') as Record<string, unknown>,
    },
    {
      type: 'refreshed',
      sub,
      meta: {},
      spent: first.refresh.jti,
      access: first.access,
      refresh: first.refresh,
    },
    revoked.token(sub, first.access.jti),
    revoked.session(sub),
    revoked.subject(sub, at(5000)),
  ];
  const events = chain(
    newId('sid'),
    drafts.map((draft, i) => ({ draft, time: at(i * 1000) })),
  );

  it('accepts every kind of event the ledger writes', () => {
    for (const event of events) expect(eventSchemaProblem(event), event.type).to.equal(undefined);
  });

  it('names what is wrong with anything else', () => {
    const [issuedEvent, , revokedEvent] = events as [LedgerEvent, LedgerEvent, LedgerEvent];
    const cases: [unknown, string][] = [
      [
        { ...issuedEvent, meta: JSON.parse('{"__proto__": {"reason": "x"}}') },
        'at /meta: unknown member "__proto__"',
      ],
      [{ ...issuedEvent, extra: 1 }, 'at the event: unknown member "extra"'],
      [
        { ...issuedEvent, access: { ...(issuedEvent as { access: object }).access, token: 'eyJ' } },
        'at /access: unknown member "token"',
      ],
      [
        { ...issuedEvent, time: '2026-01-15T12:00:00.000Z' },
        'at /time: must pass "isDate" keyword validation',
      ],
      [{ ...issuedEvent, seq: 0 }, 'at /seq: must be >= 1'],
      [{ ...issuedEvent, type: 'deleted' }, 'unknown event type'],
      [
        { ...revokedEvent, target: { kind: 'token' } },
        "at /target: must have required property 'jti'",
      ],
      [null, 'unknown event type'],
    ];
    for (const [value, problem] of cases) expect(eventSchemaProblem(value)).to.equal(problem);
  });
});
