/**
 * Inclusion proofs: one session's events, the latest checkpoint, and the audit path from the
 * session's leaf to that checkpoint's root; checkable with the JWKS alone (`verifyProof`).
 */
import type { JSONWebKeySet } from 'jose';
import { ArchivedError, CheckpointError, IntegrityError } from '../../errors.js';
import type { LedgerStore } from '../store.js';
import { assertId } from '../validate.js';
import { buildTree } from './checkpoint.js';
import { decodeCheckpoint, verifyCheckpoint, type CheckpointClaims } from './claims.js';
import { inclusionProblems, type StreamInclusion } from './inclusion.js';
import { auditPath } from './merkle.js';

/** The `format` member of a proof document. */
export const PROOF_FORMAT = 'koa-jwtconnect-proof';

/** An inclusion proof document (`auth.audit.prove()`, `audit prove`). */
export interface InclusionProof extends StreamInclusion {
  format: typeof PROOF_FORMAT;
  version: 1;
  /** The checkpoint's compact JWS. */
  checkpoint: string;
}

/**
 * The proof that session `sid`'s events up to the latest checkpoint are included in it.
 *
 * @throws {@link CheckpointError} when there is no such session or no checkpoint covers it yet;
 *   {@link ArchivedError} when it was archived; {@link IntegrityError} when the store no longer
 *   adds up to the signed root (something was changed after the checkpoint was signed).
 */
export async function prove(store: LedgerStore, sid: string): Promise<InclusionProof> {
  assertId(sid, 'sid');
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
  const tree = await buildTree(store, claims.upto);
  const index = tree.heads.findIndex((head) => head.stream === sid);
  const last = covered.at(-1);
  if (
    tree.root !== claims.root ||
    tree.events !== claims.events ||
    tree.heads[index]?.hash !== last?.hash
  ) {
    throw new IntegrityError(
      `the ledger no longer matches checkpoint ${latest.seq}: changed after it was signed`,
    );
  }
  return {
    format: PROOF_FORMAT,
    version: 1,
    stream: sid,
    // As JSON shows them (`audit history --json`): dates as ISO 8601 strings.
    events: JSON.parse(JSON.stringify(covered)) as unknown[],
    checkpoint: latest.jws,
    index,
    path: auditPath(tree.levels, index).map((hash) => hash.toString('base64url')),
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
 * chain, the last event as the session's leaf, the audit path up to the signed root.
 */
export async function verifyProof(proof: unknown, jwks: JSONWebKeySet): Promise<ProofReport> {
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
  const problems = inclusionProblems(document as StreamInclusion, claims);
  return { ok: problems.length === 0, problems, claims };
}
