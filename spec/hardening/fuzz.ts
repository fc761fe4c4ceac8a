/**
 * `npm run fuzz`: the fuzz property of fuzz-property.ts, FUZZ_RUNS times (default 10,000) on the
 * memory store, then FUZZ_MONGO_RUNS times (default 1,000) on MongoDB (the test server of
 * spec/support/mongo-server.ts). FUZZ_SEED replays a run. Prints the cases by route and status,
 * and exits 1 on the first counterexample (shrunk, with its seed).
 */
import fc from 'fast-check';
import { MongoClient } from 'mongodb';
import { startTestServer } from '../support/mongo-server.js';
import { fuzzProperty, type FuzzStats } from './fuzz-property.js';
import { FuzzWorld, FuzzWorlds } from './fuzz-world.js';

function count(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number`);
  return value;
}

const runs = count('FUZZ_RUNS', 10_000);
const mongoRuns = count('FUZZ_MONGO_RUNS', 1_000);
const seed = process.env['FUZZ_SEED'] === undefined ? Date.now() | 0 : count('FUZZ_SEED', 0);

async function run(label: string, worlds: FuzzWorlds, numRuns: number): Promise<FuzzStats> {
  const stats: FuzzStats = new Map();
  const started = performance.now();
  try {
    await fc.assert(fuzzProperty(worlds, stats), { numRuns, seed });
  } finally {
    await worlds.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const cases = [...stats.values()].reduce((sum, n) => sum + n, 0);
  console.log(`${label}: ${cases} cases in ${seconds.toFixed(1)} s, no counterexample`);
  return stats;
}

function report(stats: FuzzStats): void {
  const byRoute = new Map<string, string[]>();
  for (const [key, n] of [...stats].sort()) {
    const [route = '', status = ''] = key.split(' ');
    byRoute.set(route, [...(byRoute.get(route) ?? []), `${status}×${n}`]);
  }
  for (const [route, statuses] of byRoute)
    console.log(`  ${route.padEnd(13)} ${statuses.join(' ')}`);
}

console.log(`fuzz: seed ${seed} (replay with FUZZ_SEED=${seed})`);
const total: FuzzStats = new Map();
const merge = (stats: FuzzStats) => {
  for (const [key, n] of stats) total.set(key, (total.get(key) ?? 0) + n);
};
try {
  if (runs > 0) merge(await run('memory store', new FuzzWorlds(() => FuzzWorld.open(null)), runs));
  if (mongoRuns > 0) {
    const server = await startTestServer();
    const client = new MongoClient(server.uri);
    try {
      const db = client.db(`fuzz_${Date.now()}`);
      const worlds = new FuzzWorlds(async () => {
        await db.dropDatabase();
        return FuzzWorld.open(db);
      });
      merge(await run(`MongoDB (${server.kind})`, worlds, mongoRuns));
      await db.dropDatabase();
    } finally {
      await client.close();
      await server.stop();
    }
  }
  report(total);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  // fast-check keeps the property's own failure as the cause: what was violated, and the reply.
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) console.error(`\nCaused by: ${cause.message}`);
  process.exitCode = 1;
}
