/**
 * The Merkle tree hash and audit paths of RFC 6962 section 2.1 (as restated in RFC 9162 section
 * 2.1.1 to 2.1.3.2): SHA-256, leaf hash = SHA-256(0x00 || leaf), node hash =
 * SHA-256(0x01 || left || right), the left subtree holding the largest power of two smaller than n.
 *
 * The tree is built bottom-up, pairing neighbours and carrying an unpaired last node one level up;
 * that is the same tree as the recursive definition's split at the largest power of two, and
 * builds in O(n) without recursion. `TreeHasher` computes the same root, and one leaf's audit path,
 * leaf by leaf in O(log n) memory, for when no other path is needed.
 */
import { createHash, hash } from 'node:crypto';

// One-shot hashing of one buffer: a hash object per node costs twice as much, and a checkpoint
// hashes two nodes per stream.
const node = Buffer.alloc(65);

/** SHA-256(0x00 || leaf). */
export function leafHash(leaf: string | Uint8Array): Buffer {
  const length = typeof leaf === 'string' ? Buffer.byteLength(leaf, 'utf8') : leaf.length;
  const input = Buffer.allocUnsafe(length + 1);
  input[0] = 0x00;
  if (typeof leaf === 'string') input.write(leaf, 1, 'utf8');
  else input.set(leaf, 1);
  return hash('sha256', input, 'buffer');
}

/** SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== 32 || right.length !== 32) {
    return createHash('sha256')
      .update(Buffer.from([0x01]))
      .update(left)
      .update(right)
      .digest();
  }
  node[0] = 0x01;
  node.set(left, 1);
  node.set(right, 33);
  return hash('sha256', node, 'buffer');
}

/** Every level of the tree over `leaves` (leaf hashes), leaves first, the root level last. */
export function treeLevels(leaves: readonly Buffer[]): Buffer[][] {
  const levels: Buffer[][] = [[...leaves]];
  let level = levels[0] as Buffer[];
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) {
      next.push(nodeHash(level[i] as Buffer, level[i + 1] as Buffer));
    }
    if (level.length % 2 === 1) next.push(level.at(-1) as Buffer);
    levels.push(next);
    level = next;
  }
  return levels;
}

/** The Merkle tree hash: the hash of the empty string for no leaves (RFC 6962 section 2.1). */
export function rootOf(levels: readonly Buffer[][]): Buffer {
  const top = levels.at(-1);
  return top?.[0] ?? createHash('sha256').digest();
}

/** The audit path of leaf `index`: sibling hashes from the leaf up (RFC 6962 section 2.1.1). */
export function auditPath(levels: readonly Buffer[][], index: number): Buffer[] {
  const path: Buffer[] = [];
  let i = index;
  for (const level of levels.slice(0, -1)) {
    const sibling = level[i ^ 1];
    // No sibling: the last node of an odd level is carried up unchanged.
    if (sibling !== undefined) path.push(sibling);
    i >>>= 1;
  }
  return path;
}

/**
 * The root an audit path leads to from leaf `index` of a tree of `size` leaves, or null when the
 * path cannot belong to such a tree (RFC 9162 section 2.1.3.2).
 */
export function rootFromPath(
  index: number,
  size: number,
  leaf: Uint8Array,
  path: readonly Uint8Array[],
): Buffer | null {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    return null;
  }
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

/**
 * The Merkle tree hash of leaves pushed one at a time, and the audit path of one of them, holding
 * only the perfect subtrees not yet paired (one per bit of the leaf count): the same root and path
 * as `treeLevels` with `rootOf` and `auditPath`, without keeping every level.
 *
 * n leaves split into perfect subtrees S1..Sj of decreasing size (the bits of n); RFC 6962's split
 * at the largest power of two makes the root node(S1, node(S2, ... Sj)), and the path of a leaf in
 * Si its path inside Si, then the hash of Si+1..Sj (when i < j), then Si-1, ..., S1.
 */
export class TreeHasher {
  /** Roots of the perfect subtrees not yet paired, largest (leftmost) first. */
  readonly #subtrees: Buffer[] = [];
  #size = 0;
  readonly #tracked: number;
  /** Where in `#subtrees` the tracked leaf is; -1 until it is pushed. */
  #trackedAt = -1;
  /** The tracked leaf's path inside its subtree so far. */
  readonly #inner: Buffer[] = [];

  /** @param tracked the 0-based index of the leaf whose audit path `path()` answers, if any. */
  constructor(tracked = -1) {
    this.#tracked = tracked;
  }

  /** Leaves pushed so far. */
  get size(): number {
    return this.#size;
  }

  /** Adds the next leaf's hash (`leafHash`). */
  push(leaf: Buffer): void {
    const subtrees = this.#subtrees;
    if (this.#size === this.#tracked) this.#trackedAt = subtrees.length;
    subtrees.push(leaf);
    this.#size += 1;
    // Each trailing zero bit of the new count is a pair of equal subtrees to join.
    for (let count = this.#size; count % 2 === 0; count /= 2) {
      const right = subtrees.pop() as Buffer;
      const left = subtrees.pop() as Buffer;
      const at = subtrees.length;
      if (this.#trackedAt === at) this.#inner.push(right);
      else if (this.#trackedAt === at + 1) {
        this.#inner.push(left);
        this.#trackedAt = at;
      }
      subtrees.push(nodeHash(left, right));
    }
  }

  /** The Merkle tree hash of the leaves pushed so far. */
  root(): Buffer {
    const subtrees = this.#subtrees;
    if (subtrees.length === 0) return createHash('sha256').digest();
    return this.#fold(0);
  }

  /** The audit path of the tracked leaf, from the leaf up; null when it was not pushed. */
  path(): Buffer[] | null {
    const at = this.#trackedAt;
    if (at < 0) return null;
    const subtrees = this.#subtrees;
    const path = [...this.#inner];
    if (at < subtrees.length - 1) path.push(this.#fold(at + 1));
    for (let i = at - 1; i >= 0; i--) path.push(subtrees[i] as Buffer);
    return path;
  }

  /** node(S[from], node(S[from + 1], ... S[last])). */
  #fold(from: number): Buffer {
    const subtrees = this.#subtrees;
    let hash = subtrees.at(-1) as Buffer;
    for (let i = subtrees.length - 2; i >= from; i--) hash = nodeHash(subtrees[i] as Buffer, hash);
    return hash;
  }
}
