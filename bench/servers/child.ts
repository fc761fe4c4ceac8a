/**
 * What every benchmark server shares: it reads its settings from argv, listens on a free loopback
 * port, tells the runner the port over IPC, answers the runner's `mint` requests (the tokens the
 * load will present) and `cpu` requests (its CPU time so far), and exits cleanly on `stop` so `--cpu-prof` can write its profile.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The settings the runner gives every server (each server reads what it needs). */
export interface ServerSettings {
  alg: 'RS256' | 'ES256';
  /** PKCS#8 PEM of the signing key. */
  privateKeyPem: string;
  /** SPKI PEM of its public key. */
  publicKeyPem: string;
  issuer: string;
  store?: 'memory' | 'mongo';
  mongoUri?: string;
  dbName?: string;
  maxStalenessMs?: number;
  /** ours: `verifyCache.maxEntries` (0: every request verifies the signature). */
  verifyCacheEntries?: number;
  /** ours: `refreshKeys: { secret }` (HS256 refresh tokens). */
  refreshSecret?: string;
  /** ours: the OpenTelemetry SDK installed and passed as `telemetry` (bench/servers/otel-sdk.ts). */
  otelSdk?: boolean;
  /**
   * ours: the ledger without its personal-data codec, so events keep claims, IP and user agent in
   * clear, as before they were encrypted. A baseline for the encryption's cost; not an option.
   */
  personalDataInClear?: boolean;
}

/** What the runner asks a server to mint before the load starts. */
export interface MintRequest {
  /** `access`: tokens to present as Bearer; `pairs`: access + refresh pairs. */
  kind: 'access' | 'pairs';
  count: number;
}

export interface Minted {
  access: string[];
  refresh: string[];
  /** Extra headers every request needs (client authentication, for oidc-provider). */
  headers?: Record<string, string>;
}

type FromRunner =
  | { type: 'mint'; id: number; request: MintRequest }
  | { type: 'cpu'; id: number }
  | { type: 'stop' };

export function settings(): ServerSettings {
  const raw = process.argv[2];
  if (!raw) throw new TypeError('a server needs its settings as JSON in argv[2]');
  return JSON.parse(raw) as ServerSettings;
}

/** Listens, then serves the runner's IPC requests until told to stop. */
export async function serve(
  server: Server,
  mint: (request: MintRequest) => Promise<Minted>,
  close: () => Promise<void> = async () => {},
): Promise<void> {
  if (!process.send) throw new Error('a benchmark server runs as a child of bench/run.ts');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  process.on('message', (message: FromRunner) => {
    if (message.type === 'stop') {
      server.close();
      server.closeAllConnections();
      void close().finally(() => process.exit(0));
      return;
    }
    if (message.type === 'cpu') {
      // CPU time (user + system, all threads) in microseconds: the runner takes it around the load.
      const { user, system } = process.cpuUsage();
      process.send?.({ type: 'cpu', id: message.id, micros: user + system });
      return;
    }
    mint(message.request).then(
      (minted) => process.send?.({ type: 'minted', id: message.id, minted }),
      (error: unknown) => process.send?.({ type: 'minted', id: message.id, error: String(error) }),
    );
  });
  process.send({ type: 'ready', port });
}

/** Claims shaped like ours, for the servers that sign their own tokens (the ceiling, koa-jwt). */
export function sampleClaims(issuer: string, ttype: 'T' | 'R', jti: string, sid: string) {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    iss: issuer,
    sub: 'b3f9c2a1d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d',
    iat: now,
    exp: now + (ttype === 'T' ? 1800 : 3600),
    auth_time: now,
    jti,
    sid,
    ttype,
  };
  if (ttype === 'T') Object.assign(claims, BENCH_USER_CLAIMS);
  return claims;
}

/** The one user every benchmark logs in, and the claims its access tokens carry. */
export const BENCH_USER = {
  id: 'user-1',
  username: 'alice',
  first_name: 'Alice',
  last_name: 'Liddell',
  email: 'alice@example.org',
};
const BENCH_USER_CLAIMS = {
  username: 'alice',
  given_name: 'Alice',
  family_name: 'Liddell',
  email: 'alice@example.org',
};
