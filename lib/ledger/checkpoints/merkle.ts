/**
 * The Merkle tree hash and audit paths of RFC 6962 section 2.1 (as restated in RFC 9162 section
 * 2.1.1 to 2.1.3.2): SHA-256, leaf hash = SHA-256(0x00 || leaf), node hash =
 * SHA-256(0x01 || left || right), the left subtree holding the largest power of two smaller than n.
 *
 * The tree is built bottom-up, pairing neighbours and carrying an unpaired last node one level up;
 * that is the same tree as the recursive definition's split at the largest power of two, and
 * builds in O(n) without recursion.
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
