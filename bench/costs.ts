/**
 * `npx tsx bench/costs.ts [--base <dir>] [--only <operation>,...]`: CPU time per operation of two
 * plugin instances, measured in one process, taking turns in short blocks so that the machine's
 * other load and garbage collection fall on both alike; the median block decides. CPU time
 * (`process.cpuUsage()`: every thread, the thread pool's signing included), not wall time, so a
 * busy machine slows both sides without changing what they cost. A check beside the HTTP rows
 * (bench/run.ts), whose req/s on a shared machine moves by more than the costs measured here.
 *
 * Without `--base`, what a feature adds:
 *   - Bearer check (`tokens.verify`), and a whole request to a route behind `auth.authenticate()`
 *     (`GET /api/me`), with and without the OpenTelemetry SDK;
 *   - issue and refresh (client IP and user agent set), with and without personal-data encryption.
 * With `--base <dir>`, this tree's `lib/` against the one in `<dir>/lib/` (for instance an earlier
 * commit: `git archive <commit> lib package.json | tar -x -C .cache/base`, inside the repository so that its
 * imports resolve), for issue, refresh, introspection and Bearer checks through the Koa app of
 * bench/servers/ours.ts (bench/inject.ts).
 */
import { generateKeyPairSync } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Koa from 'koa';
import { jwtconnect, type JwtConnect, type JwtConnectOptions } from '../lib/index.js';
import { ledgerOf } from '../lib/internals.js';
import { commandLine } from './args.js';
import { appOf, OPERATIONS, sender, type Answer } from './inject.js';
import { BENCH_USER } from './servers/child.js';
import { otelSdk } from './servers/otel-sdk.js';

const BLOCKS = 40;
const USAGE = `usage: npx tsx bench/costs.ts [--base <dir>] [--only <operation>,...]

  --base  compare this tree's lib/ with <dir>/lib/ instead of measuring what features add
  --only  the operations to measure: ${OPERATIONS.join(', ')} (default all)`;
const cli = commandLine(USAGE, { base: { type: 'string' }, only: { type: 'string' } });
const only = cli.values.only?.split(',');
const unknown = only?.find((name) => !(OPERATIONS as readonly string[]).includes(name));
if (unknown !== undefined) cli.fail(`Unknown operation '${unknown}' in --only.`);
const base = cli.values.base;

const privateKeyPem = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const OPTIONS: JwtConnectOptions = {
  issuer: 'https://auth.bench.example',
  keys: { privateKeyPem, alg: 'RS256' },
  subjectSecret: 'benchmark-subject-secret-0123456789abcdef',
  store: { memory: true },
  logger: { warn: () => {}, error: console.error },
};

async function plugin(options: { sdk?: boolean; inClear?: boolean } = {}): Promise<JwtConnect> {
  const sdk = options.sdk ? otelSdk() : undefined;
  const auth = await jwtconnect({ ...OPTIONS, ...(sdk && { telemetry: sdk.telemetry }) });
  // As bench/servers/ours.ts does for `personalDataInClear`.
  if (options.inClear) (ledgerOf(auth) as { personalData: unknown }).personalData = undefined;
  return auth;
}

/** A request context as the routes get it: a client IP and a user agent. */
function context(): Koa.Context {
  const request = new IncomingMessage(new Socket());
  request.headers['user-agent'] = 'bench/1.0';
  const ctx = new Koa().createContext(request, new ServerResponse(request));
  ctx.request.ip = '203.0.113.7';
  return ctx;
}

type Call = () => Promise<unknown>;
/** 50 independent callers (own tokens, own refresh chain), as the HTTP bench's 50 connections. */
type Lanes = Call[];
const IN_FLIGHT = 50;

const micros = (usage: NodeJS.CpuUsage) => usage.user + usage.system;
const median = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1] as number;

/**
 * CPU microseconds per call of each side (medians of the blocks), `rounds` rounds a block, each
 * round one call of every lane at once: 50 in flight as in the HTTP bench, where the thread pool
 * stays busy (one call at a time would pay for waking a pool thread at every WebCrypto call).
 */
