/**
 * `jwtconnect(options)`: validates options, loads keys once, opens the ledger (repairing any
 * projection a crash left behind) and returns the plugin's whole public surface.
 */
import { EventEmitter } from 'node:events';
import type { JSONWebKeySet } from 'jose';
import type { Context, Middleware } from 'koa';
import { resolveConfig, type JwtConnectOptions, type ResolvedConfig } from './config.js';
import { ConfigError, LedgerInputError } from './errors.js';
import {
  Ledger,
  MemoryStore,
  MongoStore,
  history,
  sessionLineage,
  rebuildProjection,
  sessionAt,
  tokenAt,
  verifyLedger,
  type Appended,
  type HistoryPage,
  type AuditEvent,
  type LedgerEvent,
  type LedgerStore,
  type LineageLink,
  type Progress,
  type RebuildReport,
  type SessionAt,
  type TokenAt,
  type VerifyReport,
} from './ledger/index.js';
import { attachLedger } from './internals.js';
import { checkpointApi, startCheckpointTimer, type CheckpointApi } from './ledger/index.js';
import type { AuthenticatedState, LoggedInState } from './koa-state.js';
import { authenticate, type AuthenticateOptions } from './middleware/authenticate.js';
import {
  PersonalData,
  eraseSubject,
  expirePersonalData,
  type EraseOptions,
  type EraseResult,
  type ExpireReport,
} from './personal-data/index.js';
import { loginHook, type LoginHookOptions } from './middleware/login-hook.js';
import { createRouter, type RoutesOptions } from './routes/index.js';
import { checkAccessToken, type CheckedAccessToken } from './sessions/access.js';
import type { SessionDeps, TokenResponse } from './sessions/deps.js';
import type { RevocationCheck } from './sessions/revocation-check.js';
import { issueSession, previewClaims, subjectOf, type IssueOptions } from './sessions/issue.js';
import {
  listSessions,
  revokeOtherSessions,
  type LiveSession,
  type RevokeOthersOptions,
} from './sessions/list.js';
import { refreshSession } from './sessions/refresh.js';
import { startRevocationCheck } from './sessions/revocation-view.js';
import {
  revoke,
  type RevokeOptions,
  type RevokeResult,
  type RevokeTarget,
} from './sessions/revoke.js';
import {
  historyQuery,
  subjectOf as subjectOfOwner,
  type UserHistoryQuery,
  type UserOrSubject,
} from './sessions/user.js';
import { Telemetry, timedStore, traced } from './telemetry/index.js';
import type { TokenClaims, UserRecord } from './tokens/claims.js';
import { joinKeySets, loadKeys, type KeySet, type PublicJwks } from './tokens/keys.js';
import { refreshMacKeySet } from './tokens/refresh-key.js';
import { VerifiedTokenCache } from './tokens/verified-cache.js';

/** The type of a ledger event, as `auth.on()` takes it: `issued`, `refreshed` or `revoked`. */
export type LedgerEventName = LedgerEvent['type'];

/**
 * The plugin, as `jwtconnect()` returns it: middleware factories, the login hook, the audit API.
 */
