/**
 * The fuzz property of fuzz-property.ts on every route, a few hundred cases per `npm test`, on the
 * memory store and on MongoDB. `npm run fuzz` runs the same property ten thousand times and more.
 */
import fc from 'fast-check';
import { openTestDatabase } from '../support/db.js';
import { fuzzProperty } from './fuzz-property.js';
import { FuzzWorld, FuzzWorlds } from './fuzz-world.js';

describe('fuzzing every route with generated bodies, queries, headers and mutated tokens', () => {
  it('never answers 5xx, leaks nothing and changes nothing when it refuses [memory store, 400 cases]', async function () {
    this.timeout(60_000);
    const worlds = new FuzzWorlds(() => FuzzWorld.open(null));
    try {
      await fc.assert(fuzzProperty(worlds), { numRuns: 400 });
    } finally {
      await worlds.close();
    }
  });

  it('never answers 5xx, leaks nothing and changes nothing when it refuses [MongoDB, 150 cases]', async function () {
    this.timeout(60_000);
    const t = await openTestDatabase('hardening_fuzz');
    const worlds = new FuzzWorlds(async () => {
      await t.db.dropDatabase();
      return FuzzWorld.open(t.db);
    });
    try {
      await fc.assert(fuzzProperty(worlds), { numRuns: 150 });
    } finally {
      await worlds.close();
      await t.dispose();
    }
  });
});