async function compare(
  name: string,
  rounds: number,
  sides: [Lanes, Lanes],
  labels = ['with', 'without'],
) {
  const times: [number[], number[]] = [[], []];
  for (let block = 0; block <= BLOCKS; block++) {
    const sums = [0, 0];
    // The sides take turns round by round, who goes first alternating: both meet the same machine,
    // and neither always inherits the other's garbage to collect. (A thread's own CPU time,
    // `process.threadCpuUsage()`, moves in steps too coarse for this: bench/drive.ts reports the
    // main thread's over seconds.)
    for (let i = 0; i < rounds; i++) {
      for (const side of i % 2 === 0 ? [0, 1] : [1, 0]) {
        const lanes = sides[side] ?? [];
        const before = process.cpuUsage();
        await Promise.all(lanes.map((call) => call()));
        sums[side] = (sums[side] ?? 0) + micros(process.cpuUsage(before)) / lanes.length;
      }
    }
    // The first block is a warm-up.
    if (block > 0) for (const side of [0, 1]) times[side]?.push((sums[side] ?? 0) / rounds);
  }
  const [one, two] = times.map(median) as [number, number];
  const [first, second] = labels;
  console.log(
    `${name.padEnd(34)} ${first} ${one.toFixed(1)} us  ${second} ${two.toFixed(1)} us  ` +
      `${one >= two ? '+' : ''}${(one - two).toFixed(1)} us (${(((one - two) / two) * 100).toFixed(1)}%)`,
  );
}

const lanes = (make: (lane: number) => Promise<Call>) =>
  Promise.all(Array.from({ length: IN_FLIGHT }, (_, lane) => make(lane)));

const bearer = (auth: JwtConnect): Promise<Lanes> =>
  lanes(async () => {
    const { access_token: token } = await auth.issue(BENCH_USER, { source: 'bench' });
    return () => auth.tokens.verify(token);
  });
const issue = (auth: JwtConnect): Promise<Lanes> =>
  lanes(async () => {
    const ctx = context();
    return () => auth.issue(BENCH_USER, { source: 'bench', ctx });
  });
const refresh = (auth: JwtConnect): Promise<Lanes> =>
  lanes(async () => {
    const ctx = context();
    let token = (await auth.issue(BENCH_USER, { source: 'bench', ctx })).refresh_token;
    return async () => {
      token = (await auth.refresh(token, ctx)).refresh_token;
    };
  });

/**
 * One operation through the app of bench/servers/ours.ts, each lane with its tokens (and refresh
 * chain: a session's state grows with each refresh); a non-200 answer is a failure.
 */
async function routeLanes(auth: JwtConnect, operation: string): Promise<Lanes> {
  const handle = appOf(auth);
  const pairs = await Promise.all(
    Array.from({ length: IN_FLIGHT + 1 }, () => auth.issue(BENCH_USER, { source: 'bench' })),
  );
  return pairs.slice(1).map((own, lane) => {
    const send = sender(handle, operation, own, pairs[lane] as typeof own);
    return async () => {
      const { status, body }: Answer = await send();
      if (status !== 200) throw new Error(`${operation} answered ${status}: ${body}`);
    };
  });
}

const selected = (name: string) => !only || only.includes(name);

if (base) {
  const url = pathToFileURL(resolve(base, 'lib/index.js')).href;
  const before = (await import(url)) as { jwtconnect: typeof jwtconnect };
  const pair = [await jwtconnect(OPTIONS), await before.jwtconnect(OPTIONS)];
  for (const operation of OPERATIONS.filter(selected)) {
    const rounds = operation === 'bearer' || operation === 'introspection' ? 20 : 2;
    const sides = (await Promise.all(pair.map((auth) => routeLanes(auth, operation)))) as [
      Lanes,
      Lanes,
    ];
    await compare(operation, rounds, sides, ['this tree', base]);
  }
  await Promise.all(pair.map((auth) => auth.close()));
} else {
  const sdkPair = [await plugin({ sdk: true }), await plugin()];
  if (selected('bearer')) {
    const sides = (await Promise.all(sdkPair.map(bearer))) as [Lanes, Lanes];
    await compare('Bearer check, OpenTelemetry SDK', 40, sides);
    const requests = (await Promise.all(sdkPair.map((auth) => routeLanes(auth, 'bearer')))) as [
      Lanes,
      Lanes,
    ];
    await compare('Bearer request, OpenTelemetry SDK', 20, requests);
  }
  const clearPair = [await plugin(), await plugin({ inClear: true })];
  if (selected('issue')) {
    const sides = (await Promise.all(clearPair.map(issue))) as [Lanes, Lanes];
    await compare('issue, personal-data encryption', 2, sides);
  }
  if (selected('refresh')) {
    const sides = (await Promise.all(clearPair.map(refresh))) as [Lanes, Lanes];
    await compare('refresh, personal-data encryption', 2, sides);
  }
  await Promise.all([...sdkPair, ...clearPair].map((auth) => auth.close()));
}
