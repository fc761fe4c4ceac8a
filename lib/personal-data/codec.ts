/**
 * Personal fields in and out of events. `protect` moves a draft's user claims, client IP and user
 * agent into `personal`, one compact JWE (RFC 7516, `dir` + `A256GCM`) under the subject's data key
 * of the current period, so they never reach the store in clear. `reveal` puts them back for audit
 * reads, or says why it cannot (`erased`, `expired`, `unavailable`).
 */
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader, errors } from 'jose';
import { PersonalDataError } from '../errors.js';
import type { AuditEvent, EventDraft, EventMeta, LedgerEvent } from '../ledger/index.js';
import type { DataKeys, OpenKey } from './data-keys.js';

/** What `personal` holds, in clear. */
export interface PersonalFields {
  claims?: Record<string, unknown>;
  ip?: string;
  userAgent?: string;
}

const CONTENT = { alg: 'dir', enc: 'A256GCM' } as const;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `draft` with its personal fields encrypted into `personal`; unchanged if it has none. */
export async function protect(keys: DataKeys, draft: EventDraft, now: number): Promise<EventDraft> {
  const { ip: _ip, userAgent: _userAgent, ...meta } = draft.meta;
  const fields = personalFieldsOf(draft);
  if (Object.keys(fields).length === 0) return draft;
  const key = await keys.forWriting(draft.sub, now);
  const personal = await new CompactEncrypt(encoder.encode(JSON.stringify(fields)))
    .setProtectedHeader({ ...CONTENT, kid: key.kid })
    .encrypt(key.key);
  if (draft.type === 'issued') {
    const { claims: _inClear, ...rest } = draft;
    return { ...rest, meta, personal };
  }
  return { ...draft, meta, personal };
}

/** A draft's personal fields (absent ones left out). */
function personalFieldsOf(draft: EventDraft): PersonalFields {
  const { ip, userAgent } = draft.meta;
  const claims = draft.type === 'issued' ? draft.claims : undefined;
  const fields: PersonalFields = {};
  if (claims !== undefined && Object.keys(claims).length > 0) fields.claims = claims;
  if (ip !== undefined) fields.ip = ip;
  if (userAgent !== undefined) fields.userAgent = userAgent;
  return fields;
}

/** The data key id a ciphertext names, or null if it names none. */
export function dataKeyIdOf(personal: string): string | null {
  try {
    const { kid } = decodeProtectedHeader(personal);
    return typeof kid === 'string' ? kid : null;
  } catch (error) {
    if (error instanceof TypeError || error instanceof errors.JOSEError) return null;
    throw error;
  }
}

/** The fields in `personal`, or a `PersonalDataError` saying why they cannot be read. */
export async function openPersonal(
  keys: DataKeys,
  personal: string,
  options: { fresh?: boolean } = {},
): Promise<PersonalFields> {
  return decryptWith((kid) => keys.forReading(kid, options), personal);
}

async function decryptWith(
  keyOf: (kid: string) => Promise<OpenKey>,
  personal: string,
): Promise<PersonalFields> {
  const kid = dataKeyIdOf(personal);
  if (kid === null) throw new PersonalDataError('the personal data names no data key');
  const { key } = await keyOf(kid);
  try {
    const { plaintext } = await compactDecrypt(personal, key, {
      keyManagementAlgorithms: [CONTENT.alg],
      contentEncryptionAlgorithms: [CONTENT.enc],
    });
    return JSON.parse(decoder.decode(plaintext)) as PersonalFields;
  } catch (error) {
    throw new PersonalDataError('the personal data does not decrypt', 'unavailable', {
      cause: error,
    });
  }
}

/**
 * Events as audit reads return them (see `AuditEvent`). Data keys are read from the store, not the
 * cache, so an erasure shows at once; each key once per call.
 */
export async function reveal(
  keys: DataKeys | null,
  events: readonly LedgerEvent[],
): Promise<AuditEvent[]> {
  const found = new Map<string, Promise<OpenKey>>();
  const keyOf = (kid: string) => {
    let key = found.get(kid);
    if (!key) {
      key = keys
        ? keys.forReading(kid, { fresh: true })
        : Promise.reject(new PersonalDataError('no key-encryption key is configured'));
      // Handled where it is awaited; a rejected entry must not count as unhandled meanwhile.
      key.catch(() => undefined);
      found.set(kid, key);
    }
    return key;
  };
  return Promise.all(
    events.map((event) => revealOne(event, (personal) => decryptWith(keyOf, personal))),
  );
}

async function revealOne(
  event: LedgerEvent,
  open: (personal: string) => Promise<PersonalFields>,
): Promise<AuditEvent> {
  if (event.personal === undefined) return event as AuditEvent;
  try {
    return withFields(event, await open(event.personal));
  } catch (error) {
    if (!(error instanceof PersonalDataError)) throw error;
    const { personal: _ciphertext, ...rest } = event;
    return { ...rest, personal: error.reason } as AuditEvent;
  }
}

/**
 * An event just sealed from `draft`, as `reveal` returns it, without decrypting: the fields are
 * the draft's, as JSON (what the ciphertext holds).
 */
export function revealAppended(event: LedgerEvent, draft: EventDraft): AuditEvent {
  if (event.personal === undefined) return event as AuditEvent;
  const fields = personalFieldsOf(draft);
  return withFields(event, JSON.parse(JSON.stringify(fields)) as PersonalFields);
}

/** `event` with `fields` in place and `personal: 'decrypted'`. */
function withFields(event: LedgerEvent, fields: PersonalFields): AuditEvent {
  const { personal: _ciphertext, ...rest } = event;
  const meta: EventMeta = {};
  const { source, method, actor, reason } = rest.meta;
  if (source !== undefined) meta.source = source;
  if (method !== undefined) meta.method = method;
  if (fields.ip !== undefined) meta.ip = fields.ip;
  if (fields.userAgent !== undefined) meta.userAgent = fields.userAgent;
  if (actor !== undefined) meta.actor = actor;
  if (reason !== undefined) meta.reason = reason;
  const claims = rest.type === 'issued' && fields.claims !== undefined && { claims: fields.claims };
  return { ...rest, meta, ...claims, personal: 'decrypted' } as AuditEvent;
}
