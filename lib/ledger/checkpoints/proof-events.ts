/**
 * The events of an inclusion proof, as `audit history --json` shows them (personal fields
 * decrypted, or `personal` saying why not), each event that holds personal data carrying the
 * stored ciphertext in `ciphertext`. The hash chain covers the stored form, so one rule gives it
 * back (docs/checkpoints.md, "Inclusion proofs"): drop `ciphertext`, `claims`, `meta.ip` and
 * `meta.userAgent`, and set `personal` to the dropped `ciphertext`. An event without
 * `ciphertext` is its stored form.
 */
import type { AuditEvent, LedgerEvent } from '../events.js';
import { canonicalJson } from '../hash-chain.js';

/** The member that carries an event's stored personal data ciphertext in a proof. */
export const CIPHERTEXT = 'ciphertext';

/** An event as a proof shows it: the audit view plus, with personal data, its ciphertext. */
export type ProofEvent = AuditEvent & { ciphertext?: string };

/** `revealed[i]` (the audit view of `stored[i]`) with `stored[i]`'s ciphertext, if it has one. */
export function proofEvents(
  stored: readonly LedgerEvent[],
  revealed: readonly AuditEvent[],
): ProofEvent[] {
  return revealed.map((view, i) => {
    const ciphertext = stored[i]?.personal;
    return ciphertext === undefined ? view : { ...view, [CIPHERTEXT]: ciphertext };
  });
}

/**
 * The stored form of one event of a proof, by the rule above; anything else is returned as it
 * is, for the chain check to judge. The clear members are dropped, not checked: the hash does
 * not cover them (see `clearFieldsProblem`).
 */
export function storedFormOf(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || !(CIPHERTEXT in value)) return value;
  const { ciphertext, claims: _claims, meta, ...rest } = value as Record<string, unknown>;
  if (typeof ciphertext !== 'string') return value;
  let storedMeta = meta;
  if (typeof meta === 'object' && meta !== null) {
    const { ip: _ip, userAgent: _userAgent, ...others } = meta as Record<string, unknown>;
    storedMeta = others;
  }
  return { ...rest, meta: storedMeta, personal: ciphertext };
}

/** The clear personal fields of an event: what its ciphertext holds. */
function clearFieldsOf(event: AuditEvent | undefined): string {
  const meta = event?.meta as { ip?: unknown; userAgent?: unknown } | undefined;
  const claims = (event as { claims?: unknown } | undefined)?.claims;
  return canonicalJson({ claims, ip: meta?.ip, userAgent: meta?.userAgent });
}

/**
 * Why the clear personal fields of proof event `view` are not what its ciphertext holds, or
 * undefined; `opened` is the audit view of its stored form, read with the data keys. When they
 * cannot be opened (erased, expired, no key) there is nothing to compare.
 */
export function clearFieldsProblem(
  view: ProofEvent,
  opened: AuditEvent | undefined,
): string | undefined {
  if (opened?.personal !== 'decrypted') return undefined;
  const shown = clearFieldsOf(view);
  if (view.personal !== 'decrypted') {
    return shown === clearFieldsOf(undefined)
      ? undefined
      : `personal fields shown in clear although it says "${String(view.personal)}"`;
  }
  return shown === clearFieldsOf(opened)
    ? undefined
    : 'personal fields in clear differ from what the ciphertext holds';
}
