/**
 * koa-jwtconnect as a host app would wire it: `auth.routes()` (refresh, introspection), a login
 * hook after a (trivial) login step, and a route protected by `auth.authenticate()`.
 * Store: memory or MongoDB; revocation checked per request, or with `maxStalenessMs` when set.
 * Cost baselines: `otelSdk` installs the OpenTelemetry SDK; `personalDataInClear` takes the
 * personal-data codec out of the ledger, which the plugin has no option for.
 */
import { createServer } from 'node:http';
import { jwtconnect } from '../../lib/index.js';
import { ledgerOf } from '../../lib/internals.js';
import { appOf } from '../inject.js';
import { BENCH_USER, serve, settings, type Minted, type MintRequest } from './child.js';
import { otelSdk } from './otel-sdk.js';

const config = settings();
const sdk = config.otelSdk ? otelSdk() : undefined;
const auth = await jwtconnect({
  issuer: config.issuer,
  keys: { privateKeyPem: config.privateKeyPem, alg: config.alg },
  subjectSecret: 'benchmark-subject-secret-0123456789abcdef',
  store:
    config.store === 'mongo'
      ? { mongo: { uri: config.mongoUri as string, dbName: config.dbName as string } }
      : { memory: true },
  ...(config.maxStalenessMs !== undefined && {
    revocation: { maxStalenessMs: config.maxStalenessMs },
  }),
  ...(config.refreshSecret !== undefined && { refreshKeys: { secret: config.refreshSecret } }),
  ...(config.verifyCacheEntries !== undefined && {
    verifyCache: { maxEntries: config.verifyCacheEntries },
  }),
  ...(sdk && { telemetry: sdk.telemetry }),
});
if (config.personalDataInClear) {
  // The ledger skips `protect` without a codec (lib/ledger/ledger.ts); refresh then reads the
  // session's claims from the projection, where they are in clear.
  (ledgerOf(auth) as { personalData: unknown }).personalData = undefined;
}

async function mint(request: MintRequest): Promise<Minted> {
  const minted: Minted = { access: [], refresh: [] };
  for (let i = 0; i < request.count; i++) {
    const pair = await auth.issue(BENCH_USER, { source: 'bench' });
    minted.access.push(pair.access_token);
    minted.refresh.push(pair.refresh_token);
  }
  return minted;
}

await serve(createServer(appOf(auth)), mint, async () => {
  await auth.close();
  await sdk?.shutdown();
});
