/**
 * Options are checked once, at start-up, by an ajv schema plus a few semantic checks, into a frozen
 * resolved config. A wrong option throws one `ConfigError` naming the option's full path.
 */
import type { Context } from 'koa';
import type { Db } from 'mongodb';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { frozenConfig, redactedKek, redactedKeySource, redactedStore } from './config-redaction.js';
import { ConfigError } from './errors.js';
import type { LedgerStore, MongoStoreOptions } from './ledger/index.js';
import {
  DEFAULT_CLAIMS_MAP,
  REGISTERED_CLAIMS,
  type ClaimsMap,
  type UserRecord,
} from './tokens/claims.js';
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from './tokens/algorithms.js';
import type { TelemetryOptions } from './telemetry/telemetry.js';
import type { KeySource } from './tokens/key-sources.js';
import { DEFAULT_VERIFY_CACHE_ENTRIES } from './tokens/verified-cache.js';
import { DEFAULT_KEY_CACHE_ENTRIES } from './personal-data/data-keys.js';
import type { KekSource } from './personal-data/key-encryption.js';
import { compileSchema, describeProblem } from './validation.js';

/** Where the ledger lives: MongoDB (the product), in memory (tests, demos), or your own store. */
export type StoreOption =
  | { mongo: MongoStoreOptions & { db?: Db } }
  | { memory: true }
  /** Any implementation of the store contract. */
  | { custom: LedgerStore };

/** The scope names that grant the plugin's privileged operations. */
export interface ScopeNames {
  /** Lets a caller introspect any subject's tokens. Default `introspection`. */
  introspection: string;
  /** Lets a caller read the audit log. Default `audit`. */
  audit: string;
  /** Lets a caller revoke any subject's tokens. Default `admin`. */
  admin: string;
}

