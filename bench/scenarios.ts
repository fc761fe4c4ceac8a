/**
 * What is measured: each HTTP scenario names a server (a file under bench/servers/), its settings,
 * what to mint before the load, and the requests autocannon sends. Ours and the peers of one
 * scenario run one after the other in the same run, so their ratio holds even as the machine drifts.
 */
import type { Request } from 'autocannon';
import type { Minted, MintRequest, ServerSettings } from './servers/child.js';

export type Impl = 'ours' | 'ceiling' | 'koa-jwt' | 'oidc-provider';
export type StoreKind = 'memory' | 'mongo' | 'none';

export interface HttpScenario {
  scenario: string;
  impl: Impl;
  store: StoreKind;
  /** Which of ours' options differ from the defaults (ours only). */
  variant?: string;
  server: Impl;
  settings: Partial<ServerSettings>;
  mint: MintRequest;
  /** The load spends what was minted (refresh tokens work once): the warm-up gets tokens apart. */
  spendsTokens?: boolean;
  requests: (minted: Minted) => Request[];
}

type Alg = ServerSettings['alg'];

/** For the `refreshKeys` variants: refresh tokens MACed with HS256 (a benchmark-only secret). */
const REFRESH_SECRET = 'benchmark-refresh-secret-0123456789abcdef';

/** The variant with the OpenTelemetry SDK installed (bench/servers/otel-sdk.ts). */
export const OTEL_SDK = 'per-request, OTel SDK';
/** The variant whose ledger keeps personal data in clear: the baseline of the encryption's cost. */
export const PERSONAL_DATA_IN_CLEAR = 'personal data in clear';

/** autocannon connections, as the issue asks. */
export const CONNECTIONS = 50;

/**
 * Round-robin over `values`. (autocannon clears a connection's context after each pass over its
 * request list, so per-connection state cannot live there.)
 */
function roundRobin<T>(values: readonly T[]): () => T {
  let next = 0;
  return () => values[next++ % values.length] as T;
}

const form = { 'content-type': 'application/x-www-form-urlencoded' };

function authenticate(minted: Minted): Request[] {
  const tokenOf = roundRobin(minted.access);
  return [
    {
      method: 'GET',
      path: '/api/me',
      setupRequest: (request) => ({
        ...request,
        headers: { authorization: `Bearer ${tokenOf()}` },
      }),
    },
  ];
}

function login(): Request[] {
  return [{ method: 'POST', path: '/login' }];
}

/** Ours: the caller's own access token as Bearer, introspecting another token of its subject. */
function introspectOurs(minted: Minted): Request[] {
  const pairOf = roundRobin(minted.access.slice(1).map((token, i) => [minted.access[i], token]));
  return [
    {
      method: 'POST',
      path: '/token/introspection',
      setupRequest: (request) => {
        const [caller, token] = pairOf() as [string, string];
        return {
          ...request,
          headers: { ...form, authorization: `Bearer ${caller}` },
          body: `token=${token}`,
        };
      },
    },
  ];
}

/** oidc-provider: client_secret_basic, introspecting one of its access tokens. */
function introspectOidc(minted: Minted): Request[] {
  const tokenOf = roundRobin(minted.access);
  return [
    {
      method: 'POST',
      path: '/token/introspection',
      setupRequest: (request) => ({
        ...request,
        headers: { ...form, ...minted.headers },
        body: `token=${tokenOf()}`,
      }),
    },
  ];
}

/**
 * Rotation chains: a request takes the head of a free chain, and its answer's refresh token becomes
 * that chain's new head, so every refresh token is presented exactly once. A chain that breaks
 * (non-200) is replaced by an unused minted one.
 */
function refresh(path: string) {
  return (minted: Minted): Request[] => {
    const heads = minted.refresh.splice(0, CONNECTIONS);
    const spare = minted.refresh;
    return [
      {
        method: 'POST',
        path,
        setupRequest: (request) => {
          const token = heads.shift() ?? spare.shift();
          return {
            ...request,
            headers: { ...form, ...minted.headers },
            body: `grant_type=refresh_token&refresh_token=${token}`,
          };
        },
        onResponse: (status, body) => {
          const next =
            status === 200
              ? (JSON.parse(body) as { refresh_token: string }).refresh_token
              : spare.shift();
          if (next) heads.push(next);
        },
      },
    ];
  };
}

