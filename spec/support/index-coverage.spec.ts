import { expect } from 'chai';
import { servedBy, type IndexKeys } from './index-coverage.js';
import { commandShape, skeleton, type QueryShape } from './query-shape.js';
import { unservedQueries } from './suite-queries.js';

const q = (filter: Record<string, unknown>, sort?: Record<string, number>): QueryShape => ({
  filter: skeleton(filter),
  ...(sort && { sort: Object.entries(sort) }),
});
const index = (key: Record<string, number>): IndexKeys => Object.entries(key);

describe('the index coverage check', () => {
  const streamSeq = index({ stream: 1, seq: 1 });
  const subTime = index({ sub: 1, time: 1, stream: 1, seq: 1 });

  describe('prefix rules', () => {
    it('serves an equality on the first field of an index, others checked on its documents', () => {
      expect(servedBy(q({ stream: 's' }), [streamSeq])).to.equal(true);
      expect(servedBy(q({ stream: 's', kind: 'session' }), [streamSeq])).to.equal(true);
      expect(servedBy(q({ stream: 's', seq: 3 }), [streamSeq])).to.equal(true);
    });

    it('does not serve an equality on a field that is not the first of any index', () => {
      expect(servedBy(q({ seq: 3 }), [streamSeq])).to.equal(false);
      expect(servedBy(q({ kind: 'session', seq: { $gt: 0 } }), [streamSeq])).to.equal(false);
    });

    it('serves a range on the first field, but not a range alone on a later one', () => {
      expect(servedBy(q({ time: { $lt: new Date() } }), [index({ time: 1 })])).to.equal(true);
      expect(servedBy(q({ time: { $lt: new Date() } }), [subTime])).to.equal(false);
    });

    it('does not serve an empty filter without a sort (a collection scan)', () => {
      expect(servedBy(q({}), [streamSeq])).to.equal(false);
    });

    it('serves a filter without equalities by an index that gives its sort (an ordered walk)', () => {
      expect(servedBy(q({}, { stream: 1, seq: 1 }), [streamSeq])).to.equal(true);
      expect(servedBy(q({ seq: { $gt: 0 } }, { stream: 1, seq: 1 }), [streamSeq])).to.equal(true);
      expect(servedBy(q({}, { seq: 1 }), [streamSeq])).to.equal(false);
    });
  });

  describe('sorts', () => {
    it('serves a sort on the fields right after the equality prefix', () => {
      expect(servedBy(q({ sub: 'u' }, { time: 1, stream: 1, seq: 1 }), [subTime])).to.equal(true);
      expect(servedBy(q({ sub: 'u' }, { time: 1 }), [subTime])).to.equal(true);
    });

    it('does not serve a sort that skips a field of the index', () => {
      expect(servedBy(q({ sub: 'u' }, { stream: 1 }), [subTime])).to.equal(false);
      expect(servedBy(q({ sub: 'u' }, { time: 1, seq: 1 }), [subTime])).to.equal(false);
    });

    it('drops sort fields bound by an equality (they are constants)', () => {
      expect(servedBy(q({ sub: 'u' }, { sub: 1, time: 1 }), [subTime])).to.equal(true);
      expect(servedBy(q({ stream: 's' }, { stream: -1, seq: 1 }), [streamSeq])).to.equal(true);
    });

    it("serves a sort in the index's directions or all of them reversed, never mixed", () => {
      expect(servedBy(q({}, { stream: 1, seq: 1 }), [streamSeq])).to.equal(true);
      expect(servedBy(q({}, { stream: -1, seq: -1 }), [streamSeq])).to.equal(true);
      expect(servedBy(q({}, { stream: 1, seq: -1 }), [streamSeq])).to.equal(false);
      expect(servedBy(q({}, { stream: -1, seq: 1 }), [streamSeq])).to.equal(false);
      const descending = index({ stream: 1, seq: -1 });
      expect(servedBy(q({}, { stream: 1, seq: -1 }), [descending])).to.equal(true);
      expect(servedBy(q({}, { stream: 1, seq: 1 }), [descending])).to.equal(false);
    });
  });

  describe('$in', () => {
    const within = { stream: { $in: ['a', 'b'] } };

    it('bounds like an equality where no sort follows', () => {
      expect(servedBy(q(within), [streamSeq])).to.equal(true);
      expect(servedBy(q({ ...within, seq: 1 }), [streamSeq])).to.equal(true);
    });

    it('is no equality for a sort: a sort on the next field is not served', () => {
      expect(servedBy(q(within, { seq: 1 }), [streamSeq])).to.equal(false);
      expect(servedBy(q({ stream: 'a' }, { seq: 1 }), [streamSeq])).to.equal(true);
    });

    it('serves a sort that begins with the $in field, in the index directions', () => {
      expect(servedBy(q(within, { stream: 1, seq: 1 }), [streamSeq])).to.equal(true);
      expect(servedBy(q(within, { stream: 1, seq: -1 }), [streamSeq])).to.equal(false);
    });
  });

  describe('$and and $or', () => {
    it('flattens $and', () => {
      const filter = { $and: [{ sub: 'u' }, { time: { $gte: new Date() } }] };
      expect(servedBy(q(filter, { time: 1, stream: 1, seq: 1 }), [subTime])).to.equal(true);
      expect(servedBy(q({ $and: [{ seq: 1 }] }), [subTime])).to.equal(false);
    });

    it('serves an $or checked on the documents the other conditions select', () => {
      const filter = { sub: 'u', $or: [{ time: { $gt: 1 } }, { time: 1, stream: { $gt: 's' } }] };
      expect(servedBy(q(filter, { time: 1 }), [subTime])).to.equal(true);
    });

    it('serves an $or of branches on different indexes, but not their union sorted', () => {
      const indexes = [streamSeq, index({ 'tokens.jti': 1 }), index({ sub: 1, kind: 1 })];
      const both = [{ stream: { $in: ['a', 'b'] } }, { 'tokens.jti': 'j' }];
      expect(servedBy(q({ $or: both }), indexes)).to.equal(true);
      expect(servedBy(q({ $or: both }, { time: 1 }), indexes)).to.equal(false);
      const live = { sub: 's', $or: [{ kind: 'session' }, { kind: 'subject' }] };
      expect(servedBy(q(live), indexes)).to.equal(true);
    });

    it('serves an $or whose every branch an index serves, and no other', () => {
      const each = {
        $or: [
          { stream: 'a', seq: 2 },
          { stream: 'b', seq: 5 },
        ],
      };
      expect(servedBy(q(each), [streamSeq])).to.equal(true);
      const oneUnserved = { $or: [{ stream: 'a' }, { seq: 5 }] };
      expect(servedBy(q(oneUnserved), [streamSeq])).to.equal(false);
    });
  });

  describe('shapes of commands', () => {
    it('replaces values by "?" and keeps one of each $or branch shape', () => {
      const filter = { seq: { $gt: 4 }, $or: [{ stream: 'a' }, { stream: 'b' }], at: new Date() };
      expect(skeleton(filter)).to.deep.equal({
        $or: [{ stream: '?' }],
        at: '?',
        seq: { $gt: '?' },
      });
    });

    it('reads the filters and sorts of find, aggregate, delete and findAndModify', () => {
      expect(commandShape({ find: 'c', filter: { a: 1 }, sort: { b: -1 } }).queries).to.deep.equal([
        { filter: { a: '?' }, sort: [['b', -1]] },
      ]);
      const counted = commandShape({ aggregate: 'c', pipeline: [{ $match: {} }, { $group: {} }] });
      expect(counted.queries).to.deep.equal([{ filter: {} }]);
      const deleted = commandShape({ delete: 'c', deletes: [{ q: { a: 1 } }, { q: { b: 2 } }] });
      expect(deleted.queries.map((query) => query.filter)).to.deep.equal([{ a: '?' }, { b: '?' }]);
      const modified = commandShape({ findAndModify: 'c', query: { a: 1 }, sort: { t: 1 } });
      expect(modified.queries).to.deep.equal([{ filter: { a: '?' }, sort: [['t', 1]] }]);
    });
  });

  describe('over the declared indexes of the store', () => {
    const shape = (collection: string, query: QueryShape, name = 'find') => ({
      name,
      collection,
      queries: [query],
      db: 'd',
      count: 1,
    });

    it("accepts a query one of the store's declared indexes serves", () => {
      const byStream = q({ stream: 's', seq: { $gt: 0 } }, { seq: 1 });
      expect(unservedQueries([shape('jwtconnect_events', byStream)], new Map())).to.deep.equal([]);
    });

    it('shows a query no declared index serves, with how often it was sent', () => {
      const byHash = q({ hash: 'h' });
      expect(unservedQueries([shape('jwtconnect_events', byHash)], new Map())).to.deep.equal([
        'find events {"hash":"?"} (sent 1x)',
      ]);
    });

    it('finds what a renamed collection holds by the indexes the store gave it', () => {
      const created = new Map([
        ['d.my_events', new Set(['stream_seq', 'time_stream_seq', 'stream_time_seq'])],
      ]);
      const byJti = q({ jtis: 'j' });
      expect(unservedQueries([shape('my_events', byJti)], created)).to.deep.equal([]);
      expect(unservedQueries([shape('my_events', byJti)], new Map())).to.deep.equal([
        'find my_events (not a collection of the store) {"jtis":"?"} (sent 1x)',
      ]);
    });

    it('fails on a command it does not know, so that none passes unchecked', () => {
      const bulk = { ...shape('', q({})), name: 'bulkWrite', queries: [] };
      expect(unservedQueries([bulk], new Map())).to.deep.equal([
        'bulkWrite: a command this check does not know; classify it (sent 1x)',
      ]);
    });
  });
});
