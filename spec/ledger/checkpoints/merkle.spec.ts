import { createHash } from 'node:crypto';
import {
  auditPath,
  leafHash,
  rootFromPath,
  rootOf,
  treeLevels,
  TreeHasher,
} from '../../../lib/ledger/checkpoints/merkle.js';
import { expect } from '../expect.js';

/** The leaves of the RFC 6962 test data (certificate-transparency merkle_tree_test). */
const LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map((hex) => Buffer.from(hex, 'hex'));

/** The roots of the first 1..8 of those leaves, from the same test data. */
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

/** RFC 6962 section 2.1 as written: split at the largest power of two smaller than n. */
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return leafHash(leaves[0] as Buffer);
  const k = 2 ** Math.floor(Math.log2(leaves.length - 1));
  return createHash('sha256')
    .update(Buffer.from([1]))
    .update(mth(leaves.slice(0, k)))
    .update(mth(leaves.slice(k)))
    .digest();
}

/** RFC 6962 section 2.1.1 PATH(m, D[n]) as written. */
function path(m: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  const k = 2 ** Math.floor(Math.log2(leaves.length - 1));
  return m < k
    ? [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))]
    : [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

const hex = (buffers: Buffer[]) => buffers.map((buffer) => buffer.toString('hex'));

describe('Merkle tree (RFC 6962)', () => {
  it('gives the published roots of the RFC 6962 test data for 1 to 8 leaves', () => {
    for (let n = 1; n <= 8; n++) {
      const levels = treeLevels(LEAVES.slice(0, n).map((leaf) => leafHash(leaf)));
      expect(rootOf(levels).toString('hex'), `${n} leaves`).to.equal(ROOTS[n - 1]);
    }
  });

  it('gives the hash of the empty string for no leaves', () => {
    expect(rootOf(treeLevels([])).toString('hex')).to.equal(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('gives the published audit paths of the RFC 6962 test data', () => {
    const levels = treeLevels(LEAVES.map((leaf) => leafHash(leaf)));
    expect(hex(auditPath(levels, 0))).to.deep.equal([
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ]);
    expect(hex(auditPath(levels, 5))).to.deep.equal([
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ]);
  });

  it('agrees with the recursive definition on every leaf of trees of 1 to 40 leaves', () => {
    for (let n = 1; n <= 40; n++) {
      const leaves = Array.from({ length: n }, (_, i) => Buffer.from(`leaf ${i}`));
      const levels = treeLevels(leaves.map((leaf) => leafHash(leaf)));
      const root = rootOf(levels);
      expect(root.equals(mth(leaves)), `root of ${n}`).to.equal(true);
      for (let m = 0; m < n; m++) {
        const proof = auditPath(levels, m);
        expect(hex(proof), `path ${m} of ${n}`).to.deep.equal(hex(path(m, leaves)));
        const from = rootFromPath(m, n, leafHash(leaves[m] as Buffer), proof);
        expect(from?.equals(root), `verify ${m} of ${n}`).to.equal(true);
      }
    }
  });

  it('gives the same root and paths leaf by leaf, without the levels, for 0 to 40 leaves', () => {
    for (let n = 0; n <= 40; n++) {
      const leaves = Array.from({ length: n }, (_, i) => Buffer.from(`leaf ${i}`));
      const expected = mth(leaves).toString('hex');
      for (let m = -1; m < n; m++) {
        const hasher = new TreeHasher(m);
        for (const leaf of leaves) hasher.push(leafHash(leaf));
        expect(hasher.size).to.equal(n);
        expect(hasher.root().toString('hex'), `root of ${n}`).to.equal(expected);
        const proof = hasher.path();
        if (m < 0) expect(proof, `no leaf tracked in ${n}`).to.equal(null);
        else expect(hex(proof ?? []), `path ${m} of ${n}`).to.deep.equal(hex(path(m, leaves)));
      }
    }
    const published = new TreeHasher(5);
    for (const leaf of LEAVES) published.push(leafHash(leaf));
    expect(published.root().toString('hex')).to.equal(ROOTS[7]);
    expect(published.path()?.[2]?.toString('hex')).to.equal(
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    );
  });

  it('tracks no path for a leaf index past the leaves pushed', () => {
    const hasher = new TreeHasher(3);
    for (const leaf of LEAVES.slice(0, 3)) hasher.push(leafHash(leaf));
    expect(hasher.path()).to.equal(null);
    expect(hasher.root().toString('hex')).to.equal(ROOTS[2]);
  });

  it('rejects a path for another index, another tree size, a changed leaf or a changed node', () => {
    const leaves = Array.from({ length: 11 }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
    const levels = treeLevels(leaves);
    const root = rootOf(levels);
    const proof = auditPath(levels, 6);
    const leaf = leaves[6] as Buffer;
    expect(rootFromPath(6, 11, leaf, proof)?.equals(root)).to.equal(true);
    expect(rootFromPath(7, 11, leaf, proof)?.equals(root) ?? false).to.equal(false);
    // A tree of 8 has a shorter path there: the extra node does not fit.
    expect(rootFromPath(6, 8, leaf, proof)).to.equal(null);
    expect(rootFromPath(6, 11, leaves[5] as Buffer, proof)?.equals(root)).to.equal(false);
    const bent = proof.map((node, i) => (i === 1 ? leafHash(node) : node));
    expect(rootFromPath(6, 11, leaf, bent)?.equals(root)).to.equal(false);
    expect(rootFromPath(6, 11, leaf, proof.slice(0, -1))).to.equal(null);
    expect(rootFromPath(11, 11, leaf, proof)).to.equal(null);
    expect(rootFromPath(-1, 11, leaf, proof)).to.equal(null);
  });
});