export interface JwtConnect {
  /** The validated options with every default filled in (frozen). */
  readonly config: ResolvedConfig;
  /**
   * The login hook: call it after any external authentication. The `issued` event is appended
   * first; only then are the tokens signed.
   *
   * @param user - The authenticated user: any object with an `id` or `username` (or see the
   *   `userId` option); its fields become claims through `claimsMap`.
   * @param options - `source` (required: which kind of login happened), and the request as `ctx`
   *   for the audit log's IP and user agent.
   * @returns The token pair, with `scope` when the session has one.
   * @throws {@link StoreUnavailableError} when the store cannot record the event: no token exists.
   *
   * @example
   * const tokens = await auth.issue({ id: 42, username: 'alice' }, { ctx, source: 'saml' });
   */
  issue(user: UserRecord, options: IssueOptions): Promise<TokenResponse>;
  /**
   * The login hook as Koa middleware, placed after a handler that put the user on
   * `ctx.state.user`. Answers the pair as JSON, or with `respond: false` puts it on
   * `ctx.state.tokens` and calls the next middleware.
   *
   * @example
   * router.post('/saml/acs', bodyParser(), checkAssertion, auth.loginHook({ source: 'saml' }));
   */
  loginHook(options?: LoginHookOptions): Middleware<LoggedInState>;
  /**
   * Bearer authentication with revocation enforced: a valid token sets `ctx.state.user` (its
   * claims) and `ctx.state.token`; anything else is answered 401 (403 without the `scope`).
   *
   * @example
   * router.get('/api/me', auth.authenticate(), (ctx) => {
   *   ctx.body = ctx.state.user;
   * });
   * router.get('/api/admin', auth.authenticate({ scope: 'admin' }), adminHandler);
   */
  authenticate(options?: AuthenticateOptions): Middleware<AuthenticatedState>;
  /**
   * The HTTP routes: refresh, introspection, revocation, JWKS, audit (and, with `login`, a
   * password login). Mount the result with `app.use()`.
   *
   * @example
   * app.use(auth.routes());
   * app.use(auth.routes({ prefix: '/auth', paths: { audit: false } }));
   */
  routes(options?: RoutesOptions): Middleware;
  /**
   * Rotates a refresh token: the old one is spent, a new pair returned. A spent token presented
   * again after `refreshReuseGrace` revokes the whole session.
   *
   * @param ctx - The request, for the audit log's IP and user agent.
   * @throws {@link InvalidGrantError} for an invalid, expired, revoked or spent refresh token.
   */
  refresh(refreshToken: string, ctx?: Context): Promise<TokenResponse>;
  /**
   * Revokes one access token (`{ jti }`), a session (`{ sid }`, or the `jti` of its refresh
   * token), or every session of a subject up to now (`{ sub }`: "logout everywhere", one event).
   * Revoking what is already revoked records nothing.
   *
   * @example
   * const { sid, sub } = ctx.state.user;
   * await auth.revoke({ sid }, { reason: 'logout', actor: sub });
   * await auth.revoke({ sub }, { reason: 'password_changed', actor: 'system' });
   */
  revoke(target: RevokeTarget, options?: RevokeOptions): Promise<RevokeResult>;
  /** The opaque `sub` a user gets: HMAC-SHA256 of the user id under `subjectSecret`. */
  subjectOf(user: UserRecord): string;
  /**
   * Erases a user's (or a `{ sub }`'s) personal data: revokes every session, destroys the data keys
   * and records an `erased` event. History keeps its shape; its personal fields read as erased.
   * Erasing again with nothing new to erase does nothing (`erased: false`).
   *
   * @example
   * await auth.erase(user, { actor: 'dpo@example.org', reason: 'gdpr_request' });
   */
  erase(target: UserRecord | { sub: string }, options?: EraseOptions): Promise<EraseResult>;
  /** Retention of personal data (`personalData.retentionDays`). */
  readonly personalData: {
    /** Destroys data keys past `personalData.retentionDays` (a `ConfigError` without it). */
    expire(): Promise<ExpireReport>;
  };
  /**
   * Calls `listener` with a copy of each event of that type once it is recorded, personal fields
   * in clear as `audit.history()` returns them.
   */
  on(event: LedgerEventName, listener: (event: AuditEvent) => void): this;
  /** Removes a listener added with `on()`. */
  off(event: LedgerEventName, listener: (event: AuditEvent) => void): this;
  /** Token utilities that need no request. */
  readonly tokens: {
    /** Verifies an access token and checks revocation, as `authenticate()` does. */
    verify(token: string): Promise<CheckedAccessToken>;
    /** The access-token claims a user would get (nothing is issued or recorded). */
    previewClaims(user: UserRecord, options?: Partial<IssueOptions>): TokenClaims;
    /** The public verification keys, as `GET /.well-known/jwks.json` serves them. */
    jwks(): PublicJwks;
  };
  /** A user's live sessions: list them, end all but one. */
  readonly sessions: {
    /** Live sessions (not revoked, not expired) of a user (by the host's id) or `{ sub }`, newest first. */
    list(owner: UserOrSubject): Promise<LiveSession[]>;
    /**
     * Ends every live session of the user but `keep` ("sign out my other devices"); without `keep`,
     * all of them. Answers the session ids ended.
     */
    revokeOthers(owner: UserOrSubject, options?: RevokeOthersOptions): Promise<string[]>;
  };
  /**
   * Reading and checking the ledger: who got which token, when, and what happened to it; signed
   * checkpoints, inclusion proofs and archives (docs/checkpoints.md).
   */
  readonly audit: CheckpointApi & {
    /**
     * Events matching a filter (`sub`, `sid`, `jti`, or `user`: the host's user id), oldest first,
     * one page at a time.
     *
     * @example
     * const sub = auth.subjectOf(user);
     * let page = await auth.audit.history({ sub, limit: 100 });
     * while (page.nextCursor) page = await auth.audit.history({ sub, cursor: page.nextCursor });
     */
    history(query: UserHistoryQuery): Promise<HistoryPage>;
    /**
     * Checks every stream's hash chain: `ok` is false if an event was altered, removed or moved.
     */
    verify(options?: { onProgress?: Progress }): Promise<VerifyReport>;
    /** Refolds the projection from the log; with `dryRun` only reports the differences. */
    rebuild(options?: { dryRun?: boolean; onProgress?: Progress }): Promise<RebuildReport>;
    /** The state of one token at a moment, folded from the log. */
    tokenAt(jti: string, at: Date): Promise<TokenAt>;
    /** The state of one session at a moment, folded from the log. */
    sessionAt(sid: string, at: Date): Promise<SessionAt>;
    /** Which refresh token replaced which in a session, from the log. */
    lineage(sid: string): Promise<LineageLink[]>;
  };
  /** Stops timers and closes the store (the MongoDB client, when the plugin opened it). */
  close(): Promise<void>;
}

