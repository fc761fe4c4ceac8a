/**
 * Shared by the hardening specs, the fuzz runner and the soak: what "the ledger did not change"
 * means, and what a response body must never contain.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { Db } from 'mongodb';
import type { LedgerStore } from '../../lib/ledger/store.js';

/** The ledger as a comparable value: how many events, and the projection's canonical form. */
export interface LedgerSnapshot {
  events: number;
  /** SHA-256 of the RFC 8785 canonical form of every stream's latest projection snapshot. */
  states: string;
}

function digest(states: readonly unknown[]): string {
  return createHash('sha256')
    .update(canonicalize(states) ?? '')
    .digest('hex');
}

/** Through the store contract (any store, the memory store included). */
export async function storeSnapshot(store: LedgerStore): Promise<LedgerSnapshot> {
  const states: unknown[] = [];
  for await (const state of store.scanStates()) states.push(state);
  return { events: await store.countEvents(), states: digest(states) };
}

/**
 * Straight from the database, past the plugin (which may be cut off from it): every projection
 * snapshot document, not only the latest per stream, so a stray write shows too.
 */
export async function databaseSnapshot(db: Db): Promise<LedgerSnapshot> {
  const states = await db
    .collection('jwtconnect_state')
    .find({}, { projection: { _id: 0 } })
    .sort({ stream: 1, seq: 1 })
    .toArray();
  return {
    events: await db.collection('jwtconnect_events').countDocuments(),
    states: digest(states),
  };
}

/** Secrets a test plugin holds; none of them may ever appear in a response. */
export interface Secrets {
  /** Strings that must not appear anywhere in a body (key parameters, the subject secret). */
  values: readonly string[];
}

const PRIVATE_JWK_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']);
const STACK_PATTERNS = [
  /\n\s+at\s/,
  /\bat\s+\S+\s+\((?:file:|node:|\/)/,
  /\.(?:ts|js|mjs|cjs):\d+:\d+/,
  /node:internal/,
  /node_modules/,
];

/**
 * Why a response body leaks something it must not (a stack trace, key material, a private JWK
 * member, a secret), or null when it is clean.
 */
export function leakIn(text: string, secrets: Secrets): string | null {
  if (text.includes('-----BEGIN') || text.includes('PRIVATE KEY')) return 'a PEM block';
  for (const pattern of STACK_PATTERNS) if (pattern.test(text)) return `a stack trace (${pattern})`;
  for (const value of secrets.values) if (text.includes(value)) return 'a secret value';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  const member = privateMember(parsed);
  return member === null ? null : `a private JWK member "${member}"`;
}

function privateMember(value: unknown): string | null {
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = privateMember(item);
      if (found !== null) return found;
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const [name, inner] of Object.entries(value)) {
      if (PRIVATE_JWK_MEMBERS.has(name)) return name;
      const found = privateMember(inner);
      if (found !== null) return found;
    }
  }
  return null;
}