/** Options of `jwtconnect()`, validated once at start-up: a wrong one throws a `ConfigError`. */
export interface JwtConnectOptions {
  /** `iss` of every token, and what verification requires. */
  issuer: string;
  /** `aud` to put in tokens and require on verification. */
  audience?: string | string[];
  /** Signing and verification keys: one source, or several for rotation. */
  keys: KeySource | KeySource[];
  /** Algorithm for keys that do not name their own. Default `RS256`. */
  algorithm?: SigningAlgorithm;
  /**
   * Keys for refresh tokens only, which no one but this server's instances ever verifies; they
   * are never published. Default: refresh tokens are MACed (HS256) with a key derived (HKDF) from
   * `subjectSecret`, so a token pair costs one asymmetric signature, not two. Set this to use keys
   * of your own instead (`{ secret }` is HS256 unless it names its `alg`): refresh tokens the
   * derived key MACed then stop refreshing. Refresh tokens signed by `keys` keep verifying.
   */
  refreshKeys?: KeySource | KeySource[];
  /**
   * Secret (>= 32 characters, random) under which user ids become opaque `sub` values
   * (HMAC-SHA256), and from which the refresh-token MAC key is derived (HKDF): changing it changes
   * every `sub` and ends every outstanding refresh token (unless `refreshKeys` is set).
   */
  subjectSecret: string;
  /**
   * Where the ledger lives: `{ mongo: { uri, dbName } }`, `{ mongo: { db } }`, `{ memory: true }`.
   */
  store: StoreOption;
  /** Lifetime of access tokens in seconds. Default 1800. */
  accessTokenTtl?: number;
  /**
   * Lifetime of refresh tokens in seconds; each refresh starts a new one. Default 3600. The idle
   * timeout: a session not refreshed within it ends.
   */
  refreshTokenTtl?: number;
  /**
   * Absolute lifetime of a session in seconds, however often it is refreshed (RFC 9700 section
   * 4.14.2): no token of a session expires after its login plus this. Recorded in each session's
   * `issued` event, so changing it affects new logins only. Default 2592000 (30 days).
   */
  sessionMaxAge?: number;
  /** Seconds of clock skew tolerated on `exp`, `nbf` and `iat`. Default 5. */
  clockTolerance?: number;
  /** User field -> access-token claim. Default {@link DEFAULT_CLAIMS_MAP}. */
  claimsMap?: ClaimsMap;
  /**
   * The stable id of a user, from which `sub` is derived. Default: `user.id`, else `user.username`.
   */
  userId?: (user: UserRecord) => string | number;
  /**
   * Turns a user id into `sub`, instead of HMAC-SHA256 under `subjectSecret`. For keeping the
   * `sub` values of another system, e.g. django-jwtconnect-auth's unkeyed SHA-256 of the username:
   * weaker, as anyone who can guess an id can compute its `sub`. It must return a non-empty string
   * of at most 504 characters, the same for the same id on every instance.
   */
  subject?: (userId: string) => string;
  /** Extra access-token claims; may not override claims the plugin sets. */
  extraClaims?: (user: UserRecord, ctx: Context | undefined) => Record<string, unknown>;
  /**
   * Called on every refresh that would succeed: returns the user claims for the new access token,
   * or `null` to end the session (the user is gone or deactivated; recorded as a revocation with
   * reason `user_inactive`). Default: the claims recorded at login are re-issued.
   */
  refreshClaims?: RefreshClaimsHook;
  /** false: a new login revokes the user's other sessions (`single_session`). Default true. */
  multipleTokens?: boolean;
  /**
   * Seconds after a rotation during which presenting the spent refresh token is treated as a
   * concurrent request that lost the race (400, session kept) rather than reuse (400, session
   * revoked). Default 2; 0 makes every later presentation count as reuse.
   */
  refreshReuseGrace?: number;
  /**
   * How revocation is enforced by `authenticate()`. Default `maxStalenessMs: 0`: the store is read
   * on every request. A positive bound keeps a local view fed from the ledger instead.
   */
  revocation?: { maxStalenessMs?: number };
  /**
   * Access tokens whose signature was verified are remembered, per instance, so a token presented
   * again costs no signature check; `exp`, `nbf` and `iat` are checked on every use and revocation
   * as `revocation` says. Default `maxEntries: 10000`; 0 turns the cache off.
   */
  verifyCache?: { maxEntries?: number };
  /**
   * Signed checkpoints of the ledger (docs/checkpoints.md). `everySeconds`: make one on a timer
   * (unref'd, stopped by `close()`); default 0, only on demand. `settleSeconds`: how far behind
   * the clock a checkpoint's `upto` stays, so appends under way land first; default 5.
   */
  checkpoints?: { everySeconds?: number; settleSeconds?: number };
  /** Encryption, erasure and retention of personal data in the ledger; see docs/personal-data.md. */
  personalData?: PersonalDataOption;
  /** Scope names granting introspection of any token, audit reading, revoking any token. */
  scopes?: Partial<ScopeNames>;
  /**
   * OpenTelemetry providers for the plugin's metrics and spans. Default: the global ones, which
   * are no-ops until the host installs an SDK (before calling `jwtconnect()`).
   */
  telemetry?: TelemetryOptions;
  /** The current time in epoch milliseconds. Default `Date.now`; tests inject their own. */
  clock?: Clock;
  /** Where warnings and 5xx details go. Default: `console`, prefixed `koa-jwtconnect:`. */
  logger?: Logger;
}

/** Encryption, erasure and retention of personal data in the ledger (docs/personal-data.md). */
export interface PersonalDataOption {
  /**
   * Key-encryption keys (`{ kid, secret }`, secret >= 32 characters) that wrap the data keys; the
   * first wraps new ones, all unwrap. Default: one derived (HKDF) from `subjectSecret`, which
   * always unwraps too.
   */
  keys?: KekSource | KekSource[];
  /** Days after the end of a month that its personal data expires. Default: never. */
  retentionDays?: number;
  /** Seconds between automatic expiry runs (needs `retentionDays`). Default 0: only on request. */
  expireInterval?: number;
  /** Unwrapped data keys kept per instance. Default `maxEntries: 10000`; 0 turns the cache off. */
  keyCache?: { maxEntries?: number };
}

/** What `refreshClaims` is told about the session being refreshed. */
export interface RefreshClaimsInput {
  /** The session's opaque subject. */
  sub: string;
  /** The session id. */
  sid: string;
  /** The user claims recorded at login (claims map and extra claims); a copy. */
  claims: Record<string, unknown>;
  /** The refresh request, when there is one. */
  ctx: Context | undefined;
}

/** The user claims for a refreshed access token, or `null` to end the session. */
export type RefreshClaimsHook = (
  input: RefreshClaimsInput,
) => Record<string, unknown> | null | Promise<Record<string, unknown> | null>;

