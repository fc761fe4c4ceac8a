/**
 * `POST /token/refresh`: a refresh token for a new pair (RFC 6749 section 6), with rotation
 * (RFC 9700 section 4.14.2). The old refresh token is spent; presenting it again after the reuse
 * grace revokes the whole session. Of concurrent refreshes of one token exactly one succeeds: the
 * ledger's unique (stream, seq) decides, across every instance.
 *
 * Parameters: `token` (django-jwtconnect-auth's name) or `refresh_token`, with or without
 * `grant_type=refresh_token`, as JSON or a form.
 */
import type { Context, Middleware, Next } from 'koa';
import { InvalidRequestError, UnsupportedGrantTypeError } from '../errors.js';
import type { SessionDeps } from '../sessions/deps.js';
import { refreshSession } from '../sessions/refresh.js';
import { traced } from '../telemetry/telemetry.js';
import { parseBody, type BodyOptions } from './shared/body.js';
import { noStore } from './shared/headers.js';
import { KEYWORD_PARAM, TOKEN_PARAM, paramsOf, validateParams } from './shared/params.js';
import { required, routeState } from './shared/request-state.js';

export const refreshSchema = {
  type: 'object',
  properties: {
    grant_type: KEYWORD_PARAM,
    refresh_token: TOKEN_PARAM,
    token: TOKEN_PARAM,
  },
} as const;

interface RefreshParams {
  grant_type?: string;
  refresh_token?: string;
  token?: string;
}

export function refreshRoute(deps: SessionDeps, body: BodyOptions): Middleware[] {
  return [
    noStore,
    parseBody(body),
    validateParams(refreshSchema, 'body'),
    checkGrantType,
    validateTokenPresence,
    rotateRefreshToken(deps),
  ];
}

/** This route serves one grant (RFC 6749 section 6); any other is `unsupported_grant_type`. */
async function checkGrantType(ctx: Context, next: Next): Promise<void> {
  const { grant_type: grantType } = paramsOf<RefreshParams>(ctx);
  if (grantType !== undefined && grantType !== 'refresh_token') {
    throw new UnsupportedGrantTypeError(`grant_type "${grantType}" is not supported here`);
  }
  await next();
}

async function validateTokenPresence(ctx: Context, next: Next): Promise<void> {
  const params = paramsOf<RefreshParams>(ctx);
  if (params.token !== undefined && params.refresh_token !== undefined) {
    throw new InvalidRequestError('give either "token" or "refresh_token", not both');
  }
  const token = params.token ?? params.refresh_token;
  if (token === undefined) throw new InvalidRequestError('"token" (the refresh token) is missing');
  routeState(ctx).refreshToken = token;
  await next();
}

function rotateRefreshToken(deps: SessionDeps): Middleware {
  // refreshSession throws InvalidGrantError (400) for any token problem, reuse included, and
  // StoreUnavailableError (503) when nothing could be recorded; either way nothing is issued.
  return async function rotateRefreshToken(ctx: Context) {
    const token = required(ctx, 'refreshToken', 'validateTokenPresence');
    ctx.body = await traced(deps.telemetry, 'refresh', () => refreshSession(deps, token, ctx));
  };
}
