/**
 * Every error the plugin raises is a value with a stable `code`, an HTTP `status`, an `expose` flag
 * (whether the client may see `error_description`) and the OAuth `error` it maps to
 * (RFC 6749 section 5.2, RFC 6750 section 3.1, RFC 7009 section 2.2.1).
 */

/** Options every plugin error takes, as the standard `Error` does. */
export interface ErrorOptions {
  /** The underlying error, kept for logs; never shown to a client. */
  cause?: unknown;
}

/**
 * The base of every error the plugin raises. Test for a failure by its `code` (or `instanceof` a
 * subclass), never by its message.
 *
 * @example
 * try {
 *   await auth.refresh(token);
 * } catch (error) {
 *   if (error instanceof JwtConnectError && error.code === 'ERR_INVALID_GRANT') ctx.status = 400;
 *   else throw error;
 * }
 */
export abstract class JwtConnectError extends Error {
  /** Stable machine-readable code, e.g. `ERR_TOKEN_EXPIRED`. */
  abstract readonly code: string;
  /** HTTP status the error handler answers with. */
  abstract readonly status: number;
  /** OAuth error code for the response body. */
  abstract readonly error: string;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }

  /** Only client errors are shown to the client; 5xx bodies stay generic. */
  get expose(): boolean {
    return this.status < 500;
  }

  /** The OAuth `error_description` of the response body: the message. */
  get error_description(): string {
    return this.message;
  }
}

/** A wrong option: thrown once, at start-up, naming the option. */
export class ConfigError extends JwtConnectError {
  static readonly code = 'ERR_CONFIG';
  readonly code = ConfigError.code;
  readonly status = 500;
  readonly error = 'server_error';
}

/**
 * A key that cannot be loaded or used (bad file, wrong type for the algorithm, too short a secret).
 */
export class KeyError extends JwtConnectError {
  static readonly code = 'ERR_KEY';
  readonly code = KeyError.code;
  readonly status = 500;
  readonly error = 'server_error';
}

/**
 * The request is malformed: missing or duplicated parameter, wrong type, bad JSON (RFC 6749 5.2).
 */
export class InvalidRequestError extends JwtConnectError {
  static readonly code = 'ERR_INVALID_REQUEST';
  readonly code = InvalidRequestError.code;
  readonly status = 400;
  readonly error = 'invalid_request';
}

/** The body is larger than the configured limit. */
export class PayloadTooLargeError extends JwtConnectError {
  static readonly code = 'ERR_PAYLOAD_TOO_LARGE';
  readonly code = PayloadTooLargeError.code;
  readonly status = 413;
  readonly error = 'invalid_request';
}

/** A refresh token or credentials that cannot be used (RFC 6749 5.2 `invalid_grant`). */
export class InvalidGrantError extends JwtConnectError {
  static readonly code = 'ERR_INVALID_GRANT';
  readonly code = InvalidGrantError.code;
  readonly status = 400;
  readonly error = 'invalid_grant';
}

/**
 * A `grant_type` the refresh route does not serve (RFC 6749 section 5.2 `unsupported_grant_type`).
 */
export class UnsupportedGrantTypeError extends JwtConnectError {
  static readonly code = 'ERR_UNSUPPORTED_GRANT_TYPE';
  readonly code = UnsupportedGrantTypeError.code;
  readonly status = 400;
  readonly error = 'unsupported_grant_type';
}

/**
 * Wrong password at the optional login route: 401 with the same body for known and unknown users.
 */
export class InvalidCredentialsError extends JwtConnectError {
  static readonly code = 'ERR_INVALID_CREDENTIALS';
  readonly code = InvalidCredentialsError.code;
  readonly status = 401;
  readonly error = 'invalid_grant';
}

