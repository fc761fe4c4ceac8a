/**
 * Checkpoint time on the memory store: 100,000 sessions (one login each), then one
 * `auth.audit.checkpoint()` (stream heads, RFC 6962 tree, ES256 signature, store) and one
 * `prove()`, each timed. Goal: the checkpoint under 2 s. Not run by the tests:
 *   npx tsx bench/checkpoint.ts [streams]
 */
import { performance } from 'node:perf_hooks';
import { generateKeyPairSync } from 'node:crypto';
import { jwtconnect } from '../lib/index.js';
import { ledgerOf } from '../lib/internals.js';

const streams = Number(process.argv[2] ?? 100_000);
let now = Date.UTC(2026, 0, 15, 12);
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const auth = await jwtconnect({
  issuer: 'https://auth.example.org',
  keys: {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    alg: 'ES256',
  },
  subjectSecret: 'bench-subject-secret-of-at-least-32-characters',
  store: { memory: true },
  clock: () => now,
  logger: { warn: () => {}, error: () => {} },
});

const seedStart = performance.now();
const ledger = ledgerOf(auth);
const sids: string[] = [];
for (let i = 0; i < streams; i++) {
  const sid = `sid-${i.toString(36).padStart(6, '0')}`;
  const exp = Math.floor(now / 1000) + 3600;
  await ledger.execute(sid, () => ({
    type: 'issued',
    sub: `sub-${i % 1000}`,
    meta: { source: 'bench' },
    access: { jti: `at-${i}`, exp },
    refresh: { jti: `rt-${i}`, exp },
  }));
  sids.push(sid);
}
const seeded = (performance.now() - seedStart) / 1000;
now += 60_000;

const start = performance.now();
const checkpoint = await auth.audit.checkpoint();
const checkpointMs = performance.now() - start;
const proveStart = performance.now();
const proof = await auth.audit.prove(sids[Math.floor(streams / 2)] as string);
const proveMs = performance.now() - proveStart;
const verified = await auth.audit.verifyProof(proof);
await auth.close();

console.log(
  JSON.stringify(
    {
      streams,
      events: checkpoint.claims.events,
      seedSeconds: Number(seeded.toFixed(1)),
      checkpointMs: Math.round(checkpointMs),
      proveMs: Math.round(proveMs),
      pathLength: proof.path.length,
      proofVerifies: verified.ok,
      node: process.version,
    },
    null,
    2,
  ),
);
