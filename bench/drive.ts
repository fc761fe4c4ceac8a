/**
 * `npx tsx bench/drive.ts <issue|refresh|introspection|bearer|ceiling|verify-ceiling>
 * [--versus <operation>] [--seconds 4] [--profile <dir>] [--in-clear] [--verify-cache-off]`: one
 * operation of bench/servers/ours.ts driven in process through the same Koa app (bench/inject.ts),
 * 50 requests in flight as in the HTTP bench. Prints the CPU time per answer of the process (every
 * thread) and of the main thread, which bounds throughput when the thread pool signs. The ceilings
 * of bench/servers/ceiling.ts, in the same process, for comparison: `ceiling` is its login (two
 * jose signatures), `verify-ceiling` its GET /api/me (jose `jwtVerify` of an access token with a
 * key imported once). `--versus` measures a second operation taking turns with the first (250 ms
 * each) and prints the ratio of their process CPU per answer. With `--profile`, writes a V8 CPU
 * profile of the measured window only (no start-up, no minting) to `<dir>/<operation>.cpuprofile`
 * for bench/profile.ts. `--in-clear` takes the personal-data codec out, as the bench's baseline
 * does; `--verify-cache-off` builds the plugin with `verifyCache: { maxEntries: 0 }`, as
 * bench/servers/ours.ts does for that variant.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SignJWT, importPKCS8, importSPKI, jwtVerify } from 'jose';
import { jwtconnect } from '../lib/index.js';
import { ledgerOf } from '../lib/internals.js';
import { appOf, inject, sender, type Answer } from './inject.js';
import { BENCH_USER, sampleClaims } from './servers/child.js';

const IN_FLIGHT = 50;
const ISSUER = 'https://auth.bench.example';
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '4' },
    profile: { type: 'string' },
    'in-clear': { type: 'boolean', default: false },
    'verify-cache-off': { type: 'boolean', default: false },
    versus: { type: 'string' },
  },
});
const [operation = ''] = positionals;
const seconds = Number(values.seconds);
if (!(seconds > 0))
  throw new TypeError(`--seconds must be a positive number, not "${values.seconds}"`);
const profileDir = values.profile;

const keyPair = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKeyPem = keyPair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const publicKeyPem = keyPair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const auth = await jwtconnect({
  issuer: ISSUER,
  keys: { privateKeyPem, alg: 'RS256' },
  subjectSecret: 'benchmark-subject-secret-0123456789abcdef',
  store: { memory: true },
  logger: { warn: () => {}, error: console.error },
  ...(values['verify-cache-off'] && { verifyCache: { maxEntries: 0 } }),
});
if (values['in-clear']) {
  (ledgerOf(auth) as { personalData: unknown }).personalData = undefined;
}

// The ceilings of bench/servers/ceiling.ts: two jose signatures, or one jose verification with a
// key imported once; nothing else.
const signingKey = await importPKCS8(privateKeyPem, 'RS256');
const verificationKey = await importSPKI(publicKeyPem, 'RS256');
const sign = (ttype: 'T' | 'R', sid: string) =>
  new SignJWT(sampleClaims(ISSUER, ttype, randomBytes(16).toString('base64url'), sid))
    .setProtectedHeader({ alg: 'RS256', kid: 'bench', typ: ttype === 'T' ? 'at+jwt' : 'rt+jwt' })
    .sign(signingKey);
const handle = appOf(auth, (router) =>
  router
    .post('/ceiling', async (ctx) => {
      const sid = randomBytes(16).toString('base64url');
      const [accessToken, refreshToken] = await Promise.all([sign('T', sid), sign('R', sid)]);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { access_token: accessToken, refresh_token: refreshToken, token_type: 'Bearer' };
    })
    .get('/verify-ceiling', async (ctx) => {
      // A token that is missing or does not verify is an error answer, which run() reports.
      const token = /^Bearer (.+)$/.exec(ctx.get('authorization'))?.[1];
      if (token === undefined) {
        ctx.status = 401;
        return;
      }
      const { payload } = await jwtVerify(token, verificationKey, {
        issuer: ISSUER,
        algorithms: ['RS256'],
      });
      ctx.body = payload;
    }),
);

const pairs = await Promise.all(
  Array.from({ length: IN_FLIGHT + 1 }, () => auth.issue(BENCH_USER, { source: 'bench' })),
);
const operations = [operation, ...(values.versus === undefined ? [] : [values.versus])];
const laneSets = operations.map((name) =>
  pairs
    .slice(0, IN_FLIGHT)
    .map((own, lane) => laneOf(name, own, pairs[lane + 1] as (typeof pairs)[number])),
);

/** One lane's sender: a ceiling of bench/servers/ceiling.ts, or an operation of ours. */
function laneOf(
  name: string,
  own: (typeof pairs)[number],
  other: (typeof pairs)[number],
): () => Promise<Answer> {
  switch (name) {
    case 'ceiling':
      return () => inject(handle, '/ceiling', {}, '');
    case 'verify-ceiling': {
      const headers = { authorization: `Bearer ${own.access_token}` };
      return () => inject(handle, '/verify-ceiling', headers);
    }
    default:
      return sender(handle, name, own, other);
  }
}