/** Receives the plugin's warnings and the details of 5xx errors (which clients never see). */
export interface Logger {
  /** A condition worth knowing about; the plugin carries on. */
  warn(message: string, detail?: unknown): void;
  /** An unexpected failure, e.g. behind a 500 answer. */
  error(message: string, detail?: unknown): void;
}

/** The options after validation, with every default filled in (`auth.config`); frozen. */
export interface ResolvedConfig {
  /** `iss` of every token. */
  readonly issuer: string;
  /** `aud` of every token, required on verification; undefined when not set. */
  readonly audience: string | readonly string[] | undefined;
  /** The key sources that sign and verify tokens, as given. */
  readonly keys: readonly KeySource[];
  /** Keys for refresh tokens only; undefined when `keys` sign them too. */
  readonly refreshKeys: readonly KeySource[] | undefined;
  /** Algorithm of keys that do not name one. */
  readonly algorithm: SigningAlgorithm;
  /** The key of the HMAC that derives `sub` from a user id. */
  readonly subjectSecret: string;
  /** Where the ledger lives, as given. */
  readonly store: StoreOption;
  /** Access-token lifetime in seconds. */
  readonly accessTokenTtl: number;
  /** Refresh-token lifetime in seconds; each refresh starts a new period. */
  readonly refreshTokenTtl: number;
  /** Absolute session lifetime in seconds, however often it is refreshed. */
  readonly sessionMaxAge: number;
  /** Seconds of clock skew tolerated on `exp`, `nbf`, `iat`. */
  readonly clockTolerance: number;
  /** User field to access-token claim. */
  readonly claimsMap: ClaimsMap;
  /** The stable id of a user, from which `sub` is derived. */
  readonly userId: (user: UserRecord) => string | number;
  /** The host's subject function; undefined for the keyed default. */
  readonly subject: ((userId: string) => string) | undefined;
  /** The host's extra access-token claims, if any. */
  readonly extraClaims:
    ((user: UserRecord, ctx: Context | undefined) => Record<string, unknown>) | undefined;
  /** The hook asked for fresh user claims on each refresh, if any. */
  readonly refreshClaims: RefreshClaimsHook | undefined;
  /** `false`: a new login revokes the user's other sessions. */
  readonly multipleTokens: boolean;
  /** Seconds after a rotation in which reuse of the spent refresh token is not theft. */
  readonly refreshReuseGrace: number;
  /** How fresh revocation checks are: `0` reads the store on every request. */
  readonly revocation: { readonly maxStalenessMs: number };
  /** How many verified access tokens each instance remembers; `0`: none. */
  readonly verifyCache: { readonly maxEntries: number };
  readonly checkpoints: { readonly everySeconds: number; readonly settleSeconds: number };
  readonly personalData: {
    readonly keys: readonly KekSource[];
    readonly retentionDays: number | undefined;
    readonly expireInterval: number;
    readonly keyCache: { readonly maxEntries: number };
  };
  /** The scope names granting introspection, audit and admin. */
  readonly scopes: Readonly<ScopeNames>;
  /** Where OpenTelemetry metrics and spans go. */
  readonly telemetry: Readonly<TelemetryOptions>;
  /** The time source, in epoch milliseconds. */
  readonly clock: Clock;
  /** Where warnings and the detail of 5xx answers go. */
  readonly logger: Logger;
}

/** 30 days: however often a client refreshes, its user logs in again at least once a month. */
export const DEFAULT_SESSION_MAX_AGE = 2_592_000;

const positiveSeconds = { type: 'integer', minimum: 1, maximum: 31_536_000 };
const nonEmpty = { type: 'string', minLength: 1 };
const fn = { isFunction: true };
const kekSource = {
  type: 'object',
  additionalProperties: false,
  required: ['kid', 'secret'],
  properties: { kid: nonEmpty, secret: { type: 'string', minLength: 32 } },
};
const keySources = {
  description: 'a key source object or a non-empty array of them',
  anyOf: [{ type: 'object' }, { type: 'array', items: { type: 'object' }, minItems: 1 }],
};

