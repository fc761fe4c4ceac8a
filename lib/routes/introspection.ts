/**
 * `POST /token/introspection` (RFC 7662): is a token active, and what does it carry? The caller
 * authenticates with its own access token. Parameters: `token`, or `jti` as django-jwtconnect-auth
 * allowed, and an optional `token_type_hint`.
 *
 * Policy (in `introspect`): own subject's tokens; any token with the introspection scope; otherwise
 * exactly `{"active": false}`, as for unknown, expired, rotated and revoked tokens (section 2.2).
 */
import type { Context, Middleware, Next } from 'koa';
import { InvalidRequestError } from '../errors.js';
import type { SessionDeps } from '../sessions/deps.js';
import { introspect, type IntrospectionRequest } from '../sessions/introspect.js';
import { parseBody, type BodyOptions } from './shared/body.js';
import { callerOf, confirmCaller, tokenHolderOf, verifyCaller } from './shared/caller.js';
import { noStore } from './shared/headers.js';
import { ID_PARAM, KEYWORD_PARAM, TOKEN_PARAM, paramsOf, validateParams } from './shared/params.js';

export const introspectionSchema = {
  type: 'object',
  properties: {
    token: TOKEN_PARAM,
    jti: ID_PARAM,
    token_type_hint: KEYWORD_PARAM,
  },
} as const;

/**
 * The caller's signature is checked before the body is read; its ledger check waits for the
 * parameters, so that a token asked about by `jti` is found in the same store read as the caller's
 * session (two commands on MongoDB in all, as by `token`).
 */
export function introspectionRoute(deps: SessionDeps, body: BodyOptions): Middleware[] {
  return [
    noStore,
    verifyCaller(deps),
    parseBody(body),
    validateParams(introspectionSchema, 'body'),
    validateTokenOrJti,
    confirmCaller(deps, (ctx) => paramsOf<IntrospectionRequest>(ctx).jti),
    introspectToken(deps),
  ];
}

/** RFC 7662 section 2.1 requires `token`; django-jwtconnect-auth also finds tokens by `jti`. */
async function validateTokenOrJti(ctx: Context, next: Next): Promise<void> {
  const { token, jti } = paramsOf<IntrospectionRequest>(ctx);
  if (token === undefined && jti === undefined) {
    throw new InvalidRequestError('"token" or "jti" is required');
  }
  if (token !== undefined && jti !== undefined) {
    throw new InvalidRequestError('give either "token" or "jti", not both');
  }
  await next();
}

function introspectToken(deps: SessionDeps): Middleware {
  return async function introspectToken(ctx: Context) {
    const request = paramsOf<IntrospectionRequest>(ctx);
    const holder = request.jti === undefined ? undefined : tokenHolderOf(ctx);
    ctx.body = await introspect(deps, callerOf(ctx), request, holder);
  };
}
