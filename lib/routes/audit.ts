/**
 * `GET /token/audit`: the ledger's history for auditors (the caller's token needs the audit scope).
 *
 * Filters `sub`, `sid`, `jti`, `type`, `from` (inclusive), `to` (exclusive), `limit` (1..500,
 * default 50) and `cursor` answer `{ events, next_cursor }`, oldest first; pass `next_cursor` back
 * as `cursor` for the next page. Times are ISO 8601 date-times or epoch seconds.
 *
 * With `at` and one of `jti` or `sid` it answers point in time instead: the state of that token or
 * session at that moment, folded from the log. Events name tokens by `jti`; they never hold tokens.
 */
import type { Context, Middleware, Next } from 'koa';
import { InvalidRequestError } from '../errors.js';
import {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  history,
  sessionAt,
  tokenAt,
  type EventType,
  type HistoryQuery,
  type SessionAt,
  type TokenAt,
} from '../ledger/index.js';
import type { SessionDeps } from '../sessions/deps.js';
import { authenticateCaller, requireScope } from './shared/caller.js';
import { noStore } from './shared/headers.js';
import { ID_PARAM, paramsOf, validateParams } from './shared/params.js';

const EPOCH_SECONDS = '[0-9]{1,11}';
const DATE_TIME =
  '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2})';
const TIME_PARAM = {
  type: 'string',
  pattern: `^(${EPOCH_SECONDS}|${DATE_TIME})$`,
  description: 'an ISO 8601 date-time with a time zone, or epoch seconds',
} as const;

export const auditSchema = {
  type: 'object',
  properties: {
    sub: ID_PARAM,
    sid: ID_PARAM,
    jti: ID_PARAM,
    type: { type: 'string', enum: ['issued', 'refreshed', 'revoked', 'erased'] },
    from: TIME_PARAM,
    to: TIME_PARAM,
    at: TIME_PARAM,
    limit: {
      type: 'string',
      pattern: '^[0-9]{1,4}$',
      description: `an integer from 1 to ${MAX_PAGE_SIZE}`,
    },
    cursor: { type: 'string', minLength: 1, maxLength: 2048 },
  },
} as const;

type AuditParams = Partial<Record<keyof (typeof auditSchema)['properties'], string>>;

export function auditRoute(deps: SessionDeps): Middleware[] {
  return [
    noStore,
    authenticateCaller(deps),
    requireScope(deps.config.scopes.audit),
    validateParams(auditSchema, 'query'),
    answerPointInTime(deps),
    readHistory(deps),
  ];
}

/** `at` with `jti` or `sid`: was this token or session active at that moment, and why (not)? */
function answerPointInTime(deps: SessionDeps): Middleware {
  return async function answerPointInTime(ctx: Context, next: Next) {
    const { at, jti, sid } = paramsOf<AuditParams>(ctx);
    if (at === undefined) return next();
    if ((jti === undefined) === (sid === undefined)) {
      throw new InvalidRequestError('"at" needs exactly one of "jti" or "sid"');
    }
    const moment = parseTime(at, 'at');
    ctx.body =
      jti !== undefined
        ? tokenAtBody(await tokenAt(deps.ledger, jti, moment))
        : sessionAtBody(await sessionAt(deps.ledger, sid as string, moment));
  };
}

function readHistory(deps: SessionDeps): Middleware {
  return async function readHistory(ctx: Context) {
    const page = await history(deps.ledger, historyQuery(paramsOf<AuditParams>(ctx)));
    // Dates serialise as ISO 8601 strings (Date.prototype.toJSON).
    ctx.body = { events: page.events, next_cursor: page.nextCursor };
  };
}

function historyQuery(params: AuditParams): HistoryQuery {
  const query: HistoryQuery = { limit: parseLimit(params.limit) };
  if (params.sub !== undefined) query.sub = params.sub;
  if (params.sid !== undefined) query.sid = params.sid;
  if (params.jti !== undefined) query.jti = params.jti;
  if (params.type !== undefined) query.type = params.type as EventType;
  if (params.from !== undefined) query.from = parseTime(params.from, 'from');
  if (params.to !== undefined) query.to = parseTime(params.to, 'to');
  if (params.cursor !== undefined) query.cursor = params.cursor;
  return query;
}

function parseLimit(value: string | undefined): number {
  if (value === undefined) return DEFAULT_PAGE_SIZE;
  const limit = Number(value);
  if (limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new InvalidRequestError(`"limit" must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  return limit;
}

/** An ISO 8601 date-time (the schema requires a time zone) or whole epoch seconds. */
function parseTime(value: string, name: string): Date {
  const time = /^[0-9]+$/.test(value) ? Number(value) * 1000 : Date.parse(value);
  const date = new Date(time);
  if (Number.isNaN(date.getTime()) || !isCalendarDate(value)) {
    throw new InvalidRequestError(`"${name}" is not a valid time`);
  }
  return date;
}

/** Date.parse rolls 2026-02-30 over to March 2; a day the month does not have is refused. */
function isCalendarDate(value: string): boolean {
  const match = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T/.exec(value);
  if (!match) return true;
  const [year, month, day] = match.slice(1).map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day && month >= 1 && month <= 12;
}

function tokenAtBody(result: TokenAt) {
  const { view } = result;
  return {
    at: result.at.toISOString(),
    jti: result.jti,
    status: result.status,
    ...(view && {
      sid: view.session.stream,
      sub: view.session.sub,
      type: view.token.type,
      token: view.token,
      ...(view.revocation && { revocation: view.revocation }),
    }),
  };
}

function sessionAtBody(result: SessionAt) {
  const { session } = result;
  return {
    at: result.at.toISOString(),
    sid: result.sid,
    status: result.status,
    ...(session && { sub: session.sub, session }),
  };
}
