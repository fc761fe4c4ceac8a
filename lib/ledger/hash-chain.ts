/**
 * Tamper evidence: each event carries the SHA-256 of its canonical form, which includes the hash
 * of the previous event of the same stream. Changing, removing or reordering an event breaks the
 * chain from that point on; removing the last event is caught by comparing with the projection.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { LedgerEvent } from './events.js';
import { eventSchemaProblem } from './validate.js';

/**
 * The canonical form (RFC 8785 JSON Canonicalization Scheme) of an event without its `hash`.
 * Dates become ISO 8601 strings; absent optional fields are absent, never null. Every own member
 * is included, whatever its name: `__proto__` included (see `toJson`).
 */
export function canonicalForm(event: Omit<LedgerEvent, 'hash'> & { hash?: string }): string {
  const { hash: _hash, ...body } = event;
  return canonicalJson(body);
}

/** RFC 8785 canonical JSON of any event or state value (Dates as ISO 8601 strings). */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(toJson(value));
  if (text === undefined) throw new TypeError('value has no canonical form');
  return text;
}

export function hashEvent(event: Omit<LedgerEvent, 'hash'> & { hash?: string }): string {
  return createHash('sha256').update(canonicalForm(event)).digest('hex');
}

/** One problem found while walking a stream's chain. */
export interface ChainProblem {
  stream: string;
  seq: number;
  problem: 'altered' | 'missing' | 'reordered' | 'broken_link' | 'missing_tail';
  detail: string;
}

/**
 * Checks one stream's events (as stored, sorted by seq) against each other. `expectedHead` is what
 * the projection says the stream's last seq and hash are, when it has that stream. `start` is the
 * last event of an archived prefix the stored events continue (its seq and hash), if any.
 */
export function verifyStream(
  stream: string,
  events: readonly LedgerEvent[],
  expectedHead?: { seq: number; hash: string },
  start?: { seq: number; hash: string },
): ChainProblem[] {
  const problems: ChainProblem[] = [];
  let previous: { seq: number; hash: string } | undefined = start;
  for (const event of events) {
    // Counted from the previous event, so one gap is one problem that names the first missing seq.
    const expectedSeq = (previous?.seq ?? 0) + 1;
    if (event.seq > expectedSeq) {
      problems.push({
        stream,
        seq: expectedSeq,
        problem: 'missing',
        detail: `expected seq ${expectedSeq}, found ${event.seq}`,
      });
    } else if (event.seq < expectedSeq) {
      problems.push({
        stream,
        seq: event.seq,
        problem: 'reordered',
        detail: `expected seq ${expectedSeq}, found ${event.seq}`,
      });
    }
    const altered = contentProblem(event);
    if (altered !== undefined) {
      problems.push({ stream, seq: event.seq, problem: 'altered', detail: altered });
    }
    const malformed = eventSchemaProblem(event);
    if (malformed !== undefined) {
      // The ledger never writes such an event, so it was edited, even if its hash was recomputed.
      problems.push({
        stream,
        seq: event.seq,
        problem: 'altered',
        detail: `does not match the event schema ${malformed}`,
      });
    }
    const expectedPrev = previous?.hash ?? null;
    if (event.prev !== expectedPrev) {
      problems.push({
        stream,
        seq: event.seq,
        problem: 'broken_link',
        detail: 'prev does not match the hash of the preceding event',
      });
    }
    if (event.stream !== stream) {
      problems.push({
        stream,
        seq: event.seq,
        problem: 'altered',
        detail: 'event names another stream',
      });
    }
    previous = event;
  }
  if (expectedHead) {
    const lastSeq = previous?.seq ?? 0;
    if (expectedHead.seq > lastSeq) {
      problems.push({
        stream,
        seq: lastSeq + 1,
        problem: 'missing_tail',
        detail: `projection is at seq ${expectedHead.seq}, log ends at ${lastSeq}`,
      });
    } else if (expectedHead.seq === lastSeq && previous && expectedHead.hash !== previous.hash) {
      problems.push({
        stream,
        seq: lastSeq,
        problem: 'altered',
        detail: 'last event differs from the one the projection recorded',
      });
    }
  }
  return problems;
}

/** Why a stored event's content does not match its hash, or undefined when it does. */
function contentProblem(event: LedgerEvent): string | undefined {
  let hash: string;
  try {
    hash = hashEvent(event);
  } catch (error) {
    // e.g. a lone surrogate or a non-finite number inserted by hand: RFC 8785 has no form for it.
    return `content has no canonical form (${error instanceof Error ? error.message : 'unknown'})`;
  }
  return hash === event.hash ? undefined : 'hash does not match content';
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/**
 * A JSON value of `value`, with every own enumerable member. Members are defined, never assigned,
 * on objects without a prototype: `out['__proto__'] = x` would call the `Object.prototype` setter
 * and drop the member from the hashed form while the stored event still shows it. Nothing on this
 * path reads a member through a prototype either (`canonicalize` reads own keys only).
 */
function toJson(value: unknown): Json {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toJson);
  if (value !== null && typeof value === 'object') {
    const out = Object.create(null) as { [key: string]: Json };
    for (const [key, inner] of Object.entries(value)) {
      if (inner === undefined) continue;
      Object.defineProperty(out, key, { value: toJson(inner), enumerable: true });
    }
    return out;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return value;
  }
  if (value === null) return null;
  throw new TypeError(`value of type ${typeof value} has no canonical form`);
}