/** Runs side `side`'s 50 loops for `ms`; the number of answers, every one of which must be a 200. */
async function run(side: number, ms: number): Promise<number> {
  const until = performance.now() + ms;
  let answers = 0;
  await Promise.all(
    (laneSets[side] ?? []).map(async (send: () => Promise<Answer>) => {
      while (performance.now() < until) {
        const { status, body } = await send();
        if (status !== 200) throw new Error(`${operations[side]} answered ${status}: ${body}`);
        answers++;
      }
    }),
  );
  return answers;
}

// Node 23.9 and later; older ones print the process figure only.
const threadCpu = (process as { threadCpuUsage?: () => NodeJS.CpuUsage }).threadCpuUsage;
const micros = (usage: NodeJS.CpuUsage) => usage.user + usage.system;

/** What one side cost over the measured window: answers, seconds, CPU microseconds. */
const totals = operations.map(() => ({ answers: 0, elapsed: 0, cpu: 0, thread: 0 }));

/**
 * One side's share of the measured window. With `--versus`, the two sides take turns in windows of
 * WINDOW_MS, so the machine's other load falls on both alike.
 */
async function measure(side: number, ms: number): Promise<void> {
  const total = totals[side] as (typeof totals)[number];
  const cpuBefore = process.cpuUsage();
  const threadBefore = threadCpu?.();
  const started = performance.now();
  total.answers += await run(side, ms);
  total.elapsed += performance.now() - started;
  total.cpu += micros(process.cpuUsage(cpuBefore));
  total.thread += threadBefore && threadCpu ? micros(threadCpu()) - micros(threadBefore) : NaN;
}

const WINDOW_MS = 250;
for (const side of operations.keys()) await run(side, 1000);
const session = profileDir ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
if (operations.length === 1) await measure(0, seconds * 1000);
else {
  for (let window = 0; window < (seconds * 1000) / WINDOW_MS; window++) {
    for (const side of window % 2 === 0 ? [0, 1] : [1, 0]) await measure(side, WINDOW_MS);
  }
}
if (session && profileDir) {
  const { profile } = await session.post('Profiler.stop');
  await mkdir(profileDir, { recursive: true });
  const file = join(profileDir, `${operation}.cpuprofile`);
  await writeFile(file, JSON.stringify(profile));
  console.log(`profile: ${file}`);
}
const perAnswer = totals.map(({ answers, cpu }) => cpu / answers);
for (const [side, { answers, elapsed, cpu, thread }] of totals.entries()) {
  console.log(
    `${operations[side]}: ${answers} answers in ${(elapsed / 1000).toFixed(1)} s; CPU per answer ` +
      `${(cpu / answers).toFixed(0)} us (process), ${(thread / answers).toFixed(0)} us (main thread)`,
  );
}
if (operations.length === 2) {
  const [first = NaN, second = NaN] = perAnswer;
  console.log(`${operations[0]} at ${(second / first).toFixed(2)}x ${operations[1]} (process CPU)`);
}
await auth.close();
