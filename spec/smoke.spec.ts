import { expect } from 'chai';
import { openTestDatabase } from './support/db.js';

describe('test database', () => {
  it('is a real server that enforces unique indexes', async () => {
    const t = await openTestDatabase('smoke');
    try {
      const c = t.db.collection('x');
      await c.createIndex({ a: 1 }, { unique: true });
      await c.insertOne({ a: 1 });
      const err = await c.insertOne({ a: 1 }).then(
        () => null,
        (e: { code?: number }) => e,
      );
      expect(err?.code).to.equal(11000);
    } finally {
      await t.dispose();
    }
  });
});
