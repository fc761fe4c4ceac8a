/**
 * `npx tsx bench/drive.ts <issue|refresh|introspection|bearer|ceiling> [--seconds 4]
 * [--profile <dir>] [--in-clear]`: one operation of bench/servers/ours.ts driven in process
 * through the same Koa app (bench/inject.ts), 50 requests in flight as in the HTTP bench. Prints
 * the CPU time per answer of the process (every thread) and of the main thread, which bounds
 * throughput when the thread pool signs. `ceiling` is bench/servers/ceiling.ts's login (two jose
 * signatures) in the same process, for comparison. With `--profile`, writes a V8 CPU profile of the
 * measured window only (no start-up, no minting) to `<dir>/<operation>.cpuprofile` for
 * bench/profile.ts. `--in-clear` takes the personal-data codec out, as the bench's baseline does.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { SignJWT, importPKCS8 } from 'jose';
import { jwtconnect } from '../lib/index.js';
import { ledgerOf } from '../lib/internals.js';
import { appOf, inject, sender, type Answer } from './inject.js';
import { BENCH_USER, sampleClaims } from './servers/child.js';

const IN_FLIGHT = 50;
const ISSUER = 'https://auth.bench.example';
const args = process.argv.slice(2);
const [operation = ''] = args;
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const seconds = Number(option('--seconds') ?? 4);
const profileDir = option('--profile');

const privateKeyPem = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const auth = await jwtconnect({
  issuer: ISSUER,
  keys: { privateKeyPem, alg: 'RS256' },
  subjectSecret: 'benchmark-subject-secret-0123456789abcdef',
  store: { memory: true },
  logger: { warn: () => {}, error: console.error },
});
if (args.includes('--in-clear')) {
  (ledgerOf(auth) as { personalData: unknown }).personalData = undefined;
}

// The issue ceiling of bench/servers/ceiling.ts: two jose signatures, nothing else.
const signingKey = await importPKCS8(privateKeyPem, 'RS256');
const sign = (ttype: 'T' | 'R', sid: string) =>
  new SignJWT(sampleClaims(ISSUER, ttype, randomBytes(16).toString('base64url'), sid))
    .setProtectedHeader({ alg: 'RS256', kid: 'bench', typ: ttype === 'T' ? 'at+jwt' : 'rt+jwt' })
    .sign(signingKey);
const handle = appOf(auth, (router) =>
  router.post('/ceiling', async (ctx) => {
    const sid = randomBytes(16).toString('base64url');
    const [accessToken, refreshToken] = await Promise.all([sign('T', sid), sign('R', sid)]);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { access_token: accessToken, refresh_token: refreshToken, token_type: 'Bearer' };
  }),
);

const pairs = await Promise.all(
  Array.from({ length: IN_FLIGHT + 1 }, () => auth.issue(BENCH_USER, { source: 'bench' })),
);
const lanes = pairs
  .slice(0, IN_FLIGHT)
  .map((own, lane) =>
    operation === 'ceiling'
      ? () => inject(handle, '/ceiling', {}, '')
      : sender(handle, operation, own, pairs[lane + 1] as (typeof pairs)[number]),
  );

/** Runs the 50 loops for `ms`; the number of answers, every one of which must be a 200. */
async function run(ms: number): Promise<number> {
  const until = performance.now() + ms;
  let answers = 0;
  await Promise.all(
    lanes.map(async (send: () => Promise<Answer>) => {
      while (performance.now() < until) {
        const { status, body } = await send();
        if (status !== 200) throw new Error(`${operation} answered ${status}: ${body}`);
        answers++;
      }
    }),
  );
  return answers;
}

// Node 23.9 and later; older ones print the process figure only.
const threadCpu = (process as { threadCpuUsage?: () => NodeJS.CpuUsage }).threadCpuUsage;
const micros = (usage: NodeJS.CpuUsage) => usage.user + usage.system;

await run(1000);
const session = profileDir ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
const cpuBefore = process.cpuUsage();
const threadBefore = threadCpu?.();
const started = performance.now();
const answers = await run(seconds * 1000);
const elapsed = performance.now() - started;
const cpu = micros(process.cpuUsage(cpuBefore));
const thread = threadBefore && threadCpu ? micros(threadCpu()) - micros(threadBefore) : NaN;
if (session && profileDir) {
  const { profile } = await session.post('Profiler.stop');
  await mkdir(profileDir, { recursive: true });
  const file = join(profileDir, `${operation}.cpuprofile`);
  await writeFile(file, JSON.stringify(profile));
  console.log(`profile: ${file}`);
}
console.log(
  `${operation}: ${answers} answers in ${(elapsed / 1000).toFixed(1)} s; CPU per answer ` +
    `${(cpu / answers).toFixed(0)} us (process), ${(thread / answers).toFixed(0)} us (main thread)`,
);
await auth.close();