/** `store.mongo`: a typo such as `dbname` would otherwise write to another database. */
const mongoStore = {
  type: 'object',
  additionalProperties: false,
  properties: {
    uri: nonEmpty,
    dbName: nonEmpty,
    db: { type: 'object' },
    collections: {
      type: 'object',
      additionalProperties: false,
      properties: {
        events: nonEmpty,
        state: nonEmpty,
        checkpoints: nonEmpty,
        archives: nonEmpty,
        archived: nonEmpty,
      },
    },
    writeConcern: {
      type: 'object',
      additionalProperties: false,
      properties: {
        w: {
          description: 'a number of servers (0 or more) or "majority"',
          anyOf: [{ type: 'integer', minimum: 0 }, { const: 'majority' }],
        },
        j: { type: 'boolean' },
        journal: { type: 'boolean' },
        wtimeoutMS: { type: 'integer', minimum: 0 },
      },
    },
    serverSelectionTimeoutMS: { type: 'integer', minimum: 1 },
  },
};

/**
 * The options schema; exported for documentation (the README's options table is checked against
 * it).
 */
export const optionsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['issuer', 'keys', 'subjectSecret', 'store'],
  properties: {
    issuer: nonEmpty,
    audience: { anyOf: [nonEmpty, { type: 'array', items: nonEmpty, minItems: 1 }] },
    keys: keySources,
    refreshKeys: keySources,
    algorithm: { enum: SIGNING_ALGORITHMS },
    subjectSecret: { type: 'string', minLength: 32 },
    store: {
      type: 'object',
      minProperties: 1,
      maxProperties: 1,
      properties: {
        mongo: mongoStore,
        memory: { const: true },
        custom: { type: 'object' },
      },
      additionalProperties: false,
    },
    accessTokenTtl: positiveSeconds,
    refreshTokenTtl: positiveSeconds,
    sessionMaxAge: positiveSeconds,
    clockTolerance: { type: 'integer', minimum: 0, maximum: 300 },
    claimsMap: { type: 'object', additionalProperties: nonEmpty },
    userId: fn,
    subject: fn,
    extraClaims: fn,
    refreshClaims: fn,
    multipleTokens: { type: 'boolean' },
    refreshReuseGrace: { type: 'integer', minimum: 0, maximum: 300 },
    revocation: {
      type: 'object',
      additionalProperties: false,
      properties: { maxStalenessMs: { type: 'integer', minimum: 0, maximum: 3_600_000 } },
    },
    verifyCache: {
      type: 'object',
      additionalProperties: false,
      properties: { maxEntries: { type: 'integer', minimum: 0, maximum: 1_000_000 } },
    },
    checkpoints: {
      type: 'object',
      additionalProperties: false,
      properties: {
        everySeconds: { type: 'integer', minimum: 0, maximum: 31_536_000 },
        settleSeconds: { type: 'integer', minimum: 0, maximum: 3600 },
      },
    },
    personalData: {
      type: 'object',
      additionalProperties: false,
      properties: {
        keys: {
          anyOf: [kekSource, { type: 'array', items: kekSource, minItems: 1 }],
        },
        retentionDays: { type: 'integer', minimum: 1, maximum: 36_500 },
        expireInterval: { type: 'integer', minimum: 0, maximum: 31_536_000 },
        keyCache: {
          type: 'object',
          additionalProperties: false,
          properties: { maxEntries: { type: 'integer', minimum: 0, maximum: 1_000_000 } },
        },
      },
    },
    scopes: {
      type: 'object',
      additionalProperties: false,
      properties: { introspection: nonEmpty, audit: nonEmpty, admin: nonEmpty },
    },
    telemetry: {
      type: 'object',
      additionalProperties: false,
      properties: {
        meterProvider: { type: 'object', required: ['getMeter'], properties: { getMeter: fn } },
        tracerProvider: { type: 'object', required: ['getTracer'], properties: { getTracer: fn } },
      },
    },
    clock: fn,
    logger: { type: 'object', required: ['warn', 'error'], properties: { warn: fn, error: fn } },
  },
} as const;

const validateOptions = compileSchema<JwtConnectOptions>(optionsSchema);

const consoleLogger: Logger = {
  warn: (message, detail) => console.warn(`koa-jwtconnect: ${message}`, detail ?? ''),
  error: (message, detail) => console.error(`koa-jwtconnect: ${message}`, detail ?? ''),
};

function defaultUserId(user: UserRecord): string | number {
  const id = user['id'] ?? user['username'];
  if (typeof id !== 'string' && typeof id !== 'number') {
    throw new TypeError('the user has neither "id" nor "username"; set the "userId" option');
  }
  return id;
}

