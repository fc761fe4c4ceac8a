/**
 * koa-jwtconnect: the public surface. Every export is named, and each is here because a host
 * calls it or a public signature needs it; the ledger, its stores and their helpers stay internal,
 * so storage can change without a breaking release (README, "API reference").
 */

// The plugin, its options and the results of its methods.
export { jwtconnect, type JwtConnect, type LedgerEventName } from './jwtconnect.js';
export {
  optionsSchema,
  type JwtConnectOptions,
  type Logger,
  type PersonalDataOption,
  type RefreshClaimsHook,
  type RefreshClaimsInput,
  type ResolvedConfig,
  type ScopeNames,
  type StoreOption,
} from './config.js';
export type { Clock } from './clock.js';
export type { AuthenticateOptions } from './middleware/authenticate.js';
export type { LoginHookOptions } from './middleware/login-hook.js';
export type { RoutesOptions } from './routes/index.js';
export type { LoginRouteOptions, RouteName } from './routes/options.js';
export type { ThrottleOptions } from './routes/shared/throttle.js';
export type { TokenResponse } from './sessions/deps.js';
export type { IssueOptions } from './sessions/issue.js';
export type { IntrospectionResponse } from './sessions/introspect.js';
export type { RevokeOptions, RevokeResult, RevokeTarget } from './sessions/revoke.js';
export type { CheckedAccessToken } from './sessions/access.js';
export type { EraseOptions, EraseResult, ExpireReport, KekSource } from './personal-data/index.js';
export type { LiveSession, RevokeOthersOptions } from './sessions/list.js';
export type { UserHistoryQuery, UserOrSubject } from './sessions/user.js';
export {
  INSTRUMENTATION_NAME,
  type BearerRejection,
  type TelemetryOptions,
} from './telemetry/index.js';

// The errors, one class per code.
export * from './errors.js';

// Tokens, claims and keys.
export {
  ACCESS_TOKEN_TYP,
  REFRESH_TOKEN_TYP,
  DEFAULT_CLAIMS_MAP,
  type ClaimsMap,
  type TokenClaims,
  type TokenTyp,
  type TokenType,
  type UserRecord,
} from './tokens/claims.js';
export type { VerifiedToken } from './tokens/verify.js';
export { SIGNING_ALGORITHMS } from './tokens/algorithms.js';
export type { KeySource, PublicJwk, PublicJwks, SigningAlgorithm } from './tokens/keys.js';
export type { SourceOptions } from './tokens/key-sources.js';

// What the middleware puts on `ctx.state` (importing this module also augments Koa's types).
export type {
  AuthenticatedState,
  JwtConnectTypes,
  LoggedInState,
  LoginUser,
  StateClaims,
} from './koa-state.js';

// The ledger's events (`auth.on()`, `auth.audit.history()`), the audit answers, and the contract a
// custom store implements (`store: { custom }`) with the projected states its methods exchange.
export {
  EVENT_VERSION,
  type AuditEvent,
  type ErasedEvent,
  type EventHeader,
  type EventMeta,
  type EventType,
  type IssuedEvent,
  type LedgerEvent,
  type PersonalDataStatus,
  type RefreshedEvent,
  type RevocationTarget,
  type RevokedEvent,
  type TokenRef,
  type ChainProblem,
  type HistoryPage,
  type HistoryQuery,
  type LineageLink,
  type Progress,
  type RebuildDifference,
  type RebuildReport,
  type Revocation,
  type SessionAt,
  type TokenAt,
  type TokenStatus,
  type TokenView,
  type VerifyReport,
  type DataKeyQuery,
  type DataKeyRecord,
  type EventPosition,
  type EventQuery,
  type LedgerStore,
  type MongoStoreOptions,
  type PendingMark,
  type SessionState,
  type StateHeader,
  type StateRead,
  type StreamState,
  type SubjectState,
  type TokenHolder,
  type TokenState,
} from './ledger/index.js';

// Signed checkpoints, inclusion proofs and archives (docs/checkpoints.md).
export {
  CHECKPOINT_TYP,
  PROOF_FORMAT,
  ARCHIVE_FORMAT,
  verifyCheckpoint,
  verifyProof,
  verifyArchiveFile,
  type ArchiveOptions,
  type ArchiveReport,
  type ArchiveResult,
  type ArchiveStep,
  type Checkpoint,
  type CheckpointApi,
  type CheckpointCheck,
  type CheckpointClaims,
  type InclusionProof,
  type ProofEvent,
  type ProofReport,
  type ProveOptions,
  type StreamInclusion,
} from './ledger/index.js';
export type {
  ArchivedQuery,
  ArchivedHead,
  ArchivedStream,
  ArchiveRecord,
  CheckpointRecord,
  StreamHead,
} from './ledger/index.js';
