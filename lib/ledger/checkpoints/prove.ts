/**
 * Inclusion proofs: one session's events, the latest checkpoint, and the audit path from the
 * session's leaf to that checkpoint's root; checkable with the JWKS alone (`verifyProof`).
 */
import type { JSONWebKeySet } from 'jose';
import { ArchivedError, CheckpointError, IntegrityError, LedgerInputError } from '../../errors.js';
import { reveal as revealWithKeys } from '../../personal-data/codec.js';
import type { AuditEvent, LedgerEvent } from '../events.js';
import type { LedgerStore } from '../store.js';
import { assertId } from '../validate.js';
import { streamInTree } from './checkpoint.js';
import { decodeCheckpoint, verifyCheckpoint, type CheckpointClaims } from './claims.js';
import { inclusionProblems, type StreamInclusion } from './inclusion.js';
import { clearFieldsProblem, proofEvents, storedFormOf, type ProofEvent } from './proof-events.js';

/** The `format` member of a proof document. */
export const PROOF_FORMAT = 'koa-jwtconnect-proof';

/** An inclusion proof document (`auth.audit.prove()`, `audit prove`). */
export interface InclusionProof extends StreamInclusion {
  format: typeof PROOF_FORMAT;
  version: 1;
  /** The checkpoint's compact JWS. */
  checkpoint: string;
}

/** How a proof shows personal data. */
export interface ProveOptions {
  /**
   * `revealed` (default): each event as `audit history --json` shows it, personal fields
   * decrypted where the data key is alive (else `personal` says why not), plus its stored
   * ciphertext in `ciphertext`. `sealed`: each event as stored, personal data as ciphertext only,
   * for a reader who should not see it.
   */
  personal?: 'revealed' | 'sealed';
}

/** Audit views of stored events (`PersonalData.reveal`); without keys, all read `unavailable`. */
export type Reveal = (events: readonly LedgerEvent[]) => Promise<AuditEvent[]>;

const withoutKeys: Reveal = (events) => revealWithKeys(null, events);

/**
 * The proof that session `sid`'s events up to the latest checkpoint are included in it.
 *
 * @throws {@link CheckpointError} when there is no such session or no checkpoint covers it yet;
 *   {@link ArchivedError} when it was archived; {@link IntegrityError} when the store no longer
 *   adds up to the signed root (something was changed after the checkpoint was signed).
 */
export async function prove(
  store: LedgerStore,
  sid: string,
  options: ProveOptions = {},
  reveal: Reveal = withoutKeys,
): Promise<InclusionProof> {
  assertId(sid, 'sid');
  const personal = options.personal ?? 'revealed';
  if (personal !== 'revealed' && personal !== 'sealed') {
    throw new LedgerInputError('"personal" must be "revealed" or "sealed"');
  }
  const events = await store.readStream(sid);
  // Empty, or only a tail after an archived prefix: the session's proof is its archive file.
  if (events[0]?.seq !== 1) {
    const [archived] = await store.findArchived({ stream: sid });
    if (archived) {
      throw new ArchivedError(`session ${sid} is in archive ${archived.archive}`, archived.archive);
    }
    if (events.length === 0) throw new CheckpointError(`the ledger has no session ${sid}`);
  }
  const latest = await store.latestCheckpoint();
  const claims = latest && decodeCheckpoint(latest.jws);
  const covered = claims ? events.filter((e) => e.time.getTime() <= claims.upto * 1000) : [];
  if (!latest || !claims || covered.length === 0) {
    throw new CheckpointError(`no checkpoint covers session ${sid} yet`);
  }
  const tree = await streamInTree(store, claims.upto, sid);
  const last = covered.at(-1);
  if (
    tree.root !== claims.root ||
    tree.streams !== claims.streams ||
    tree.events !== claims.events ||
    tree.head?.hash !== last?.hash
  ) {
    throw new IntegrityError(
      `the ledger no longer matches checkpoint ${latest.seq}: changed after it was signed`,
    );
  }
  const shown: (LedgerEvent | ProofEvent)[] =
    personal === 'sealed' ? covered : proofEvents(covered, await reveal(covered));
  return {
    format: PROOF_FORMAT,
    version: 1,
    stream: sid,
    // As JSON shows them (`audit history --json`): dates as ISO 8601 strings.
    events: JSON.parse(JSON.stringify(shown)) as unknown[],
    checkpoint: latest.jws,
    index: tree.index,
    path: tree.path.map((hash) => hash.toString('base64url')),
  };
}

/** The verdict on a proof or an archive. */
export interface ProofReport {
  ok: boolean;
  /** What does not hold; empty when `ok`. */
  problems: string[];
  /** The checkpoint's claims, when its signature verified. */
  claims?: CheckpointClaims;
}

/**
 * Checks a proof document with the public keys alone: the checkpoint's signature, the events'
 * chain (each event's stored form, see proof-events.ts), the last event as the session's leaf,
 * the audit path up to the signed root. The personal fields shown in clear are not covered.
 */
export function verifyProof(proof: unknown, jwks: JSONWebKeySet): Promise<ProofReport> {
  return checkProof(proof, jwks);
}

/**
 * `verifyProof`, and with `reveal` (the plugin's own data keys) also the clear personal fields
 * against their ciphertext, which the hashes do not cover.
 */
export async function checkProof(
  proof: unknown,
  jwks: JSONWebKeySet,
  reveal?: Reveal,
): Promise<ProofReport> {
  const document = proof as Partial<InclusionProof> | null;
  if (
    typeof document !== 'object' ||
    document === null ||
    document.format !== PROOF_FORMAT ||
    typeof document.checkpoint !== 'string' ||
    typeof document.stream !== 'string'
  ) {
    return { ok: false, problems: ['not a proof document'] };
  }
  let claims: CheckpointClaims;
  try {
    claims = await verifyCheckpoint(document.checkpoint, jwks);
  } catch (error) {
    if (error instanceof CheckpointError) return { ok: false, problems: [error.message] };
    throw error;
  }
  const views: unknown[] = Array.isArray(document.events) ? document.events : [];
  const stored = { ...(document as StreamInclusion), events: views.map(storedFormOf) };
  const problems = inclusionProblems(stored, claims);
  if (problems.length === 0 && reveal) {
    problems.push(...(await clearFieldsProblems(document.stream, views, reveal)));
  }
  return { ok: problems.length === 0, problems, claims };
}

/** Where a proof's clear personal fields differ from what their (verified) ciphertext holds. */
async function clearFieldsProblems(
  stream: string,
  views: unknown[],
  reveal: Reveal,
): Promise<string[]> {
  const opened = await reveal(views.map(storedFormOf) as LedgerEvent[]);
  const problems: string[] = [];
  for (const [i, view] of (views as ProofEvent[]).entries()) {
    const problem = view.ciphertext === undefined ? undefined : clearFieldsProblem(view, opened[i]);
    if (problem !== undefined) problems.push(`stream ${stream} seq ${view.seq}: ${problem}`);
  }
  return problems;
}
