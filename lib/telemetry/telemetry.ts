/**
 * Metrics and spans through the OpenTelemetry API: a no-op until the host installs an SDK (or
 * passes its providers in the `telemetry` option). One meter and one tracer named
 * `koa-jwtconnect`; every instrument is created once, here.
 *
 * Token counters move on the ledger's append, so they count what was recorded and nothing that
 * failed: a refused refresh or an issue the store could not record counts nowhere (its span
 * records the error).
 */
import { createRequire } from 'node:module';
import {
  metrics,
  SpanStatusCode,
  trace,
  type Attributes,
  type Counter,
  type Histogram,
  type MeterProvider,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import {
  InvalidCredentialsError,
  InvalidTokenError,
  JwtConnectError,
  MissingTokenError,
  TooManyRequestsError,
} from '../errors.js';
import type { LedgerEvent } from '../ledger/index.js';

/** The meter's and the tracer's name. */
export const INSTRUMENTATION_NAME = 'koa-jwtconnect';

// The same relative path from lib/telemetry/ (tsx) and dist/telemetry/ (built).
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** The `telemetry` option: where the plugin's OpenTelemetry metrics and spans go. */
export interface TelemetryOptions {
  /** Default: the global one (`metrics.getMeterProvider()`), as the host's SDK sets it. */
  meterProvider?: MeterProvider;
  /** Default: the global one (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
}

/**
 * Why a Bearer request was refused with 401. A valid token lacking a scope (403) is an
 * authorization answer, not a rejected token, and is not counted.
 */
export type BearerRejection = 'missing' | 'invalid' | 'expired' | 'revoked' | 'wrong_type';

export type SpanName = 'issue' | 'refresh' | 'revoke';

/** Store latency buckets in seconds: a MongoDB command takes from under a millisecond to seconds. */
const STORE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Free-text values such as a revocation reason or a login source become attribute values only
 * when they look like a keyword; anything else is `other`, so a host passing ids or sentences
 * cannot grow the number of time series without bound.
 */
export function keyword(value: string | undefined): string {
  if (value === undefined) return 'none';
  return /^[a-z][a-z0-9_.-]{0,39}$/.test(value) ? value : 'other';
}

export class Telemetry {
  readonly tracer: Tracer;
  readonly #issued: Counter;
  readonly #refreshed: Counter;
  readonly #revocations: Counter;
  readonly #reuse: Counter;
  readonly #rejections: Counter;
  readonly #loginFailures: Counter;
  readonly storeDuration: Histogram;

  constructor(options: TelemetryOptions = {}) {
    const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(
      INSTRUMENTATION_NAME,
      version,
    );
    this.tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(
      INSTRUMENTATION_NAME,
      version,
    );
    this.#issued = meter.createCounter('jwtconnect.tokens.issued', {
      description: 'Token pairs issued after a login (sessions started)',
      unit: '{session}',
    });
    this.#refreshed = meter.createCounter('jwtconnect.tokens.refreshed', {
      description: 'Refresh tokens rotated into a new token pair',
      unit: '{refresh}',
    });
    this.#revocations = meter.createCounter('jwtconnect.revocations', {
      description: 'Revocations recorded, by reason and by what they revoked',
      unit: '{revocation}',
    });
    this.#reuse = meter.createCounter('jwtconnect.refresh_token.reuse_detected', {
      description: 'Spent refresh tokens presented again, each revoking its session',
      unit: '{event}',
    });
    this.#rejections = meter.createCounter('jwtconnect.bearer.rejections', {
      description: 'Bearer requests refused, by reason',
      unit: '{request}',
    });
    this.#loginFailures = meter.createCounter('jwtconnect.login.failures', {
      description: 'Failed password logins at the login route, by reason',
      unit: '{attempt}',
    });
    this.storeDuration = meter.createHistogram('jwtconnect.store.duration', {
      description: 'Duration of store operations, by operation',
      unit: 's',
      advice: { explicitBucketBoundaries: STORE_BUCKETS },
    });
  }

  /** An event the ledger has appended (and projected). */
  recorded(event: LedgerEvent): void {
    if (event.type === 'issued') {
      this.#issued.add(1, { 'jwtconnect.login.source': keyword(event.meta.source) });
    } else if (event.type === 'refreshed') {
      this.#refreshed.add(1);
    } else if (event.type === 'revoked') {
      const reason = keyword(event.meta.reason);
      this.#revocations.add(1, {
        'jwtconnect.revocation.reason': reason,
        'jwtconnect.revocation.target': event.target.kind,
      });
      if (event.meta.reason === 'refresh_token_reuse') this.#reuse.add(1);
    }
  }

  /** A Bearer check that failed with `error`; a store failure (503) or a 403 counts nowhere. */
  bearerRejected(error: unknown): void {
    const reason = rejectionOf(error);
    if (reason) this.#rejections.add(1, { 'jwtconnect.rejection.reason': reason });
  }

  /** A login route attempt that failed with `error`: wrong credentials or throttled. */
  loginFailed(error: unknown): void {
    const reason =
      error instanceof InvalidCredentialsError
        ? 'invalid_credentials'
        : error instanceof TooManyRequestsError
          ? 'throttled'
          : undefined;
    if (reason) this.#loginFailures.add(1, { 'jwtconnect.login.failure.reason': reason });
  }

  /** Runs `operation` in a span `jwtconnect.<name>`; a failure sets the span's status and code. */
  span<T>(name: SpanName, operation: () => Promise<T>, attributes: Attributes = {}): Promise<T> {
    return this.tracer.startActiveSpan(`jwtconnect.${name}`, { attributes }, async (span) => {
      try {
        return await operation();
      } catch (error) {
        // The code only: messages may quote what the caller sent.
        const code = error instanceof JwtConnectError ? error.code : 'ERR_UNEXPECTED';
        span.setAttribute('error.type', code);
        span.setStatus({ code: SpanStatusCode.ERROR, message: code });
        throw error;
      } finally {
        span.end();
      }
    });
  }
}

function rejectionOf(error: unknown): BearerRejection | undefined {
  if (error instanceof MissingTokenError) return 'missing';
  if (!(error instanceof InvalidTokenError)) return undefined;
  if (error.reason === 'expired' || error.reason === 'revoked' || error.reason === 'wrong_type') {
    return error.reason;
  }
  return 'invalid';
}

/** `operation` in a span when telemetry is wired (`SessionDeps.telemetry`), else as it is. */
export function traced<T>(
  telemetry: Telemetry | undefined,
  name: SpanName,
  operation: () => Promise<T>,
): Promise<T> {
  return telemetry ? telemetry.span(name, operation) : operation();
}
