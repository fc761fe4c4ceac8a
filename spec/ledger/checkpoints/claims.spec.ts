import fc from 'fast-check';
import { canonicalJson } from '../../../lib/ledger/hash-chain.js';
import { leafOf, orderHeads, orderLeaves } from '../../../lib/ledger/checkpoints/claims.js';
import { leafHash } from '../../../lib/ledger/checkpoints/merkle.js';
import { expect } from '../expect.js';

const HASH = 'ab'.repeat(32);

/** No lone surrogate: UTF-8 holds the string unchanged. */
const wellFormed = (text: string) => Buffer.from(text, 'utf8').toString('utf8') === text;

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

  it('are the canonical JSON of the generic RFC 8785 canonicaliser for any id, hash and seq', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 12 }),
      // Code units one by one: lone surrogates and control characters as well.
      fc.string({ unit: fc.nat(0xffff).map((unit) => String.fromCharCode(unit)), maxLength: 12 }),
    );
    fc.assert(
      fc.property(text, text, fc.maxSafeNat(), (stream, hash, seq) => {
        const head = { stream, seq, hash };
        if (wellFormed(stream) && wellFormed(hash)) {
          expect(leafOf(head)).to.equal(canonicalJson(head));
        } else {
          // Not I-JSON (RFC 7493 section 2.1): no canonical form, so no leaf either.
          expect(() => canonicalJson(head)).to.throw(/lone surrogate/i);
          expect(() => leafOf(head)).to.throw(/lone surrogate/i);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('sort by UTF-8 bytes for any ids, astral characters and lone surrogates included', () => {
    const id = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 6 }),
      fc.string({ unit: 'binary-ascii', maxLength: 6 }),
      fc.string({
        unit: fc.oneof(
          fc.constantFrom('a', '\uFF61', '\uE000', '\uD7FF', '\uFFFD', '😀', '\u{10FFFF}'),
          fc.integer({ min: 0xd800, max: 0xffff }).map((unit) => String.fromCharCode(unit)),
        ),
        maxLength: 6,
      }),
    );
    fc.assert(
      fc.property(fc.uniqueArray(id, { maxLength: 30 }), (streams) => {
        const heads = streams.map((stream) => ({ stream, seq: 1, hash: HASH }));
        const byBytes = [...streams].sort((a, b) =>
          Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')),
        );
        expect(orderHeads(heads).map((head) => head.stream)).to.deep.equal(byBytes);
      }),
      { numRuns: 2000 },
    );
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