/**
 * `app.use(auth.authenticate)` hands the factory to Koa, which then calls it with `(ctx, next)`
 * on every request: it would return a middleware nobody runs, and the request would fall through
 * to a 404. Said instead, as a TypeError in the host's error log.
 */
function assertCalledAsFactory(name: string, args: readonly unknown[]): void {
  const [first, second] = args;
  const looksLikeContext =
    typeof first === 'object' &&
    first !== null &&
    'request' in first &&
    'response' in first &&
    'app' in first;
  if (typeof second === 'function' || looksLikeContext) {
    throw new TypeError(
      `auth.${name} was used as middleware; call it to get one: app.use(auth.${name}()), ` +
        `not app.use(auth.${name})`,
    );
  }
}

const MEMORY_STORE_WARNING =
  'store: { memory: true } keeps the ledger in this process only: tokens, revocations and ' +
  'history are lost on restart and not shared with other instances; use store.mongo in production';

function createStore(config: ResolvedConfig): LedgerStore {
  const { store } = config;
  if ('memory' in store) {
    config.logger.warn(MEMORY_STORE_WARNING);
    return new MemoryStore();
  }
  if ('custom' in store) return store.custom;
  return new MongoStore(store.mongo);
}

/**
 * The key set of refresh tokens: signs them, and verifies them together with `keys` (and the
 * derived key, when `refreshKeys` is set), so refresh tokens signed earlier keep refreshing until
 * they expire. It signs with `refreshKeys`
 * when set (a secret without `alg` is HS256), else with an HS256 key derived from `subjectSecret`
 * (`lib/tokens/refresh-key.ts`). Never part of the access-token key set, never published.
 */
async function loadRefreshKeys(config: ResolvedConfig, keys: KeySet): Promise<KeySet> {
  const derived = joinKeySets(
    await refreshMacKeySet(config.subjectSecret),
    keys,
    'the refresh-token MAC key',
  );
  if (config.refreshKeys === undefined) return derived;
  const sources = config.refreshKeys.map((source) =>
    'secret' in source && source.alg === undefined ? { ...source, alg: 'HS256' as const } : source,
  );
  const own = await loadKeys(sources, {
    defaultAlgorithm: config.algorithm,
    label: 'refreshKeys',
  });
  // Refresh tokens the derived key MACed before `refreshKeys` was set keep refreshing too.
  return joinKeySets(own, derived, 'refreshKeys');
}