/** Too many failed logins; `retryAfter` is in seconds. */
export class TooManyRequestsError extends JwtConnectError {
  static readonly code = 'ERR_TOO_MANY_REQUESTS';
  readonly code = TooManyRequestsError.code;
  readonly status = 429;
  readonly error = 'slow_down';
  constructor(
    message: string,
    /** Seconds until the client may try again (the `Retry-After` header). */
    readonly retryAfter: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * A bearer token that must not be accepted (RFC 6750 3.1 `invalid_token`). `reason` says why,
 * for logs and tests; the client only sees the message.
 */
export type InvalidTokenReason =
  | 'malformed'
  | 'signature'
  | 'algorithm'
  | 'header'
  | 'claims'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_type'
  | 'revoked'
  /** The session reached its absolute end (`sessionMaxAge`). */
  | 'session_expired'
  | 'unknown';

/** A bearer token that must not be accepted: 401 `invalid_token`; `reason` says why. */
export class InvalidTokenError extends JwtConnectError {
  static readonly code = 'ERR_INVALID_TOKEN';
  readonly code = InvalidTokenError.code;
  readonly status = 401;
  readonly error = 'invalid_token';
  constructor(
    message: string,
    /** Why the token was refused, for logs and tests; not sent to the client. */
    readonly reason: InvalidTokenReason,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** No credentials at all: 401 with a bare `WWW-Authenticate: Bearer` (RFC 6750 3.1). */
export class MissingTokenError extends JwtConnectError {
  static readonly code = 'ERR_MISSING_TOKEN';
  readonly code = MissingTokenError.code;
  readonly status = 401;
  readonly error = 'invalid_request';
}

/** The token is valid but lacks a required scope (RFC 6750 3.1 `insufficient_scope`). */
export class InsufficientScopeError extends JwtConnectError {
  static readonly code = 'ERR_INSUFFICIENT_SCOPE';
  readonly code = InsufficientScopeError.code;
  readonly status = 403;
  readonly error = 'insufficient_scope';
  constructor(
    message: string,
    /** The scope the token lacks. */
    readonly scope: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * No session the caller may see by that id: unknown, or another subject's (the same answer, so a
 * caller learns nothing about sessions not its own).
 */
export class SessionNotFoundError extends JwtConnectError {
  static readonly code = 'ERR_SESSION_NOT_FOUND';
  readonly code = SessionNotFoundError.code;
  readonly status = 404;
  readonly error = 'not_found';
}

/** Another writer appended to the same stream at the same sequence number first. */
export class ConcurrencyError extends JwtConnectError {
  static readonly code = 'ERR_CONCURRENCY';
  readonly code = ConcurrencyError.code;
  readonly status = 409;
  readonly error = 'invalid_request';
  constructor(
    message: string,
    /** The stream (session id) both writers appended to. */
    readonly stream: string,
    /** The sequence number the other writer took. */
    readonly seq: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The store cannot be reached or refused a write: everything fails closed with 503. */
export class StoreUnavailableError extends JwtConnectError {
  static readonly code = 'ERR_STORE_UNAVAILABLE';
  readonly code = StoreUnavailableError.code;
  readonly status = 503;
  readonly error = 'temporarily_unavailable';
}

/**
 * A read that must create nothing found no ledger: the database has no events collection (a
 * wrong database name would otherwise read as an empty history).
 */
export class LedgerNotFoundError extends JwtConnectError {
  static readonly code = 'ERR_LEDGER_NOT_FOUND';
  readonly code = LedgerNotFoundError.code;
  readonly status = 500;
  readonly error = 'server_error';
  constructor(
    message: string,
    /** The database that was looked in. */
    readonly database: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * A function the host gave as an option (such as `refreshClaims`) threw, or returned something
 * unusable: a bug in the host, answered 500 and logged with the original as `cause`. Nothing was
 * recorded, so the request can be repeated once the host is fixed.
 */
export class HookError extends JwtConnectError {
  static readonly code = 'ERR_HOOK';
  readonly code = HookError.code;
  readonly status = 500;
  readonly error = 'server_error';
}

/** A value that reached the ledger with the wrong shape (e.g. an operator object as an id). */
export class LedgerInputError extends JwtConnectError {
  static readonly code = 'ERR_LEDGER_INPUT';
  readonly code = LedgerInputError.code;
  readonly status = 400;
  readonly error = 'invalid_request';
}

/**
 * Personal data that cannot be read: its data key was destroyed (`erased`, `expired`), is missing,
 * or cannot be opened with the configured key-encryption keys (`unavailable`). Audit reads show
 * the status instead; a refresh of a session whose claims cannot be read is refused.
 */
export class PersonalDataError extends JwtConnectError {
  static readonly code = 'ERR_PERSONAL_DATA';
  readonly code = PersonalDataError.code;
  readonly status = 500;
  readonly error = 'server_error';
  constructor(
    message: string,
    readonly reason: 'erased' | 'expired' | 'unavailable' = 'unavailable',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Every error class the plugin raises, as a union to narrow on `code`. */
export type AnyJwtConnectError =
  | ConfigError
  | KeyError
  | InvalidRequestError
  | PayloadTooLargeError
  | InvalidGrantError
  | UnsupportedGrantTypeError
  | InvalidCredentialsError
  | TooManyRequestsError
  | InvalidTokenError
  | MissingTokenError
  | InsufficientScopeError
  | SessionNotFoundError
  | ConcurrencyError
  | StoreUnavailableError
  | LedgerNotFoundError
  | HookError
  | LedgerInputError
  | PersonalDataError;