/**
 * Validates options and fills in defaults. Throws one `ConfigError` naming the first wrong option.
 */
export function resolveConfig(options: JwtConnectOptions): ResolvedConfig {
  if (typeof options !== 'object' || options === null)
    throw new ConfigError('options must be an object');
  if (!validateOptions(options)) {
    const [first] = validateOptions.errors ?? [];
    throw new ConfigError(
      describeProblem(optionsSchema, first, {
        label: (path) => (path === '' ? 'options' : `options.${path}`),
      }),
    );
  }
  if ('mongo' in options.store && !options.store.mongo.uri && !options.store.mongo.db) {
    throw new ConfigError('options.store.mongo needs "uri" or "db"');
  }
  const claimsMap = options.claimsMap ?? DEFAULT_CLAIMS_MAP;
  for (const [field, claim] of Object.entries(claimsMap)) {
    if (REGISTERED_CLAIMS.has(claim)) {
      throw new ConfigError(
        `options.claimsMap.${field}: "${claim}" is a claim the plugin sets itself`,
      );
    }
  }
  const accessTokenTtl = options.accessTokenTtl ?? 1800;
  const refreshTokenTtl = options.refreshTokenTtl ?? 3600;
  if (refreshTokenTtl < accessTokenTtl) {
    throw new ConfigError(
      'options.refreshTokenTtl must not be shorter than options.accessTokenTtl',
    );
  }
  const personalData = options.personalData ?? {};
  const keks = personalData.keys === undefined ? [] : [personalData.keys].flat();
  const kids = new Set<string>();
  for (const [index, kek] of keks.entries()) {
    if (kids.has(kek.kid)) {
      throw new ConfigError(`options.personalData.keys.${index}.kid "${kek.kid}" is used twice`);
    }
    kids.add(kek.kid);
  }
  if ((personalData.expireInterval ?? 0) > 0 && personalData.retentionDays === undefined) {
    throw new ConfigError(
      'options.personalData.expireInterval needs options.personalData.retentionDays',
    );
  }
  // Printing it (console.log, JSON.stringify, a logger) shows no secret: see config-redaction.ts.
  return frozenConfig({
    issuer: options.issuer,
    audience: options.audience,
    keys: Object.freeze([options.keys].flat().map(redactedKeySource)),
    refreshKeys:
      options.refreshKeys === undefined
        ? undefined
        : Object.freeze([options.refreshKeys].flat().map(redactedKeySource)),
    algorithm: options.algorithm ?? 'RS256',
    subjectSecret: options.subjectSecret,
    store: redactedStore(options.store),
    accessTokenTtl,
    refreshTokenTtl,
    sessionMaxAge: options.sessionMaxAge ?? DEFAULT_SESSION_MAX_AGE,
    clockTolerance: options.clockTolerance ?? 5,
    claimsMap: Object.freeze({ ...claimsMap }),
    userId: options.userId ?? defaultUserId,
    subject: options.subject,
    extraClaims: options.extraClaims,
    refreshClaims: options.refreshClaims,
    multipleTokens: options.multipleTokens ?? true,
    refreshReuseGrace: options.refreshReuseGrace ?? 2,
    revocation: Object.freeze({ maxStalenessMs: options.revocation?.maxStalenessMs ?? 0 }),
    verifyCache: Object.freeze({
      maxEntries: options.verifyCache?.maxEntries ?? DEFAULT_VERIFY_CACHE_ENTRIES,
    }),
    checkpoints: Object.freeze({
      everySeconds: options.checkpoints?.everySeconds ?? 0,
      settleSeconds: options.checkpoints?.settleSeconds ?? 5,
    }),
    personalData: Object.freeze({
      keys: Object.freeze(keks.map(redactedKek)),
      retentionDays: personalData.retentionDays,
      expireInterval: personalData.expireInterval ?? 0,
      keyCache: Object.freeze({
        maxEntries: personalData.keyCache?.maxEntries ?? DEFAULT_KEY_CACHE_ENTRIES,
      }),
    }),
    scopes: Object.freeze({
      introspection: options.scopes?.introspection ?? 'introspection',
      audit: options.scopes?.audit ?? 'audit',
      admin: options.scopes?.admin ?? 'admin',
    }),
    telemetry: Object.freeze({ ...options.telemetry }),
    clock: options.clock ?? systemClock,
    logger: options.logger ?? consoleLogger,
  });
}
