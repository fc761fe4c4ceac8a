/**
 * `npx tsx bench/costs.ts`: what a feature adds to one operation, measured in one process, on two
 * plugin instances that differ by that feature alone, taking turns in short blocks so that the
 * machine's other load falls on both alike; the median block decides. A check beside the HTTP
 * rows (bench/run.ts), whose req/s on a shared machine moves by more than the costs measured here.
 *   - Bearer check (`tokens.verify`), with and without the OpenTelemetry SDK;
 *   - issue and refresh (client IP and user agent set), with and without personal-data encryption.
 */
import { generateKeyPairSync } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import Koa from 'koa';
import { jwtconnect, type JwtConnect } from '../lib/index.js';
import { BENCH_USER } from './servers/child.js';
import { otelSdk } from './servers/otel-sdk.js';

const BLOCKS = 30;
const privateKeyPem = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

async function plugin(options: { sdk?: boolean; inClear?: boolean } = {}): Promise<JwtConnect> {
  const sdk = options.sdk ? otelSdk() : undefined;
  const auth = await jwtconnect({
    issuer: 'https://auth.bench.example',
    keys: { privateKeyPem, alg: 'RS256' },
    subjectSecret: 'benchmark-subject-secret-0123456789abcdef',
    store: { memory: true },
    logger: { warn: () => {}, error: console.error },
    ...(sdk && { telemetry: sdk.telemetry }),
  });
  // As bench/servers/ours.ts does for `personalDataInClear`.
  if (options.inClear) (auth.ledger as { personalData: unknown }).personalData = undefined;
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

type Operation = (auth: JwtConnect) => Promise<() => Promise<unknown>>;

/** Microseconds per call of `with` and `without` (medians of the blocks), `size` calls a block. */
async function compare(name: string, size: number, pair: JwtConnect[], operation: Operation) {
  const times: number[][] = [[], []];
  const calls = await Promise.all(pair.map(operation));
  for (let block = 0; block <= BLOCKS; block++) {
    // Who goes first alternates: a block must not inherit the other's garbage to collect.
    const order = block % 2 === 0 ? [0, 1] : [1, 0];
    for (const side of order) {
      const call = calls[side] as () => Promise<unknown>;
      const started = performance.now();
      for (let i = 0; i < size; i++) await call();
      // The first block of each is a warm-up.
      if (block > 0) times[side]?.push(((performance.now() - started) * 1000) / size);
    }
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1] as number;
  const [withIt, without] = times.map(median) as [number, number];
  console.log(
    `${name.padEnd(44)} with ${withIt.toFixed(1)} us  without ${without.toFixed(1)} us  +${(withIt - without).toFixed(1)} us (${(((withIt - without) / without) * 100).toFixed(1)}%)`,
  );
}

const bearer: Operation = async (auth) => {
  const tokens = await Promise.all(
    Array.from({ length: 50 }, () => auth.issue(BENCH_USER, { source: 'bench' })),
  );
  let next = 0;
  return () => auth.tokens.verify(tokens[next++ % tokens.length]?.access_token as string);
};
const issue: Operation = async (auth) => {
  const ctx = context();
  return () => auth.issue(BENCH_USER, { source: 'bench', ctx });
};
const refresh: Operation = async (auth) => {
  const ctx = context();
  let token = (await auth.issue(BENCH_USER, { source: 'bench', ctx })).refresh_token;
  return async () => {
    token = (await auth.refresh(token, ctx)).refresh_token;
  };
};

const sdkPair = [await plugin({ sdk: true }), await plugin()];
await compare('Bearer check, OpenTelemetry SDK', 2000, sdkPair, bearer);
const clearPair = [await plugin(), await plugin({ inClear: true })];
await compare('issue, personal-data encryption', 100, clearPair, issue);
await compare('refresh, personal-data encryption', 100, clearPair, refresh);
await Promise.all([...sdkPair, ...clearPair].map((auth) => auth.close()));