/**
 * Creates the plugin: validates the options, loads the keys, opens the store (repairing any
 * projection a crash left behind) and returns its whole surface.
 *
 * @throws {@link ConfigError} for a wrong option, naming it; {@link KeyError} for a key that cannot
 *   be loaded; {@link StoreUnavailableError} when the store cannot be reached.
 *
 * @example
 * const auth = await jwtconnect({
 *   issuer: 'https://auth.example.org',
 *   keys: { privateKeyFile: 'certs/private.key', alg: 'ES256' }, // from `keys generate`
 *   subjectSecret: process.env.SUBJECT_SECRET!, // >= 32 characters
 *   store: { mongo: { uri: process.env.MONGODB_URI!, dbName: 'auth' } },
 * });
 * app.use(auth.routes());
 */
export async function jwtconnect(options: JwtConnectOptions): Promise<JwtConnect> {
  const config = resolveConfig(options);
  const keys: KeySet = await loadKeys(config.keys, {
    defaultAlgorithm: config.algorithm,
    warn: (message) => config.logger.warn(message),
  });
  const refreshKeys = await loadRefreshKeys(config, keys);
  const telemetry = new Telemetry(config.telemetry);
  const store = timedStore(createStore(config), telemetry.storeDuration);
  const personalData = new PersonalData(store, {
    subjectSecret: config.subjectSecret,
    keys: config.personalData.keys,
    clock: config.clock,
    cacheEntries: config.personalData.keyCache.maxEntries,
  });
  const ledger = new Ledger({ store, clock: config.clock, personalData });
  let revocation: RevocationCheck;
  try {
    await ledger.open();
    revocation = await startRevocationCheck(ledger, config);
  } catch (error) {
    // A failed start-up leaves nothing open behind it (a MongoDB client keeps the process alive).
    await ledger.close().catch((closeError: unknown) => {
      config.logger.warn('closing the store after a failed start-up failed', closeError);
    });
    throw error;
  }
  const { maxEntries } = config.verifyCache;
  const deps: SessionDeps = {
    config,
    keys,
    ledger,
    revocation,
    refreshKeys,
    ...(maxEntries > 0 && { verified: new VerifiedTokenCache(maxEntries) }),
    telemetry,
    personalData,
  };
  const toleranceMs = config.clockTolerance * 1000;
  const expire = async (): Promise<ExpireReport> => {
    const { retentionDays } = config.personalData;
    if (retentionDays === undefined) {
      throw new ConfigError('options.personalData.retentionDays is not set: nothing expires');
    }
    return expirePersonalData(ledger, personalData.keys, { retentionDays, toleranceMs });
  };
  const expiry = startExpiry(config, expire);

  ledger.onAppend(({ event }: Appended) => {
    try {
      telemetry.recorded(event);
    } catch (error) {
      // Metrics must not turn a recorded operation into an error (an SDK's exporter may throw).
      config.logger.error('recording metrics failed', error);
    }
  });

  const checkpoints = checkpointApi(
    {
      store: ledger.store,
      keys,
      issuer: config.issuer,
      clock: config.clock,
      settleSeconds: config.checkpoints.settleSeconds,
    },
    () => keys.jwks() as JSONWebKeySet,
    (events) => personalData.reveal(events),
  );
  const stopCheckpoints = startCheckpointTimer(
    checkpoints,
    config.checkpoints.everySeconds,
    config.logger,
  );

  const emitter = new EventEmitter();
  ledger.onAppend(({ event, draft }: Appended) => {
    // Copied for listeners so they cannot alter what was recorded; no copy when nobody listens.
    // They get it as audit reads do: personal fields in clear (the process holds the keys).
    if (emitter.listenerCount(event.type) === 0) return;
    try {
      emitter.emit(event.type, structuredClone(personalData.revealAppended(event, draft)));
    } catch (error) {
      // A host listener's failure must not turn a recorded operation into an error.
      config.logger.error(`a "${event.type}" listener threw`, error);
    }
  });

  const auth: JwtConnect = {
    config,
    issue: (user, issueOptions) =>
      traced(telemetry, 'issue', () => issueSession(deps, user, issueOptions)),
    loginHook: (hookOptions, ...rest: unknown[]) => {
      assertCalledAsFactory('loginHook', [hookOptions, ...rest]);
      return loginHook(deps, hookOptions);
    },
    authenticate: (authOptions, ...rest: unknown[]) => {
      assertCalledAsFactory('authenticate', [authOptions, ...rest]);
      return authenticate(deps, authOptions);
    },
    routes: (routeOptions, ...rest: unknown[]) => {
      assertCalledAsFactory('routes', [routeOptions, ...rest]);
      return createRouter(deps, routeOptions);
    },
    refresh: (refreshToken, ctx) =>
      traced(telemetry, 'refresh', () => refreshSession(deps, refreshToken, ctx)),
    revoke: (target, revokeOptions) =>
      traced(telemetry, 'revoke', () => revoke(deps, target, revokeOptions)),
    subjectOf: (user) => subjectOf(deps, user),
    erase: async (target, eraseOptions = {}) =>
      eraseSubject(ledger, personalData.keys, subjectOfTarget(deps, target), {
        ...checkedEraseOptions(eraseOptions),
        toleranceMs,
      }),
    personalData: { expire },
    on(event, listener) {
      emitter.on(event, listener);
      return this;
    },
    off(event, listener) {
      emitter.off(event, listener);
      return this;
    },
    tokens: {
      verify: (token) => checkAccessToken(deps, token),
      previewClaims: (user, previewOptions) => previewClaims(deps, user, previewOptions),
      jwks: () => keys.jwks(),
    },
    sessions: {
      list: async (owner) => listSessions(deps, subjectOfOwner(deps, owner)),
      revokeOthers: async (owner, revokeOptions) =>
        traced(telemetry, 'revoke', () =>
          revokeOtherSessions(deps, subjectOfOwner(deps, owner), revokeOptions),
        ),
    },
    audit: {
      ...checkpoints,
      history: async (query) => history(ledger, historyQuery(deps, query)),
      verify: (verifyOptions) => verifyLedger(ledger.store, verifyOptions?.onProgress),
      rebuild: (rebuildOptions) => rebuildProjection(ledger.store, rebuildOptions),
      tokenAt: (jti, at) => tokenAt(ledger, jti, at),
      sessionAt: (sid, at) => sessionAt(ledger, sid, at),
      // From the log: the projection keeps only tokens that can still matter.
      lineage: (sid) => sessionLineage(ledger, sid),
    },
    async close() {
      stopCheckpoints();
      revocation.stop();
      if (expiry) clearInterval(expiry);
      deps.verified?.clear();
      personalData.clear();
      emitter.removeAllListeners();
      await ledger.close();
    },
  };
  attachLedger(auth, ledger);
  return auth;
}

/** `{ sub }` alone names a subject; anything else is a user record. */
function subjectOfTarget(deps: SessionDeps, target: UserRecord | { sub: string }): string {
  if (typeof target !== 'object' || target === null) {
    throw new LedgerInputError('erase a user record or { sub }');
  }
  const keys = Object.keys(target);
  if (keys.length === 1 && keys[0] === 'sub') return (target as { sub: string }).sub;
  return subjectOf(deps, target);
}

function checkedEraseOptions(options: EraseOptions): EraseOptions {
  for (const value of [options.reason, options.actor]) {
    if (value !== undefined && (typeof value !== 'string' || value.length > 512)) {
      throw new LedgerInputError('"reason" and "actor" must be strings of at most 512 characters');
    }
  }
  return options;
}

/** The optional expiry timer (`personalData.expireInterval`); it never keeps the process alive. */
function startExpiry(
  config: ResolvedConfig,
  expire: () => Promise<ExpireReport>,
): NodeJS.Timeout | undefined {
  const seconds = config.personalData.expireInterval;
  if (seconds === 0) return undefined;
  const timer = setInterval(() => {
    expire().catch((error: unknown) => config.logger.warn('personal data expiry failed', error));
  }, seconds * 1000);
  timer.unref();
  return timer;
}
