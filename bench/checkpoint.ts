/**
 * Checkpoint time on the memory store: 100,000 sessions (one login each), then rounds (5) of one
 * `auth.audit.checkpoint()` (stream heads, RFC 6962 tree, ES256 signature, store), one `prove()`
 * and one `checkCheckpoint()`, each timed by the wall clock and by this process's CPU time
 * (user + system, `process.cpuUsage()`): on a machine shared with other work the wall time
 * includes waiting for a core, the CPU time does not. Each is reported as the fastest round and
 * the median. Goal: the checkpoint under 2 s of CPU time.
 * Not run by the tests:
 *   npx tsx bench/checkpoint.ts [streams] [rounds] [--profile <file.cpuprofile>]
 * `--profile` records a V8 CPU profile of the timed part only (not the seeding), for Chrome
 * DevTools or `npx tsx bench/profile.ts <file>`.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  jwtconnect,
  type Checkpoint,
  type CheckpointCheck,
  type InclusionProof,
} from '../lib/index.js';
import { ledgerOf } from '../lib/internals.js';
import { commandLine } from './args.js';

const USAGE = `usage: npx tsx bench/checkpoint.ts [streams] [rounds] [--profile <file.cpuprofile>]

  streams    sessions seeded before the rounds (default 100000)
  rounds     timed rounds of checkpoint, prove and check (default 5)
  --profile  write a V8 CPU profile of the timed part to this file`;
const cli = commandLine(USAGE, { profile: { type: 'string' } }, { max: 2 });
const profileFile = cli.values.profile;
const streams = cli.number(cli.positionals[0], 100_000, 'streams');
const rounds = cli.number(cli.positionals[1], 5, 'rounds');
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

/** Wall and CPU milliseconds of `run`. */
async function timed<T>(
  run: () => Promise<T>,
): Promise<{ value: T; wallMs: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const value = await run();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { value, wallMs, cpuMs: (used.user + used.system) / 1000 };
}

/** The fastest and the median of the rounds, wall and CPU, in whole milliseconds. */
function summary(times: { wallMs: number; cpuMs: number }[]) {
  const pick = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return {
      min: Math.round(sorted[0] ?? NaN),
      median: Math.round(sorted[sorted.length >> 1] ?? NaN),
    };
  };
  return { wallMs: pick(times.map((t) => t.wallMs)), cpuMs: pick(times.map((t) => t.cpuMs)) };
}

let session: Session | undefined;
if (profileFile) {
  session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
const sid = sids[Math.floor(streams / 2)] as string;
const made: Awaited<ReturnType<typeof timed<Checkpoint>>>[] = [];
const proved: Awaited<ReturnType<typeof timed<InclusionProof>>>[] = [];
const checked: Awaited<ReturnType<typeof timed<CheckpointCheck>>>[] = [];
for (let round = 0; round < rounds; round++) {
  now += 1000;
  made.push(await timed(() => auth.audit.checkpoint()));
  proved.push(await timed(() => auth.audit.prove(sid)));
  checked.push(await timed(() => auth.audit.checkCheckpoint()));
}
if (session && profileFile) {
  const { profile } = await session.post('Profiler.stop');
  await writeFile(profileFile, JSON.stringify(profile));
  session.disconnect();
}
const proof = (proved.at(-1) as (typeof proved)[number]).value;
const verified = await auth.audit.verifyProof(proof);
await auth.close();

console.log(
  JSON.stringify(
    {
      streams,
      events: made[0]?.value.claims.events,
      rounds,
      seedSeconds: Number(seeded.toFixed(1)),
      checkpoint: summary(made),
      prove: summary(proved),
      checkCheckpoint: { ...summary(checked), ok: checked.every((c) => c.value.ok) },
      pathLength: proof.path.length,
      proofVerifies: verified.ok,
      node: process.version,
      loadAverage: loadavg().map((load) => Number(load.toFixed(1))),
    },
    null,
    2,
  ),
);
