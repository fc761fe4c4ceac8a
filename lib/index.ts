/**
 * koa-jwtconnect: the public surface. Every export is named.
 */
export { jwtconnect, type JwtConnect, type LedgerEventName } from './jwtconnect.js';
export {
  optionsSchema,
  type JwtConnectOptions,
  type Logger,
  type RefreshClaimsHook,
  type RefreshClaimsInput,
  type ScopeNames,
  type StoreOption,
} from './config.js';
export type { AuthenticateOptions } from './middleware/authenticate.js';
export type { LoginHookOptions } from './middleware/login-hook.js';
export type { RoutesOptions } from './routes/index.js';
export type { TokenResponse } from './sessions/deps.js';
export type { IssueOptions } from './sessions/issue.js';
export type { IntrospectionResponse } from './sessions/introspect.js';
export type { RevokeOptions, RevokeResult, RevokeTarget } from './sessions/revoke.js';
export type { CheckedAccessToken } from './sessions/access.js';
export type { LiveSession, RevokeOthersOptions } from './sessions/list.js';
export type { UserHistoryQuery, UserOrSubject } from './sessions/user.js';
export * from './errors.js';
export {
  INSTRUMENTATION_NAME,
  type BearerRejection,
  type TelemetryOptions,
} from './telemetry/index.js';
export type { Clock } from './clock.js';
export {
  Ledger,
  MemoryStore,
  MongoStore,
  TOKEN_RETENTION_MS,
  type EventMeta,
  type EventType,
  type HistoryPage,
  type HistoryQuery,
  type IssuedEvent,
  type LedgerEvent,
  type LedgerStore,
  type MongoStoreOptions,
  type RefreshedEvent,
  type RevokedEvent,
  type RebuildReport,
  type VerifyReport,
  type SessionState,
  type SubjectState,
  type TokenState,
} from './ledger/index.js';
export {
  ACCESS_TOKEN_TYP,
  REFRESH_TOKEN_TYP,
  DEFAULT_CLAIMS_MAP,
  type TokenClaims,
  type UserRecord,
  type ClaimsMap,
} from './tokens/claims.js';
export type { KeySource, SigningAlgorithm, PublicJwks, PublicJwk } from './tokens/keys.js';

// What the middleware puts on `ctx.state` (importing this module also augments Koa's types).
export type {
  AuthenticatedState,
  JwtConnectTypes,
  LoggedInState,
  LoginUser,
  StateClaims,
} from './koa-state.js';

// Types that public signatures use, so a host can name them.
export type { ResolvedConfig } from './config.js';
export type { LoginRouteOptions, RouteName } from './routes/options.js';
export type { ThrottleOptions } from './routes/shared/throttle.js';
export type { VerifiedToken } from './tokens/verify.js';
export type { TokenTyp, TokenType } from './tokens/claims.js';
export { SIGNING_ALGORITHMS } from './tokens/algorithms.js';
export {
  EVENT_VERSION,
  type Appended,
  type AppendListener,
  type ChainProblem,
  type Decide,
  type EventDraft,
  type EventPosition,
  type EventQuery,
  type LedgerOptions,
  type LineageLink,
  type Progress,
  type RebuildDifference,
  type Revocation,
  type RevocationTarget,
  type SessionAt,
  type StreamState,
  type TokenAt,
  type TokenRef,
  type TokenStatus,
  type TokenView,
} from './ledger/index.js';
export type { SourceOptions } from './tokens/key-sources.js';
export type {
  Draft,
  EventHeader,
  ExecuteTarget,
  Header,
  PendingMark,
  StateHeader,
} from './ledger/index.js';
