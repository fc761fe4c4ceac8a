/**
 * The ledger's one entry point: every module outside `lib/ledger/` imports from here (enforced by
 * eslint), so what the ledger offers the rest of the plugin is listed in one place.
 */
export type {
  AuditEvent,
  Draft,
  ErasedEvent,
  PersonalDataStatus,
  EventDraft,
  EventHeader,
  EventMeta,
  EventType,
  Header,
  IssuedEvent,
  LedgerEvent,
  RefreshedEvent,
  RevocationTarget,
  RevokedEvent,
  TokenRef,
} from './events.js';
export { EVENT_TYPES, EVENT_VERSION, isSubjectStream, subjectStream } from './events.js';
export {
  canonicalForm,
  canonicalJson,
  hashEvent,
  verifyStream,
  type ChainProblem,
} from './hash-chain.js';
export {
  evolve,
  fold,
  foldComplete,
  TOKEN_RETENTION_MS,
  isSessionRevoked,
  coveredByCutOff,
  tokenStatus,
  ProjectionError,
  type Revocation,
  type SessionState,
  type StateHeader,
  type StreamState,
  type SubjectState,
  type TokenState,
  type TokenStatus,
  type TokenView,
} from './projection.js';
export type {
  ArchivedQuery,
  ArchivedHead,
  ArchivedStream,
  ArchiveRecord,
  CheckpointRecord,
  DataKeyQuery,
  DataKeyRecord,
  EventPosition,
  EventQuery,
  LedgerStore,
  PendingMark,
  StateRead,
  StreamHead,
  TokenHolder,
} from './store.js';
export { maskPasswords } from './connection-string.js';
export { MemoryStore } from './memory-store.js';
export { frozenCopy, ReadonlyDate } from './frozen.js';
export {
  DEFAULT_COLLECTIONS,
  DEFAULT_DATABASE,
  MongoStore,
  type MongoStoreOptions,
} from './mongo-store.js';
export {
  Ledger,
  type Appended,
  type AppendListener,
  type Decide,
  type ExecuteTarget,
  type LedgerOptions,
  type PersonalDataCodec,
} from './ledger.js';
export {
  history,
  lineage,
  sessionLineage,
  sessionAt,
  tokenAt,
  decodeCursor,
  encodeCursor,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  type HistoryPage,
  type HistoryQuery,
  type LineageLink,
  type SessionAt,
  type TokenAt,
} from './audit.js';
export {
  rebuildProjection,
  verifyLedger,
  type Progress,
  type RebuildDifference,
  type RebuildReport,
  type VerifyReport,
} from './integrity.js';
export { assertId, assertDate, MAX_ID_LENGTH } from './validate.js';
export {
  ARCHIVE_FORMAT,
  CHECKPOINT_TYP,
  MAX_CHECKPOINTS_PAGE,
  PROOF_FORMAT,
  archive,
  checkCheckpoint,
  checkpointApi,
  decodeCheckpoint,
  makeCheckpoint,
  prove,
  startCheckpointTimer,
  verifyArchiveFile,
  verifyCheckpoint,
  verifyProof,
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
  type Reveal,
  type StreamInclusion,
} from './checkpoints/index.js';
