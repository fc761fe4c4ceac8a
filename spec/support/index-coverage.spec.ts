import { expect } from 'chai';
import { servedBy } from './index-coverage.js';

describe('the index coverage check of recorded queries', () => {
  const indexes = [['stream', 'seq'], ['tokens.jti'], ['sub', 'kind', 'refreshExp']];

  it('serves equality fields then sort fields that form a prefix of one index', () => {
    expect(servedBy({ filter: { stream: { $in: ['a'] } }, sort: { stream: 1, seq: -1 } }, indexes))
      .to.be.true;
    expect(servedBy({ filter: { kind: 'session' } }, indexes)).to.be.false;
    expect(servedBy({ filter: { stream: 'a' }, sort: { time: 1 } }, indexes)).to.be.false;
  });

  it('serves an $or whose every branch an index serves, and no other', () => {
    const both = [{ stream: { $in: ['a', 'b'] } }, { 'tokens.jti': 'j' }];
    expect(servedBy({ filter: { $or: both } }, indexes)).to.be.true;
    const scan = [{ stream: { $in: ['a'] } }, { kind: 'session' }];
    expect(servedBy({ filter: { $or: scan } }, indexes), 'one branch scans').to.be.false;
    // The union of the branches would be sorted in memory.
    expect(servedBy({ filter: { $or: both }, sort: { time: 1 } }, indexes)).to.be.false;
    // A bounded field beside the $or serves the query whatever its branches.
    const live = { sub: 's', $or: [{ kind: 'session' }, { kind: 'subject' }] };
    expect(servedBy({ filter: live }, indexes)).to.be.true;
  });
});