export function httpScenarios(): HttpScenario[] {
  const list: HttpScenario[] = [];
  for (const alg of ['RS256', 'ES256'] as Alg[]) {
    const scenario = `authenticate-${alg.toLowerCase()}`;
    const common = {
      scenario,
      requests: authenticate,
      mint: { kind: 'access' as const, count: CONNECTIONS },
    };
    list.push(
      {
        ...common,
        impl: 'ours',
        store: 'memory',
        variant: 'per-request',
        server: 'ours',
        settings: { alg, store: 'memory' },
      },
      // What metrics cost a host that installs the SDK, next to the row it is compared with (see
      // COSTS in bench/report.ts); one algorithm tells it, the Bearer path being the same for both.
      ...(alg === 'RS256'
        ? [
            {
              ...common,
              impl: 'ours' as const,
              store: 'memory' as const,
              variant: OTEL_SDK,
              server: 'ours' as const,
              settings: { alg, store: 'memory' as const, otelSdk: true },
            },
          ]
        : []),
      {
        ...common,
        impl: 'ours',
        store: 'memory',
        variant: 'per-request, verifyCache off',
        server: 'ours',
        settings: { alg, store: 'memory', verifyCacheEntries: 0 },
      },
      {
        ...common,
        impl: 'ours',
        store: 'mongo',
        variant: 'per-request',
        server: 'ours',
        settings: { alg, store: 'mongo' },
      },
      {
        ...common,
        impl: 'ours',
        store: 'mongo',
        variant: 'maxStalenessMs=1000',
        server: 'ours',
        settings: { alg, store: 'mongo', maxStalenessMs: 1000 },
      },
      { ...common, impl: 'ceiling', store: 'none', server: 'ceiling', settings: { alg } },
      { ...common, impl: 'koa-jwt', store: 'none', server: 'koa-jwt', settings: { alg } },
    );
  }
  const issue = { scenario: 'issue', requests: login, mint: { kind: 'access' as const, count: 0 } };
  list.push(
    {
      ...issue,
      impl: 'ours',
      store: 'memory',
      server: 'ours',
      settings: { alg: 'RS256', store: 'memory' },
    },
    {
      ...issue,
      impl: 'ours',
      store: 'memory',
      variant: PERSONAL_DATA_IN_CLEAR,
      server: 'ours',
      settings: { alg: 'RS256', store: 'memory', personalDataInClear: true },
    },
    {
      ...issue,
      impl: 'ours',
      store: 'memory',
      variant: 'refreshKeys HS256',
      server: 'ours',
      settings: { alg: 'RS256', store: 'memory', refreshSecret: REFRESH_SECRET },
    },
    {
      ...issue,
      impl: 'ours',
      store: 'mongo',
      server: 'ours',
      settings: { alg: 'RS256', store: 'mongo' },
    },
    { ...issue, impl: 'ceiling', store: 'none', server: 'ceiling', settings: { alg: 'RS256' } },
  );
  const introspection = {
    scenario: 'introspection',
    mint: { kind: 'pairs' as const, count: CONNECTIONS + 1 },
  };
  list.push(
    {
      ...introspection,
      impl: 'ours',
      store: 'memory',
      server: 'ours',
      settings: { alg: 'RS256', store: 'memory' },
      requests: introspectOurs,
    },
    {
      ...introspection,
      impl: 'ours',
      store: 'mongo',
      server: 'ours',
      settings: { alg: 'RS256', store: 'mongo' },
      requests: introspectOurs,
    },
    {
      ...introspection,
      impl: 'oidc-provider',
      store: 'memory',
      server: 'oidc-provider',
      settings: { alg: 'RS256' },
      requests: introspectOidc,
    },
  );
  // Spare chains: a broken chain (which should not happen) takes a fresh token.
  const refreshing = {
    scenario: 'refresh',
    mint: { kind: 'pairs' as const, count: CONNECTIONS + 10 },
    spendsTokens: true,
  };
  list.push(
    {
      ...refreshing,
      impl: 'ours',
      store: 'memory',
      server: 'ours',
      settings: { alg: 'RS256', store: 'memory' },
      requests: refresh('/token/refresh'),
    },
    {
      ...refreshing,
      impl: 'ours',
      store: 'memory',
      variant: PERSONAL_DATA_IN_CLEAR,
      server: 'ours',
      settings: { alg: 'RS256', store: 'memory', personalDataInClear: true },
      requests: refresh('/token/refresh'),
    },
    {
      ...refreshing,
      impl: 'ours',
      store: 'memory',
      variant: 'refreshKeys HS256',
      server: 'ours',
      settings: { alg: 'RS256', store: 'memory', refreshSecret: REFRESH_SECRET },
      requests: refresh('/token/refresh'),
    },
    {
      ...refreshing,
      impl: 'ours',
      store: 'mongo',
      server: 'ours',
      settings: { alg: 'RS256', store: 'mongo' },
      requests: refresh('/token/refresh'),
    },
    {
      ...refreshing,
      impl: 'oidc-provider',
      store: 'memory',
      server: 'oidc-provider',
      settings: { alg: 'RS256' },
      requests: refresh('/token'),
    },
  );
  return list;
}

export function labelOf(row: { scenario: string; impl: string; store: string; variant?: string }) {
  return [row.scenario, row.impl, row.store, row.variant].filter(Boolean).join(' ');
}
