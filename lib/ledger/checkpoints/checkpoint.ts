/**
 * Making checkpoints: the tree over every stream's head as of `upto`, signed with the plugin's
 * active key and chained to the previous checkpoint. Stored with a unique `seq`, so when several
 * instances checkpoint at once one of them writes each one and the others return it.
 */
import { SignJWT } from 'jose';
import { epochSeconds, type Clock } from '../../clock.js';
import { IntegrityError } from '../../errors.js';
import type { KeySet } from '../../tokens/keys.js';
import type { LedgerStore, StreamHead } from '../store.js';
import {
  CHECKPOINT_TYP,
  checkpointDigest,
  decodeCheckpoint,
  leafOf,
  orderHeads,
  orderLeaves,
  type Checkpoint,
  type CheckpointClaims,
} from './claims.js';
import { leafHash, rootOf, treeLevels, TreeHasher } from './merkle.js';

/** What making and checking checkpoints needs. */
export interface CheckpointDeps {
  store: LedgerStore;
  keys: KeySet;
  issuer: string;
  clock: Clock;
  /**
   * Seconds a checkpoint stays behind the clock, so that appends already under way (stamped a
   * moment ago, possibly on an instance whose clock runs behind) land before `upto` is signed.
   */
  settleSeconds: number;
}

/** The tree over every stream's head as of `upto`: the leaves in order and every level. */
export interface CheckpointTree {
  upto: number;
  heads: StreamHead[];
  levels: Buffer[][];
  root: string;
  events: number;
}

/**
 * The head of every stream as of `upto` (NumericDate): its last event with `time <= upto`. Streams
 * archived since are included from the archived-streams index, which keeps each one's last seq and
 * hash: a checkpoint commits to the whole ledger, whether or not part of it has moved to archive
 * files, so every checkpoint stays checkable and provable after an archive run.
 *
 * @throws {@link IntegrityError} when a stream archived since has events on both sides of `upto`,
 *   so the store can no longer say what its head was then (check its archive file instead).
 */
export async function headsAt(
  store: LedgerStore,
  upto: number,
): Promise<{ heads: StreamHead[]; events: number }> {
  const at = new Date(upto * 1000);
  const [found, archived] = await Promise.all([
    store.streamHeads(at),
    store.findArchived({ startedBy: at }),
  ]);
  // An archive run records its streams before it removes them: those still here are read here,
  // and so is an event appended after the archived head (a tail, lib/ledger/store.ts).
  const live = new Set(found.map((head) => head.stream));
  const heads = [...found];
  for (const entry of archived) {
    if (live.has(entry.stream)) continue;
    if (entry.to.getTime() > at.getTime()) {
      throw new IntegrityError(
        `the ledger as of ${at.toISOString()} covers part of stream ${entry.stream}, since moved ` +
          `to archive ${entry.archive}: check it against that file`,
      );
    }
    heads.push({ stream: entry.stream, seq: entry.seq, hash: entry.hash });
  }
  // Every event up to each head: seqs run from 1 without a gap (`verify` checks the chains), so
  // this counts an archived prefix of a stream whose tail is still here, too.
  return { heads, events: heads.reduce((sum, head) => sum + head.seq, 0) };
}

/** Builds the tree as of `upto` (NumericDate): every stream's head as `headsAt` reads them. */
export async function buildTree(store: LedgerStore, upto: number): Promise<CheckpointTree> {
  const found = await headsAt(store, upto);
  const { heads, leaves } = orderLeaves(found.heads);
  const levels = treeLevels(leaves);
  return { upto, heads, levels, root: rootOf(levels).toString('base64url'), events: found.events };
}

/** The root as of `upto`, and the head, leaf index and audit path of one stream in it. */
export interface StreamInTree {
  root: string;
  streams: number;
  events: number;
  /** The stream's head as of `upto`, and its leaf's index; null and -1 when it had none. */
  head: StreamHead | null;
  index: number;
  path: Buffer[];
}

/**
 * What `buildTree` says of one stream, in O(log n) memory: every leaf is still hashed (the root
 * is what ties the store to a signed checkpoint), but the levels are not kept.
 */
export async function streamInTree(
  store: LedgerStore,
  upto: number,
  stream: string,
): Promise<StreamInTree> {
  const found = await headsAt(store, upto);
  const heads = orderHeads(found.heads);
  const index = heads.findIndex((head) => head.stream === stream);
  const hasher = new TreeHasher(index);
  for (const head of heads) hasher.push(leafHash(leafOf(head)));
  return {
    root: hasher.root().toString('base64url'),
    streams: heads.length,
    events: found.events,
    head: heads[index] ?? null,
    index,
    path: hasher.path() ?? [],
  };
}

/**
 * Signs and stores the next checkpoint. Returns the one stored at that seq, which is another
 * instance's when it got there first.
 */
export async function makeCheckpoint(
  deps: CheckpointDeps,
): Promise<{ checkpoint: Checkpoint; tree: CheckpointTree }> {
  const { store, keys } = deps;
  for (;;) {
    const latest = await store.latestCheckpoint();
    const now = epochSeconds(deps.clock);
    // Never behind the previous one, whatever the clocks of the instances say.
    const upto = Math.max(now - deps.settleSeconds, latest?.upto ?? 0);
    const tree = await buildTree(store, upto);
    const claims: CheckpointClaims = {
      iss: deps.issuer,
      iat: now,
      upto,
      streams: tree.heads.length,
      events: tree.events,
      root: tree.root,
      ...(latest && { prev: checkpointDigest(latest.jws) }),
    };
    const { alg, kid, key } = keys.signing;
    const jws = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg, kid, typ: CHECKPOINT_TYP })
      .sign(key);
    const seq = (latest?.seq ?? 0) + 1;
    if (await store.appendCheckpoint({ seq, jws, upto, iat: now })) {
      return { checkpoint: { seq, jws, claims }, tree };
    }
    const winner = (await store.listCheckpoints(seq - 1, 1))[0];
    // Gone already would mean checkpoints are being removed: go round again.
    if (!winner) continue;
    const theirs = decodeCheckpoint(winner.jws);
    const winnerTree = theirs.upto === upto ? tree : await buildTree(store, theirs.upto);
    return { checkpoint: { seq, jws: winner.jws, claims: theirs }, tree: winnerTree };
  }
}

/** The result of checking a checkpoint against the store. */
export interface CheckpointCheck {
  seq: number;
  /** The checkpoint's `upto`. */
  upto: number;
  /** The root recomputed from the store now equals the signed one. */
  ok: boolean;
  /** The signed root and the recomputed one. */
  signed: string;
  computed: string;
}

/**
 * Recomputes a stored checkpoint's root from the store (`headsAt`: live streams, plus archived
 * streams that ended by its `upto`) and compares it with the signed one: an event edited, removed
 * or inserted after the checkpoint, however consistently, changes the root.
 *
 * @throws {@link IntegrityError} when a stream archived since has events on both sides of `upto`,
 *   so the store can no longer say what its head was then (check its archive file instead).
 */
export async function checkCheckpoint(
  store: LedgerStore,
  record: { seq: number; jws: string },
): Promise<CheckpointCheck> {
  const claims = decodeCheckpoint(record.jws);
  const { heads, events } = await headsAt(store, claims.upto);
  const hasher = new TreeHasher();
  for (const head of orderHeads(heads)) hasher.push(leafHash(leafOf(head)));
  const computed = hasher.root().toString('base64url');
  return {
    seq: record.seq,
    upto: claims.upto,
    ok: computed === claims.root && events === claims.events && heads.length === claims.streams,
    signed: claims.root,
    computed,
  };
}
