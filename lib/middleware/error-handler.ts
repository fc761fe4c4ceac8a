/**
 * The one place HTTP error bodies are produced: `{ error, error_description }` (RFC 6749 section
 * 5.2, RFC 6750 section 3.1) with the right status and headers. Client errors say what was wrong;
 * server errors are generic in the body (no stack, key material or token echo), logged in full and
 * emitted on the host's app (`app.on('error')`).
 */
import type { Context, Middleware, Next } from 'koa';
import type { Logger } from '../config.js';
import {
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  JwtConnectError,
  MissingTokenError,
  PayloadTooLargeError,
  StoreUnavailableError,
  TooManyRequestsError,
} from '../errors.js';

/** Seconds a client should wait before retrying when the store is unavailable. */
export const STORE_RETRY_AFTER_SECONDS = 5;

export function errorHandler(logger: Logger): Middleware {
  return async function handleErrors(ctx: Context, next: Next) {
    try {
      await next();
    } catch (caught) {
      renderError(ctx, toPluginError(caught), logger, caught);
    }
  };
}

/** Errors from koa-bodyparser and other http-errors become plugin errors; anything else is a 500. */
export function toPluginError(error: unknown): JwtConnectError | undefined {
  if (error instanceof JwtConnectError) return error;
  const status = (error as { status?: unknown } | null)?.status;
  if (status === 413)
    return new PayloadTooLargeError('the request body is too large', { cause: error });
  if (status === 415) return new InvalidRequestError('unsupported content type', { cause: error });
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new InvalidRequestError('the request body could not be parsed', { cause: error });
  }
  return undefined;
}

export function renderError(
  ctx: Context,
  error: JwtConnectError | undefined,
  logger: Logger,
  original: unknown,
): void {
  ctx.set('Cache-Control', 'no-store');
  if (!error || !error.expose) {
    logger.error(error ? error.message : 'unexpected error', original);
    ctx.status = error?.status ?? 500;
    ctx.body = error
      ? { error: error.error, error_description: 'the service is temporarily unavailable' }
      : { error: 'server_error', error_description: 'internal error' };
    if (error instanceof StoreUnavailableError)
      ctx.set('Retry-After', String(STORE_RETRY_AFTER_SECONDS));
    reportToHost(ctx, error ?? original);
    return;
  }
  ctx.status = error.status;
  ctx.body = { error: error.error, error_description: error.error_description };
  if (error instanceof TooManyRequestsError) ctx.set('Retry-After', String(error.retryAfter));
  const challenge = bearerChallenge(error);
  if (challenge) ctx.set('WWW-Authenticate', challenge);
}

/**
 * The error is answered here, so Koa never sees it: emit it on the app as Koa does for errors it
 * does not expose, so the host's `app.on('error')` (its error reporting) sees what the client
 * could not. Koa's own listener refuses a non-Error value, so one is wrapped.
 */
function reportToHost(ctx: Context, error: unknown): void {
  const reported =
    error instanceof Error ? error : new Error('a non-Error value was thrown', { cause: error });
  ctx.app.emit('error', reported, ctx);
}

/** RFC 6750 section 3: the challenge for 401 and 403 answers. */
export function bearerChallenge(error: JwtConnectError): string | undefined {
  if (error instanceof MissingTokenError) return 'Bearer';
  if (error instanceof InvalidTokenError) {
    return `Bearer error="invalid_token", error_description="${quote(error.message)}"`;
  }
  if (error instanceof InsufficientScopeError) {
    return `Bearer error="insufficient_scope", scope="${quote(error.scope)}"`;
  }
  return undefined;
}

function quote(value: string): string {
  return value.replace(/["\\]/g, '');
}
