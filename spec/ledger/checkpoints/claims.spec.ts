import { canonicalJson } from '../../../lib/ledger/hash-chain.js';
import { leafOf, orderLeaves } from '../../../lib/ledger/checkpoints/claims.js';
import { leafHash } from '../../../lib/ledger/checkpoints/merkle.js';
import { expect } from '../expect.js';

const HASH = 'ab'.repeat(32);

describe('checkpoint leaves', () => {
  it('are the RFC 8785 canonical JSON of hash, seq and stream, for any stream id', () => {
    for (const stream of [
      'sid-1',
      'a"b\\c',
      'tab\there',
      'é-ü',
      '\u2028x',
      '😀',
      '\u007f',
      'x\u0001',
    ]) {
      const head = { stream, seq: 17, hash: HASH };
      expect(leafOf(head), stream).to.equal(canonicalJson({ stream, seq: 17, hash: HASH }));
    }
  });

  it('are ordered by the UTF-8 bytes of the stream id, not by UTF-16 code units', () => {
    // In UTF-16 the surrogate 0xD83D of U+1F600 sorts before U+FF61; in UTF-8 it is the other
    // way round (EF BD A1 < F0 9F 98 80). The byte order decides.
    const heads = ['😀', '\uFF61', 'a', 'Z'].map((stream) => ({ stream, seq: 1, hash: HASH }));
    const { heads: ordered, leaves } = orderLeaves(heads);
    expect(ordered.map((h) => h.stream)).to.deep.equal(['Z', 'a', '\uFF61', '😀']);
    expect(leaves.map((l) => l.toString('hex'))).to.deep.equal(
      ordered.map((h) => leafHash(leafOf(h)).toString('hex')),
    );
    const ascii = orderLeaves(['b', 'a', 'B'].map((stream) => ({ stream, seq: 1, hash: HASH })));
    expect(ascii.heads.map((h) => h.stream)).to.deep.equal(['B', 'a', 'b']);
  });
});
