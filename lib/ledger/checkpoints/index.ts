/**
 * Signed checkpoints, inclusion proofs and archives (docs/checkpoints.md): what `auth.audit`
 * offers of them, built once from the plugin's store, keys and clock, and the timer.
 */
import type { JSONWebKeySet } from 'jose';
import { CheckpointError } from '../../errors.js';
import type { Logger } from '../../config.js';
import { archive, type ArchiveOptions, type ArchiveResult } from './archive.js';
import { verifyArchiveFile, type ArchiveReport } from './archive-file.js';
import {
  checkCheckpoint,
  makeCheckpoint,
  type CheckpointCheck,
  type CheckpointDeps,
} from './checkpoint.js';
import { decodeCheckpoint, type Checkpoint } from './claims.js';
import {
  checkProof,
  prove,
  type InclusionProof,
  type ProofReport,
  type ProveOptions,
  type Reveal,
} from './prove.js';

export {
  CHECKPOINT_TYP,
  checkpointDigest,
  decodeCheckpoint,
  leafOf,
  orderHeads,
  orderLeaves,
  verifyCheckpoint,
  type Checkpoint,
  type CheckpointClaims,
} from './claims.js';
export {
  buildTree,
  checkCheckpoint,
  makeCheckpoint,
  streamInTree,
  type CheckpointCheck,
  type CheckpointDeps,
  type CheckpointTree,
  type StreamInTree,
} from './checkpoint.js';
export {
  auditPath,
  leafHash,
  nodeHash,
  rootFromPath,
  rootOf,
  treeLevels,
  TreeHasher,
} from './merkle.js';
export { inclusionProblems, type StreamInclusion } from './inclusion.js';
export {
  PROOF_FORMAT,
  prove,
  verifyProof,
  type InclusionProof,
  type ProofReport,
  type ProveOptions,
  type Reveal,
} from './prove.js';
export { CIPHERTEXT, proofEvents, storedFormOf, type ProofEvent } from './proof-events.js';
export {
  ARCHIVE_FORMAT,
  readArchiveLines,
  verifyArchiveFile,
  writeArchiveFile,
  type ArchiveEnd,
  type ArchiveHeader,
  type ArchiveReport,
} from './archive-file.js';
export { archive, type ArchiveOptions, type ArchiveResult, type ArchiveStep } from './archive.js';
export { isEnded } from './ended.js';

/** The checkpoint part of `auth.audit`. */
export interface CheckpointApi {
  /**
   * Signs and stores a checkpoint of the ledger now (less `checkpoints.settleSeconds`).
   *
   * @example
   * const { seq, jws } = await auth.audit.checkpoint();
   */
  checkpoint(): Promise<Checkpoint>;
  /** Stored checkpoints with `seq > after` (default 0), oldest first, at most `limit` (100). */
  checkpoints(options?: { after?: number; limit?: number }): Promise<Checkpoint[]>;
  /**
   * Recomputes checkpoint `seq` (default: the latest) from the store and compares roots: an event
   * changed after it was signed, however consistently, makes `ok` false.
   */
  checkCheckpoint(seq?: number): Promise<CheckpointCheck>;
  /**
   * The inclusion proof of session `sid` in the latest checkpoint (docs/checkpoints.md): its
   * events as `history()` shows them, each with its stored ciphertext; `{ personal: 'sealed' }`
   * for the events as stored, without personal data in clear.
   */
  prove(sid: string, options?: ProveOptions): Promise<InclusionProof>;
  /**
   * Checks a proof document with this plugin's public keys, as an outsider would, and also the
   * personal fields shown in clear against their ciphertext, which only the data keys can open.
   */
  verifyProof(proof: unknown): Promise<ProofReport>;
  /** Moves sessions that ended before `before` to a verified gzip NDJSON file, then removes them. */
  archive(options: ArchiveOptions): Promise<ArchiveResult>;
  /** Verifies an archive file with this plugin's public keys. */
  verifyArchive(path: string): Promise<ArchiveReport>;
}

/** The most checkpoints one `checkpoints()` call returns. */
export const MAX_CHECKPOINTS_PAGE = 1000;

export function checkpointApi(
  deps: CheckpointDeps,
  jwks: () => JSONWebKeySet,
  reveal?: Reveal,
): CheckpointApi {
  const { store } = deps;
  return {
    checkpoint: async () => (await makeCheckpoint(deps)).checkpoint,
    checkpoints: async (options = {}) => {
      const after = options.after ?? 0;
      const limit = options.limit ?? 100;
      if (!Number.isSafeInteger(after) || after < 0) {
        throw new CheckpointError('"after" must be a non-negative integer');
      }
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_CHECKPOINTS_PAGE) {
        throw new CheckpointError(`"limit" must be an integer from 1 to ${MAX_CHECKPOINTS_PAGE}`);
      }
      const records = await store.listCheckpoints(after, limit);
      return records.map(({ seq, jws }) => ({ seq, jws, claims: decodeCheckpoint(jws) }));
    },
    checkCheckpoint: async (seq) => {
      const record =
        seq === undefined
          ? await store.latestCheckpoint()
          : ((await store.listCheckpoints(seq - 1, 1))[0] ?? null);
      if (!record || (seq !== undefined && record.seq !== seq)) {
        throw new CheckpointError(seq === undefined ? 'no checkpoint yet' : `no checkpoint ${seq}`);
      }
      return checkCheckpoint(store, record);
    },
    prove: (sid, options) => prove(store, sid, options, reveal),
    verifyProof: (proof) => checkProof(proof, jwks(), reveal),
    archive: (options) => archive({ ...deps, jwks: jwks() }, options),
    verifyArchive: (path) => verifyArchiveFile(path, jwks()),
  };
}

/** The timer functions `startCheckpointTimer` uses; tests pass their own. */
export interface Timers {
  setInterval(run: () => void, ms: number): { unref(): unknown };
  clearInterval(timer: { unref(): unknown }): void;
}

const NODE_TIMERS: Timers = {
  setInterval: (run, ms) => setInterval(run, ms),
  clearInterval: (timer) => clearInterval(timer as NodeJS.Timeout),
};

/**
 * Makes a checkpoint every `seconds`, one at a time (a tick while one is still being made is
 * skipped); never keeps the process alive. Returns the function that stops it.
 */
export function startCheckpointTimer(
  api: Pick<CheckpointApi, 'checkpoint'>,
  seconds: number,
  logger: Logger,
  timers: Timers = NODE_TIMERS,
): () => void {
  if (seconds <= 0) return () => {};
  let running = false;
  const timer = timers.setInterval(() => {
    if (running) return;
    running = true;
    api
      .checkpoint()
      .catch((error: unknown) => logger.warn('the scheduled checkpoint failed', error))
      .finally(() => {
        running = false;
      });
  }, seconds * 1000);
  timer.unref();
  return () => timers.clearInterval(timer);
}
