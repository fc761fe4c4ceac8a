/**
 * Checking that one stream's events are included in a signed checkpoint, with the public keys
 * alone: the events chain (lib/ledger/hash-chain.ts), the last one is the stream's leaf, and the
 * audit path leads from that leaf to the signed root (RFC 9162 section 2.1.3.2).
 */
import type { LedgerEvent } from '../events.js';
import { verifyStream } from '../hash-chain.js';
import type { CheckpointClaims } from './claims.js';
import { leafOf } from './claims.js';
import { leafHash, rootFromPath } from './merkle.js';

/** One stream's events, as JSON text shows them (times as ISO 8601 strings), and its proof. */
export interface StreamInclusion {
  /** The stream (session id). */
  stream: string;
  /** Its events from seq 1, as `audit history --json` prints them. */
  events: unknown[];
  /** The leaf's index in the tree (0-based). */
  index: number;
  /** The audit path, base64url hashes from the leaf up. */
  path: string[];
}

/** Reasons an inclusion does not hold; empty when it does. */
export function inclusionProblems(inclusion: StreamInclusion, claims: CheckpointClaims): string[] {
  const { stream, index, path } = inclusion;
  if (!Array.isArray(inclusion.events) || inclusion.events.length === 0) {
    return [`stream ${stream}: no events`];
  }
  const events = inclusion.events.map(asEvent);
  if (events.some((event) => event === null)) return [`stream ${stream}: malformed event`];
  const chain = events as LedgerEvent[];
  const problems = verifyStream(stream, chain).map(
    (problem) => `stream ${stream} seq ${problem.seq}: ${problem.problem} (${problem.detail})`,
  );
  if (chain[0]?.seq !== 1) problems.push(`stream ${stream}: events do not start at seq 1`);
  const last = chain.at(-1) as LedgerEvent;
  if ((timeOf(last as unknown as Record<string, unknown>) ?? Infinity) > claims.upto * 1000) {
    problems.push(`stream ${stream}: seq ${last.seq} is later than the checkpoint's upto`);
  }
  if (!Array.isArray(path) || !path.every((hash) => /^[A-Za-z0-9_-]{43}$/.test(String(hash)))) {
    return [...problems, `stream ${stream}: malformed audit path`];
  }
  const leaf = leafHash(leafOf({ stream, seq: last.seq, hash: last.hash }));
  const nodes = path.map((hash) => Buffer.from(hash, 'base64url'));
  const root = rootFromPath(index, claims.streams, leaf, nodes);
  if (root === null) problems.push(`stream ${stream}: the audit path does not fit the tree`);
  else if (root.toString('base64url') !== claims.root) {
    problems.push(`stream ${stream}: the audit path does not lead to the signed root`);
  }
  return problems;
}

/**
 * An event read back from JSON, its dates (`time`, a subject revocation's `before`) Dates again as
 * the event schema wants them; null when it is not one. A Date and its ISO 8601 string have the
 * same canonical form (lib/ledger/hash-chain.ts), so the hash is unchanged.
 */
function asEvent(value: unknown): LedgerEvent | null {
  const event = value as Record<string, unknown> | null;
  if (typeof event !== 'object' || event === null) return null;
  if (typeof event['hash'] !== 'string' || !Number.isSafeInteger(event['seq'])) return null;
  const time = timeOf(event);
  if (time === null) return null;
  const revived: Record<string, unknown> = { ...event, time: new Date(time) };
  const target = event['target'] as Record<string, unknown> | undefined;
  if (target?.['kind'] === 'subject' && typeof target['before'] === 'string') {
    revived['target'] = { ...target, before: new Date(target['before']) };
  }
  return revived as unknown as LedgerEvent;
}

function timeOf(event: Record<string, unknown>): number | null {
  const time = event['time'];
  const ms =
    time instanceof Date ? time.getTime() : typeof time === 'string' ? Date.parse(time) : NaN;
  return Number.isNaN(ms) ? null : ms;
}
